using System.Numerics;
using System.Runtime.CompilerServices;

namespace Relevo.Index.Formats;

/// <summary>Fixed-width bit packing of small unsigned integers (little-endian bit order), as used by postings blocks.</summary>
public static unsafe class BitPacking
{
    public static int BitsRequired(uint max) => max == 0 ? 0 : 32 - BitOperations.LeadingZeroCount(max);

    public static int PackedBytes(int count, int bits) => (count * bits + 7) >> 3;

    /// <summary>Unpacks <paramref name="count"/> values. Reads up to 8 bytes past the last packed byte; every
    /// index file ends with a 12-byte footer, so such reads stay inside the mapping.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Unpack(byte* src, int count, int bits, Span<uint> dest)
    {
        if (bits == 0)
        {
            dest[..count].Clear();
            return;
        }
        ulong mask = (1UL << bits) - 1;
        int bitPos = 0;
        for (int i = 0; i < count; i++)
        {
            ulong word = Unsafe.ReadUnaligned<ulong>(src + (bitPos >> 3));
            dest[i] = (uint)((word >> (bitPos & 7)) & mask);
            bitPos += bits;
        }
    }
}
