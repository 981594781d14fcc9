using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Relevo.Index.Formats;

/// <summary>Fixed-width bit packing of small unsigned integers (little-endian bit order), as used by postings blocks.</summary>
internal static unsafe class BitPacking
{
    public static int BitsRequired(uint max) => max == 0 ? 0 : 32 - BitOperations.LeadingZeroCount(max);

    public static int PackedBytes(int count, int bits) => (count * bits + 7) >> 3;

    /// <summary>Widths the AVX2 path decodes: a value plus its bit offset (at most 7) must fit one 32-bit lane.</summary>
    public const int MaxSimdBits = 25;

    // Per width: the byte offset and bit shift of each of 8 consecutive values inside their 'bits'-byte group.
    private static readonly int[] s_offsets = BuildTable(shift: false);
    private static readonly int[] s_shifts = BuildTable(shift: true);

    private static int[] BuildTable(bool shift)
    {
        var t = new int[(MaxSimdBits + 1) * 8];
        for (int bits = 1; bits <= MaxSimdBits; bits++)
            for (int i = 0; i < 8; i++)
                t[bits * 8 + i] = shift ? (i * bits) & 7 : (i * bits) >> 3;
        return t;
    }

    /// <summary>True where the AVX2 gather path is used (x64 with AVX2, unless disabled for comparison).</summary>
    public static bool UseSimd { get; set; } = Avx2.IsSupported;

    /// <summary>Unpacks <paramref name="count"/> values. Reads up to 8 bytes past the last packed byte; every
    /// index file ends with a 12-byte footer, so such reads stay inside the mapping.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Unpack(byte* src, int count, int bits, Span<uint> dest)
    {
        fixed (uint* d = dest) Unpack(src, count, bits, d);
    }

    /// <summary>Safe form: <paramref name="src"/> must extend at least 8 bytes past the packed values.</summary>
    public static void Unpack(ReadOnlySpan<byte> src, int count, int bits, Span<uint> dest)
    {
        if (src.Length < PackedBytes(count, bits) + 8 || dest.Length < count) throw new ArgumentException("buffer too short");
        fixed (byte* s = src)
        fixed (uint* d = dest)
            Unpack(s, count, bits, d);
    }

    /// <summary>As <see cref="Unpack(byte*, int, int, Span{uint})"/>, into raw memory of at least <paramref name="count"/> values.</summary>
    public static void Unpack(byte* src, int count, int bits, uint* dest)
    {
        if (bits == 0)
        {
            new Span<uint>(dest, count).Clear();
            return;
        }
        int i = 0;
        if (UseSimd && bits <= MaxSimdBits && Avx2.IsSupported)
        {
            // Eight values occupy exactly 'bits' bytes, so every group of eight has the same lane offsets and shifts:
            // one gather of 32-bit words, one variable shift, one mask.
            fixed (int* po = &s_offsets[bits * 8])
            fixed (int* ps = &s_shifts[bits * 8])
            {
                var offsets = Avx.LoadVector256(po);
                var shifts = Avx.LoadVector256(ps).AsUInt32();
                var mask = Vector256.Create((uint)((1UL << bits) - 1));
                int groups = count >> 3;
                byte* p = src;
                for (int g = 0; g < groups; g++, p += bits, i += 8)
                {
                    var words = Avx2.GatherVector256((int*)p, offsets, 1).AsUInt32();
                    var v = Avx2.And(Avx2.ShiftRightLogicalVariable(words, shifts), mask);
                    Avx.Store(dest + i, v);
                }
            }
        }
        ulong m = (1UL << bits) - 1;
        long bitPos = (long)i * bits;
        for (; i < count; i++)
        {
            ulong word = Unsafe.ReadUnaligned<ulong>(src + (bitPos >> 3));
            dest[i] = (uint)((word >> (int)(bitPos & 7)) & m);
            bitPos += bits;
        }
    }
}
