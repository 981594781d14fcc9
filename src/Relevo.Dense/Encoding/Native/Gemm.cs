using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Relevo.Dense;

/// <summary>The matrix products the C# encoder spends its time in, all of the form Y = X · B with X <c>[n × k]</c> by
/// rows. One outer-product kernel does the work: a block of 6 rows of Y by one panel of B's columns (two vectors: 32
/// columns where 512-bit vectors are accelerated, else 16) is held in 12 vector accumulators, and each step of k
/// broadcasts one X value per row and multiplies it by the panel's row of B (no horizontal sums; each B vector is used
/// six times). Weight matrices are packed once per matrix into panels stored one after the other (each panel's rows
/// contiguous, the last panel padded with zeros), kept with the matrix and dropped with it; products of activations
/// (attention) read B where it lies. Rows past the last block of 6 go one at a time; columns past the last whole panel
/// of an unpacked B are plain vector and scalar sums. Where 256-bit vectors are not accelerated every product is
/// scalar-free <see cref="TensorPrimitives"/> work row by row (the same sums in another order).</summary>
internal static class Gemm
{
    /// <summary>Columns per panel: two vectors.</summary>
    internal static readonly int PanelWidth = Vector512.IsHardwareAccelerated ? 32 : 16;

    private const int BlockRows = 6;

    /// <summary>Y = X · Wᵀ (+ b), W <c>[outputs × inputs]</c> by rows (a linear layer's weight), packed on first use.</summary>
    public static void Multiply(ReadOnlySpan<float> x, int n, int inputs, float[] w, int outputs, ReadOnlySpan<float> bias, Span<float> y)
    {
        if (w.Length < outputs * inputs) throw new ArgumentException("the weight is smaller than its shape");
        if (!bias.IsEmpty && bias.Length < outputs) throw new ArgumentException("the bias is shorter than the outputs");
        var packed = Transposed.GetValue(w, m => Pack(m, inputs, outputs, transpose: true));
        Product(x, n, inputs, packed, outputs, y);
        if (!bias.IsEmpty)
            for (int i = 0; i < n; i++) TensorPrimitives.Add(y.Slice(i * outputs, outputs), bias[..outputs], y.Slice(i * outputs, outputs));
    }

    /// <summary>Y = X · W, W <c>[k × m]</c> by rows (a linear layer's weight read backwards: the gradient at its input
    /// from the gradient at its output), packed on first use.</summary>
    public static void MultiplyBy(ReadOnlySpan<float> x, int n, int k, float[] w, int m, Span<float> y)
    {
        if (w.Length < k * m) throw new ArgumentException("the weight is smaller than its shape");
        var packed = AsIs.GetValue(w, b => Pack(b, k, m, transpose: false));
        Product(x, n, k, packed, m, y);
    }

    /// <summary>A weight packed by panels: panel j holds B[.., j·P .. j·P + P) row after row, <c>Depth × P</c> floats.</summary>
    private sealed record Packed(float[] Data, int Depth, int Width, int Panel);

    private static readonly ConditionalWeakTable<float[], Packed> Transposed = new();
    private static readonly ConditionalWeakTable<float[], Packed> AsIs = new();

    /// <summary>B <c>[depth × width]</c> in panels; B is <paramref name="source"/> as it lies, or (transposed) the
    /// transpose of a <c>[width × depth]</c> matrix.</summary>
    private static Packed Pack(float[] source, int depth, int width, bool transpose)
    {
        int p = PanelWidth, panels = (width + p - 1) / p;
        var data = new float[panels * depth * p];
        for (int j = 0; j < panels; j++)
        {
            int columns = Math.Min(p, width - j * p);
            for (int r = 0; r < depth; r++)
            {
                int at = (j * depth + r) * p;
                for (int c = 0; c < columns; c++)
                    data[at + c] = transpose ? source[(j * p + c) * depth + r] : source[r * width + j * p + c];
            }
        }
        return new Packed(data, depth, width, p);
    }

    private static void Product(ReadOnlySpan<float> x, int n, int k, Packed b, int m, Span<float> y)
    {
        if (b.Depth != k || b.Width != m || b.Panel != PanelWidth)
            throw new ArgumentException($"the matrix was packed as {b.Depth} × {b.Width}, not {k} × {m}");
        if (n == 0 || m == 0) return;
        if (x.Length < n * k || y.Length < n * m) throw new ArgumentException("a matrix is smaller than its shape");
        if (!Vector256.IsHardwareAccelerated)
        {
            // no vectors: panel by panel, each panel a matrix of its own
            for (int j = 0; j * b.Panel < m; j++)
                Unpacked(x, k, 1, n, k, b.Data.AsSpan(j * k * b.Panel), b.Panel, Math.Min(b.Panel, m - j * b.Panel), y[(j * b.Panel)..], m);
            return;
        }
        int p = b.Panel, whole = m / p;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float br = ref MemoryMarshal.GetReference(b.Data.AsSpan());
        ref float yr = ref MemoryMarshal.GetReference(y);
        Panels(ref xr, k, 1, n, k, ref br, (nuint)(k * p), (nuint)p, whole, ref yr, m);
        if (whole * p == m) return;
        // the last, partial panel: through a scratch row block, then its columns copied out
        Span<float> scratch = stackalloc float[BlockRows * 32];
        ref float sr = ref MemoryMarshal.GetReference(scratch);
        ref float last = ref Unsafe.Add(ref br, (nuint)(whole * k * p));
        int columns = m - whole * p;
        for (int i = 0; i < n; i += BlockRows)
        {
            int rows = Math.Min(BlockRows, n - i);
            Block(ref Unsafe.Add(ref xr, (nuint)(i * k)), k, 1, rows, k, ref last, (nuint)p, ref sr, p);
            for (int r = 0; r < rows; r++) scratch.Slice(r * p, columns).CopyTo(y.Slice((i + r) * m + whole * p, columns));
        }
    }

    /// <summary>Y = X · B with B <c>[inputs × outputs]</c> stored by rows (row k at <c>k · bStride</c>), X's row i at
    /// <c>i · xStride</c> and Y's at <c>i · yStride</c> (a head's slice of a wider matrix, as attention reads them).</summary>
    public static void MultiplyRows(ReadOnlySpan<float> x, int xStride, int n, int inputs, ReadOnlySpan<float> b, int bStride, int outputs,
        Span<float> y, int yStride)
    {
        if (n == 0 || outputs == 0) return;
        if (x.Length < (n - 1) * xStride + inputs) throw new ArgumentException("a matrix is smaller than its shape");
        Unpacked(x, xStride, 1, n, inputs, b, bStride, outputs, y, yStride);
    }

    /// <summary>Y = Aᵀ · B: as <see cref="MultiplyRows"/> with X the transpose of A <c>[inputs × n]</c>, A's row k at
    /// <c>k · aStride</c> (attention's probabilities read backwards), with no transposed copy made.</summary>
    public static void MultiplyTransposedRows(ReadOnlySpan<float> a, int aStride, int n, int inputs, ReadOnlySpan<float> b, int bStride, int outputs,
        Span<float> y, int yStride)
    {
        if (n == 0 || outputs == 0) return;
        if (a.Length < (inputs - 1) * aStride + n) throw new ArgumentException("a matrix is smaller than its shape");
        Unpacked(a, 1, aStride, n, inputs, b, bStride, outputs, y, yStride);
    }

    /// <summary>Y = X · B, X[i, c] at <c>i · xRow + c · xStep</c>, B by rows where it lies.</summary>
    private static void Unpacked(ReadOnlySpan<float> x, int xRow, int xStep, int n, int inputs, ReadOnlySpan<float> b, int bStride, int outputs,
        Span<float> y, int yStride)
    {
        if (b.Length < (inputs - 1) * bStride + outputs || y.Length < (n - 1) * yStride + outputs)
            throw new ArgumentException("a matrix is smaller than its shape");
        int p = PanelWidth, whole = Vector256.IsHardwareAccelerated ? outputs / p : 0;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float br = ref MemoryMarshal.GetReference(b);
        ref float yr = ref MemoryMarshal.GetReference(y);
        if (whole > 0) Panels(ref xr, xRow, xStep, n, inputs, ref br, (nuint)p, (nuint)bStride, whole, ref yr, yStride);
        int done = whole * p, rest = outputs - done;
        if (rest == 0) return;
        // the columns past the last whole panel: each row of Y the sum of X's values times B's rows
        for (int i = 0; i < n; i++)
        {
            var yi = y.Slice(i * yStride + done, rest);
            yi.Clear();
            for (int c = 0; c < inputs; c++)
                TensorPrimitives.MultiplyAdd(b.Slice(c * bStride + done, rest), x[i * xRow + c * xStep], yi, yi);
        }
    }

    /// <summary>The first <paramref name="panels"/> panels of columns: panel j's row r at <c>j · panelStride + r · bRow</c>.</summary>
    private static void Panels(ref float x, int xStride, int xStep, int n, int k, ref float b, nuint panelStride, nuint bRow, int panels, ref float y, int yStride)
    {
        int p = PanelWidth;
        for (int j = 0; j < panels; j++)
        {
            ref float panel = ref Unsafe.Add(ref b, (nuint)j * panelStride);
            ref float yj = ref Unsafe.Add(ref y, (nuint)(j * p));
            for (int i = 0; i < n; i += BlockRows)
                Block(ref Unsafe.Add(ref x, (nuint)(i * xStride)), xStride, xStep, Math.Min(BlockRows, n - i), k, ref panel, bRow, ref Unsafe.Add(ref yj, (nuint)(i * yStride)), yStride);
        }
    }

    /// <summary><paramref name="rows"/> (at most 6) rows of Y against one panel: X's row r at <c>r · xStride</c>, its
    /// values <paramref name="xStep"/> apart (1, or a row of the matrix X is the transpose of).</summary>
    private static void Block(ref float x, int xStride, int xStep, int rows, int k, ref float b, nuint bRow, ref float y, int yStride)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            if (rows == BlockRows) Wide6(ref x, (nuint)xStride, (nuint)xStep, (nuint)k, ref b, bRow, ref y, (nuint)yStride);
            else
                for (int r = 0; r < rows; r++)
                    Wide1(ref Unsafe.Add(ref x, (nuint)(r * xStride)), (nuint)xStep, (nuint)k, ref b, bRow, ref Unsafe.Add(ref y, (nuint)(r * yStride)));
        }
        else
        {
            if (rows == BlockRows) Narrow6(ref x, (nuint)xStride, (nuint)xStep, (nuint)k, ref b, bRow, ref y, (nuint)yStride);
            else
                for (int r = 0; r < rows; r++)
                    Narrow1(ref Unsafe.Add(ref x, (nuint)(r * xStride)), (nuint)xStep, (nuint)k, ref b, bRow, ref Unsafe.Add(ref y, (nuint)(r * yStride)));
        }
    }

    /// <summary>6 rows × 32 columns in 512-bit vectors.</summary>
    private static void Wide6(ref float x, nuint xs, nuint xStep, nuint k, ref float b, nuint bRow, ref float y, nuint ys)
    {
        ref float x0 = ref x;
        ref float x1 = ref Unsafe.Add(ref x0, xs);
        ref float x2 = ref Unsafe.Add(ref x1, xs);
        ref float x3 = ref Unsafe.Add(ref x2, xs);
        ref float x4 = ref Unsafe.Add(ref x3, xs);
        ref float x5 = ref Unsafe.Add(ref x4, xs);
        Vector512<float> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default;
        Vector512<float> a30 = default, a31 = default, a40 = default, a41 = default, a50 = default, a51 = default;
        ref float row = ref b;
        for (nuint kk = 0, end = k * xStep; kk < end; kk += xStep)
        {
            var b0 = Vector512.LoadUnsafe(ref row);
            var b1 = Vector512.LoadUnsafe(ref row, 16);
            row = ref Unsafe.Add(ref row, bRow);
            var v = Vector512.Create(Unsafe.Add(ref x0, kk));
            a00 = Vector512.FusedMultiplyAdd(v, b0, a00); a01 = Vector512.FusedMultiplyAdd(v, b1, a01);
            v = Vector512.Create(Unsafe.Add(ref x1, kk));
            a10 = Vector512.FusedMultiplyAdd(v, b0, a10); a11 = Vector512.FusedMultiplyAdd(v, b1, a11);
            v = Vector512.Create(Unsafe.Add(ref x2, kk));
            a20 = Vector512.FusedMultiplyAdd(v, b0, a20); a21 = Vector512.FusedMultiplyAdd(v, b1, a21);
            v = Vector512.Create(Unsafe.Add(ref x3, kk));
            a30 = Vector512.FusedMultiplyAdd(v, b0, a30); a31 = Vector512.FusedMultiplyAdd(v, b1, a31);
            v = Vector512.Create(Unsafe.Add(ref x4, kk));
            a40 = Vector512.FusedMultiplyAdd(v, b0, a40); a41 = Vector512.FusedMultiplyAdd(v, b1, a41);
            v = Vector512.Create(Unsafe.Add(ref x5, kk));
            a50 = Vector512.FusedMultiplyAdd(v, b0, a50); a51 = Vector512.FusedMultiplyAdd(v, b1, a51);
        }
        a00.StoreUnsafe(ref y); a01.StoreUnsafe(ref y, 16);
        a10.StoreUnsafe(ref y, ys); a11.StoreUnsafe(ref y, ys + 16);
        a20.StoreUnsafe(ref y, 2 * ys); a21.StoreUnsafe(ref y, 2 * ys + 16);
        a30.StoreUnsafe(ref y, 3 * ys); a31.StoreUnsafe(ref y, 3 * ys + 16);
        a40.StoreUnsafe(ref y, 4 * ys); a41.StoreUnsafe(ref y, 4 * ys + 16);
        a50.StoreUnsafe(ref y, 5 * ys); a51.StoreUnsafe(ref y, 5 * ys + 16);
    }

    private static void Wide1(ref float x, nuint xStep, nuint k, ref float b, nuint bRow, ref float y)
    {
        Vector512<float> a0 = default, a1 = default;
        ref float row = ref b;
        for (nuint kk = 0, end = k * xStep; kk < end; kk += xStep)
        {
            var v = Vector512.Create(Unsafe.Add(ref x, kk));
            a0 = Vector512.FusedMultiplyAdd(v, Vector512.LoadUnsafe(ref row), a0);
            a1 = Vector512.FusedMultiplyAdd(v, Vector512.LoadUnsafe(ref row, 16), a1);
            row = ref Unsafe.Add(ref row, bRow);
        }
        a0.StoreUnsafe(ref y); a1.StoreUnsafe(ref y, 16);
    }

    /// <summary>6 rows × 16 columns in 256-bit vectors (12 accumulators, two panel vectors and a broadcast: the 16
    /// registers AVX2 has).</summary>
    private static void Narrow6(ref float x, nuint xs, nuint xStep, nuint k, ref float b, nuint bRow, ref float y, nuint ys)
    {
        ref float x0 = ref x;
        ref float x1 = ref Unsafe.Add(ref x0, xs);
        ref float x2 = ref Unsafe.Add(ref x1, xs);
        ref float x3 = ref Unsafe.Add(ref x2, xs);
        ref float x4 = ref Unsafe.Add(ref x3, xs);
        ref float x5 = ref Unsafe.Add(ref x4, xs);
        Vector256<float> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default;
        Vector256<float> a30 = default, a31 = default, a40 = default, a41 = default, a50 = default, a51 = default;
        ref float row = ref b;
        for (nuint kk = 0, end = k * xStep; kk < end; kk += xStep)
        {
            var b0 = Vector256.LoadUnsafe(ref row);
            var b1 = Vector256.LoadUnsafe(ref row, 8);
            row = ref Unsafe.Add(ref row, bRow);
            var v = Vector256.Create(Unsafe.Add(ref x0, kk));
            a00 = Vector256.FusedMultiplyAdd(v, b0, a00); a01 = Vector256.FusedMultiplyAdd(v, b1, a01);
            v = Vector256.Create(Unsafe.Add(ref x1, kk));
            a10 = Vector256.FusedMultiplyAdd(v, b0, a10); a11 = Vector256.FusedMultiplyAdd(v, b1, a11);
            v = Vector256.Create(Unsafe.Add(ref x2, kk));
            a20 = Vector256.FusedMultiplyAdd(v, b0, a20); a21 = Vector256.FusedMultiplyAdd(v, b1, a21);
            v = Vector256.Create(Unsafe.Add(ref x3, kk));
            a30 = Vector256.FusedMultiplyAdd(v, b0, a30); a31 = Vector256.FusedMultiplyAdd(v, b1, a31);
            v = Vector256.Create(Unsafe.Add(ref x4, kk));
            a40 = Vector256.FusedMultiplyAdd(v, b0, a40); a41 = Vector256.FusedMultiplyAdd(v, b1, a41);
            v = Vector256.Create(Unsafe.Add(ref x5, kk));
            a50 = Vector256.FusedMultiplyAdd(v, b0, a50); a51 = Vector256.FusedMultiplyAdd(v, b1, a51);
        }
        a00.StoreUnsafe(ref y); a01.StoreUnsafe(ref y, 8);
        a10.StoreUnsafe(ref y, ys); a11.StoreUnsafe(ref y, ys + 8);
        a20.StoreUnsafe(ref y, 2 * ys); a21.StoreUnsafe(ref y, 2 * ys + 8);
        a30.StoreUnsafe(ref y, 3 * ys); a31.StoreUnsafe(ref y, 3 * ys + 8);
        a40.StoreUnsafe(ref y, 4 * ys); a41.StoreUnsafe(ref y, 4 * ys + 8);
        a50.StoreUnsafe(ref y, 5 * ys); a51.StoreUnsafe(ref y, 5 * ys + 8);
    }

    private static void Narrow1(ref float x, nuint xStep, nuint k, ref float b, nuint bRow, ref float y)
    {
        Vector256<float> a0 = default, a1 = default;
        ref float row = ref b;
        for (nuint kk = 0, end = k * xStep; kk < end; kk += xStep)
        {
            var v = Vector256.Create(Unsafe.Add(ref x, kk));
            a0 = Vector256.FusedMultiplyAdd(v, Vector256.LoadUnsafe(ref row), a0);
            a1 = Vector256.FusedMultiplyAdd(v, Vector256.LoadUnsafe(ref row, 8), a1);
            row = ref Unsafe.Add(ref row, bRow);
        }
        a0.StoreUnsafe(ref y); a1.StoreUnsafe(ref y, 8);
    }
}
