using System.Numerics;

namespace Relevo.Index;

/// <summary>Lucene's one-byte length norm (SmallFloat.intToByte4 / byte4ToInt, Lucene 8+ and Anserini):
/// exact for lengths below 24, then 4 significant bits. Reproducing it is what makes our BM25 scores equal Lucene's.</summary>
internal static class SmallFloat
{
    private static readonly int MaxInt4 = LongToInt4(int.MaxValue);
    private static readonly int NumFreeValues = 255 - MaxInt4;

    public static byte IntToByte4(int i)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(i);
        return i < NumFreeValues ? (byte)i : (byte)(NumFreeValues + LongToInt4(i - NumFreeValues));
    }

    public static int Byte4ToInt(byte b)
    {
        int i = b;
        if (i < NumFreeValues) return i;
        long decoded = NumFreeValues + Int4ToLong(i - NumFreeValues);
        return (int)Math.Min(decoded, int.MaxValue);
    }

    private static int LongToInt4(long i)
    {
        int numBits = 64 - BitOperations.LeadingZeroCount((ulong)i);
        if (numBits < 4) return (int)i; // subnormal
        int shift = numBits - 4;
        int encoded = (int)((ulong)i >> shift) & 0x07; // the top bit is implicit
        return encoded | ((shift + 1) << 3);
    }

    private static long Int4ToLong(int i)
    {
        long bits = i & 0x07;
        int shift = (i >> 3) - 1;
        return shift == -1 ? bits : (bits | 0x08) << shift;
    }

    /// <summary>Decoded length for every norm byte.</summary>
    public static readonly float[] LengthTable = BuildLengthTable();

    private static float[] BuildLengthTable()
    {
        var t = new float[256];
        for (int i = 0; i < 256; i++) t[i] = Byte4ToInt((byte)i);
        return t;
    }
}
