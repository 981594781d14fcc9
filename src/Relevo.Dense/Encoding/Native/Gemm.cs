using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Relevo.Dense;

/// <summary>The matrix product the C# encoder spends its time in: Y = X · Wᵀ (+ b), X <c>[n × inputs]</c>, W
/// <c>[outputs × inputs]</c>, both row-major. A register-tiled kernel: 4 rows of X against 4 rows of W at a time in 16
/// vector accumulators (each loaded vector used four times; 512-bit vectors where AVX-512 is there, else 256-bit), W taken in panels of 64 rows that stay in cache while
/// every row block of X passes them; an inner width that is not a multiple of 8 ends in scalar products, outputs past the
/// last multiple of 4 are one <see cref="TensorPrimitives.Dot(ReadOnlySpan{float}, ReadOnlySpan{float})"/> each, as is
/// every output where 256-bit vectors are not accelerated (the same sums in a different order).</summary>
internal static class Gemm
{
    private const int Panel = 64;

    public static void Multiply(ReadOnlySpan<float> x, int n, int inputs, ReadOnlySpan<float> w, int outputs, ReadOnlySpan<float> bias, Span<float> y)
    {
        if (!bias.IsEmpty && bias.Length < outputs) throw new ArgumentException("the bias is shorter than the outputs");
        Multiply(x, inputs, n, inputs, w, inputs, outputs, y, outputs);
        if (!bias.IsEmpty)
            for (int i = 0; i < n; i++) TensorPrimitives.Add(y.Slice(i * outputs, outputs), bias[..outputs], y.Slice(i * outputs, outputs));
    }

    /// <summary>Y = X · Wᵀ over strided rows: row i of X starts at <c>i · xStride</c>, row o of W at <c>o · wStride</c>,
    /// and Y[i, o] is written at <c>i · yStride + o</c> (a head's slice of a wider matrix, as attention reads them).</summary>
    public static void Multiply(ReadOnlySpan<float> x, int xStride, int n, int inputs, ReadOnlySpan<float> w, int wStride, int outputs,
        Span<float> y, int yStride)
    {
        if (n == 0 || outputs == 0) return;
        if (x.Length < (n - 1) * xStride + inputs || w.Length < (outputs - 1) * wStride + inputs || y.Length < (n - 1) * yStride + outputs)
            throw new ArgumentException("a matrix is smaller than its shape");
        int tiled = Vector256.IsHardwareAccelerated ? outputs - outputs % 4 : 0;
        for (int i = 0; i < n; i++)
            for (int o = tiled; o < outputs; o++)
                y[i * yStride + o] = TensorPrimitives.Dot(x.Slice(i * xStride, inputs), w.Slice(o * wStride, inputs));
        if (tiled == 0) return;
        outputs = tiled;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float wr = ref MemoryMarshal.GetReference(w);
        ref float yr = ref MemoryMarshal.GetReference(y);
        var shape = new Shape(inputs, xStride, wStride, yStride);
        bool wide = Vector512.IsHardwareAccelerated && inputs >= 16;
        int blocked = n - n % 4;
        for (int p0 = 0; p0 < outputs; p0 += Panel)
        {
            int p1 = Math.Min(outputs, p0 + Panel);
            for (int i = 0; i < blocked; i += 4)
                for (int o = p0; o < p1; o += 4)
                    if (wide) Block4x4Wide(ref xr, ref wr, ref yr, i, o, shape);
                    else Block4x4(ref xr, ref wr, ref yr, i, o, shape);
            for (int i = blocked; i < n; i++)
                for (int o = p0; o < p1; o += 4) Block1x4(ref xr, ref wr, ref yr, i, o, shape);
        }
    }

    /// <summary>The inner width and the three row strides.</summary>
    private readonly record struct Shape(int Inputs, int X, int W, int Y);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block4x4(ref float x, ref float w, ref float y, int i, int o, Shape s)
    {
        nuint x0 = (nuint)(i * s.X), x1 = x0 + (nuint)s.X, x2 = x1 + (nuint)s.X, x3 = x2 + (nuint)s.X;
        nuint w0 = (nuint)(o * s.W), w1 = w0 + (nuint)s.W, w2 = w1 + (nuint)s.W, w3 = w2 + (nuint)s.W;
        Vector256<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector256<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector256<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector256<float> a30 = default, a31 = default, a32 = default, a33 = default;
        nuint vectorEnd = (nuint)(s.Inputs - s.Inputs % 8);
        for (nuint k = 0; k < vectorEnd; k += 8)
        {
            var v0 = Vector256.LoadUnsafe(ref w, w0 + k);
            var v1 = Vector256.LoadUnsafe(ref w, w1 + k);
            var v2 = Vector256.LoadUnsafe(ref w, w2 + k);
            var v3 = Vector256.LoadUnsafe(ref w, w3 + k);
            var r = Vector256.LoadUnsafe(ref x, x0 + k);
            a00 = Vector256.FusedMultiplyAdd(r, v0, a00); a01 = Vector256.FusedMultiplyAdd(r, v1, a01);
            a02 = Vector256.FusedMultiplyAdd(r, v2, a02); a03 = Vector256.FusedMultiplyAdd(r, v3, a03);
            r = Vector256.LoadUnsafe(ref x, x1 + k);
            a10 = Vector256.FusedMultiplyAdd(r, v0, a10); a11 = Vector256.FusedMultiplyAdd(r, v1, a11);
            a12 = Vector256.FusedMultiplyAdd(r, v2, a12); a13 = Vector256.FusedMultiplyAdd(r, v3, a13);
            r = Vector256.LoadUnsafe(ref x, x2 + k);
            a20 = Vector256.FusedMultiplyAdd(r, v0, a20); a21 = Vector256.FusedMultiplyAdd(r, v1, a21);
            a22 = Vector256.FusedMultiplyAdd(r, v2, a22); a23 = Vector256.FusedMultiplyAdd(r, v3, a23);
            r = Vector256.LoadUnsafe(ref x, x3 + k);
            a30 = Vector256.FusedMultiplyAdd(r, v0, a30); a31 = Vector256.FusedMultiplyAdd(r, v1, a31);
            a32 = Vector256.FusedMultiplyAdd(r, v2, a32); a33 = Vector256.FusedMultiplyAdd(r, v3, a33);
        }
        Store(ref x, ref w, ref y, x0, w0, (nuint)(i * s.Y + o), s, vectorEnd, a00, a01, a02, a03);
        Store(ref x, ref w, ref y, x1, w0, (nuint)((i + 1) * s.Y + o), s, vectorEnd, a10, a11, a12, a13);
        Store(ref x, ref w, ref y, x2, w0, (nuint)((i + 2) * s.Y + o), s, vectorEnd, a20, a21, a22, a23);
        Store(ref x, ref w, ref y, x3, w0, (nuint)((i + 3) * s.Y + o), s, vectorEnd, a30, a31, a32, a33);
    }

    /// <summary><see cref="Block4x4"/> with 512-bit vectors (AVX-512 hosts).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block4x4Wide(ref float x, ref float w, ref float y, int i, int o, Shape s)
    {
        nuint x0 = (nuint)(i * s.X), x1 = x0 + (nuint)s.X, x2 = x1 + (nuint)s.X, x3 = x2 + (nuint)s.X;
        nuint w0 = (nuint)(o * s.W), w1 = w0 + (nuint)s.W, w2 = w1 + (nuint)s.W, w3 = w2 + (nuint)s.W;
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
        nuint vectorEnd = (nuint)(s.Inputs - s.Inputs % 16);
        for (nuint k = 0; k < vectorEnd; k += 16)
        {
            var v0 = Vector512.LoadUnsafe(ref w, w0 + k);
            var v1 = Vector512.LoadUnsafe(ref w, w1 + k);
            var v2 = Vector512.LoadUnsafe(ref w, w2 + k);
            var v3 = Vector512.LoadUnsafe(ref w, w3 + k);
            var r = Vector512.LoadUnsafe(ref x, x0 + k);
            a00 = Vector512.FusedMultiplyAdd(r, v0, a00); a01 = Vector512.FusedMultiplyAdd(r, v1, a01);
            a02 = Vector512.FusedMultiplyAdd(r, v2, a02); a03 = Vector512.FusedMultiplyAdd(r, v3, a03);
            r = Vector512.LoadUnsafe(ref x, x1 + k);
            a10 = Vector512.FusedMultiplyAdd(r, v0, a10); a11 = Vector512.FusedMultiplyAdd(r, v1, a11);
            a12 = Vector512.FusedMultiplyAdd(r, v2, a12); a13 = Vector512.FusedMultiplyAdd(r, v3, a13);
            r = Vector512.LoadUnsafe(ref x, x2 + k);
            a20 = Vector512.FusedMultiplyAdd(r, v0, a20); a21 = Vector512.FusedMultiplyAdd(r, v1, a21);
            a22 = Vector512.FusedMultiplyAdd(r, v2, a22); a23 = Vector512.FusedMultiplyAdd(r, v3, a23);
            r = Vector512.LoadUnsafe(ref x, x3 + k);
            a30 = Vector512.FusedMultiplyAdd(r, v0, a30); a31 = Vector512.FusedMultiplyAdd(r, v1, a31);
            a32 = Vector512.FusedMultiplyAdd(r, v2, a32); a33 = Vector512.FusedMultiplyAdd(r, v3, a33);
        }
        Store(ref x, ref w, ref y, x0, w0, (nuint)(i * s.Y + o), s, vectorEnd, Vector512.Sum(a00), Vector512.Sum(a01), Vector512.Sum(a02), Vector512.Sum(a03));
        Store(ref x, ref w, ref y, x1, w0, (nuint)((i + 1) * s.Y + o), s, vectorEnd, Vector512.Sum(a10), Vector512.Sum(a11), Vector512.Sum(a12), Vector512.Sum(a13));
        Store(ref x, ref w, ref y, x2, w0, (nuint)((i + 2) * s.Y + o), s, vectorEnd, Vector512.Sum(a20), Vector512.Sum(a21), Vector512.Sum(a22), Vector512.Sum(a23));
        Store(ref x, ref w, ref y, x3, w0, (nuint)((i + 3) * s.Y + o), s, vectorEnd, Vector512.Sum(a30), Vector512.Sum(a31), Vector512.Sum(a32), Vector512.Sum(a33));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block1x4(ref float x, ref float w, ref float y, int i, int o, Shape s)
    {
        nuint x0 = (nuint)(i * s.X);
        nuint w0 = (nuint)(o * s.W), w1 = w0 + (nuint)s.W, w2 = w1 + (nuint)s.W, w3 = w2 + (nuint)s.W;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        nuint vectorEnd = (nuint)(s.Inputs - s.Inputs % 8);
        for (nuint k = 0; k < vectorEnd; k += 8)
        {
            var r = Vector256.LoadUnsafe(ref x, x0 + k);
            a0 = Vector256.FusedMultiplyAdd(r, Vector256.LoadUnsafe(ref w, w0 + k), a0);
            a1 = Vector256.FusedMultiplyAdd(r, Vector256.LoadUnsafe(ref w, w1 + k), a1);
            a2 = Vector256.FusedMultiplyAdd(r, Vector256.LoadUnsafe(ref w, w2 + k), a2);
            a3 = Vector256.FusedMultiplyAdd(r, Vector256.LoadUnsafe(ref w, w3 + k), a3);
        }
        Store(ref x, ref w, ref y, x0, w0, (nuint)(i * s.Y + o), s, vectorEnd, a0, a1, a2, a3);
    }

    /// <summary>Y[i, o..o+3]: the accumulators' sums plus the products past the last whole vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(ref float x, ref float w, ref float y, nuint xRow, nuint w0, nuint at, Shape s, nuint vectorEnd,
        Vector256<float> a0, Vector256<float> a1, Vector256<float> a2, Vector256<float> a3) =>
        Store(ref x, ref w, ref y, xRow, w0, at, s, vectorEnd, Vector256.Sum(a0), Vector256.Sum(a1), Vector256.Sum(a2), Vector256.Sum(a3));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(ref float x, ref float w, ref float y, nuint xRow, nuint w0, nuint at, Shape s, nuint vectorEnd,
        float s0, float s1, float s2, float s3)
    {
        nuint stride = (nuint)s.W;
        for (nuint k = vectorEnd; k < (nuint)s.Inputs; k++)
        {
            float v = Unsafe.Add(ref x, xRow + k);
            s0 += v * Unsafe.Add(ref w, w0 + k);
            s1 += v * Unsafe.Add(ref w, w0 + stride + k);
            s2 += v * Unsafe.Add(ref w, w0 + 2 * stride + k);
            s3 += v * Unsafe.Add(ref w, w0 + 3 * stride + k);
        }
        Unsafe.Add(ref y, at) = s0;
        Unsafe.Add(ref y, at + 1) = s1;
        Unsafe.Add(ref y, at + 2) = s2;
        Unsafe.Add(ref y, at + 3) = s3;
    }

    /// <summary>Y = X · B with B stored by rows (<c>[inputs × outputs]</c>, row k at <c>k · bStride</c>): each output row
    /// is built from broadcast X values times B's rows, 32 outputs at a time in four vector accumulators, so there are no
    /// horizontal sums; for narrow products (attention over a head's 32 columns, or its n scores), where
    /// <see cref="Multiply(ReadOnlySpan{float}, int, int, int, ReadOnlySpan{float}, int, int, Span{float}, int)"/>
    /// would spend its time summing accumulators.</summary>
    public static void MultiplyRows(ReadOnlySpan<float> x, int xStride, int n, int inputs, ReadOnlySpan<float> b, int bStride, int outputs,
        Span<float> y, int yStride)
    {
        if (n == 0 || outputs == 0) return;
        if (x.Length < (n - 1) * xStride + inputs || b.Length < (inputs - 1) * bStride + outputs || y.Length < (n - 1) * yStride + outputs)
            throw new ArgumentException("a matrix is smaller than its shape");
        int vectored = Vector256.IsHardwareAccelerated ? outputs - outputs % 8 : 0;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float br = ref MemoryMarshal.GetReference(b);
        ref float yr = ref MemoryMarshal.GetReference(y);
        for (int i = 0; i < n; i++)
        {
            nuint xRow = (nuint)(i * xStride), yRow = (nuint)(i * yStride);
            int o = 0;
            for (; o + 32 <= vectored; o += 32)
            {
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                for (int k = 0; k < inputs; k++)
                {
                    var v = Vector256.Create(Unsafe.Add(ref xr, xRow + (nuint)k));
                    nuint at = (nuint)(k * bStride + o);
                    a0 = Vector256.FusedMultiplyAdd(v, Vector256.LoadUnsafe(ref br, at), a0);
                    a1 = Vector256.FusedMultiplyAdd(v, Vector256.LoadUnsafe(ref br, at + 8), a1);
                    a2 = Vector256.FusedMultiplyAdd(v, Vector256.LoadUnsafe(ref br, at + 16), a2);
                    a3 = Vector256.FusedMultiplyAdd(v, Vector256.LoadUnsafe(ref br, at + 24), a3);
                }
                a0.StoreUnsafe(ref yr, yRow + (nuint)o);
                a1.StoreUnsafe(ref yr, yRow + (nuint)o + 8);
                a2.StoreUnsafe(ref yr, yRow + (nuint)o + 16);
                a3.StoreUnsafe(ref yr, yRow + (nuint)o + 24);
            }
            for (; o < vectored; o += 8)
            {
                Vector256<float> a = default;
                for (int k = 0; k < inputs; k++)
                    a = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref xr, xRow + (nuint)k)), Vector256.LoadUnsafe(ref br, (nuint)(k * bStride + o)), a);
                a.StoreUnsafe(ref yr, yRow + (nuint)o);
            }
            for (; o < outputs; o++)
            {
                float sum = 0;
                for (int k = 0; k < inputs; k++) sum += Unsafe.Add(ref xr, xRow + (nuint)k) * Unsafe.Add(ref br, (nuint)(k * bStride + o));
                Unsafe.Add(ref yr, yRow + (nuint)o) = sum;
            }
        }
    }

    /// <summary>A <c>[rows × columns]</c> matrix as <c>[columns × rows]</c>.</summary>
    public static float[] Transpose(float[] m, int rows, int columns)
    {
        var t = new float[m.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++) t[c * rows + r] = m[r * columns + c];
        return t;
    }
}
