using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Relevo.Dense;

/// <summary>Dot products of int8 vectors with int32 accumulation. The query is widened to int16 once; each document
/// row is sign-extended 16 bytes at a time and multiplied pairwise-added (AVX2 vpmaddwd), so a 384-dim row is 24
/// loads and 24 multiply-adds. Portable Vector128 and scalar fallbacks give the same integers.</summary>
internal static class Int8Dot
{
    /// <summary>Widens a quantized query for <see cref="Dot"/>; <paramref name="wide"/> has the query's length.</summary>
    public static void Widen(ReadOnlySpan<sbyte> query, Span<short> wide)
    {
        for (int i = 0; i < query.Length; i++) wide[i] = query[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe int Dot(ReadOnlySpan<short> query, ReadOnlySpan<sbyte> row)
    {
        int n = row.Length;
        int i = 0;
        int sum = 0;
        fixed (short* q = query)
        fixed (sbyte* d = row)
        {
            if (Avx2.IsSupported && n >= 16)
            {
                var acc0 = Vector256<int>.Zero;
                var acc1 = Vector256<int>.Zero;
                for (; i + 32 <= n; i += 32)
                {
                    acc0 = Avx2.Add(acc0, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(d + i), Avx.LoadVector256(q + i)));
                    acc1 = Avx2.Add(acc1, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(d + i + 16), Avx.LoadVector256(q + i + 16)));
                }
                for (; i + 16 <= n; i += 16)
                    acc0 = Avx2.Add(acc0, Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(d + i), Avx.LoadVector256(q + i)));
                sum = Vector256.Sum(Avx2.Add(acc0, acc1));
            }
            else if (Vector128.IsHardwareAccelerated && n >= 16)
            {
                var acc = Vector128<int>.Zero;
                for (; i + 16 <= n; i += 16)
                {
                    var (lo, hi) = Vector128.Widen(Vector128.Load(d + i));
                    var ql = Vector128.Load(q + i);
                    var qh = Vector128.Load(q + i + 8);
                    var pl = lo * ql; // |127 × 127| fits in int16
                    var ph = hi * qh;
                    var (a, b) = Vector128.Widen(pl);
                    var (c, e) = Vector128.Widen(ph);
                    acc += a + b + c + e;
                }
                sum = Vector128.Sum(acc);
            }
            for (; i < n; i++) sum += q[i] * d[i];
        }
        return sum;
    }
}
