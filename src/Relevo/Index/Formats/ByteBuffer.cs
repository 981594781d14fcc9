using System.Runtime.CompilerServices;

namespace Relevo.Index.Formats;

/// <summary>A growable byte buffer reused across terms and blocks while writing a segment.</summary>
internal sealed class ByteBuffer
{
    private byte[] _data = new byte[4096];
    public int Length { get; private set; }
    public ReadOnlySpan<byte> Span => _data.AsSpan(0, Length);

    public void Clear() => Length = 0;

    /// <summary>The most bytes a buffer holds (the largest byte array), under int.MaxValue: an offset into a buffer
    /// always fits the 32-bit offsets of format 1. Writers check it before a buffer would pass it, naming the file.</summary>
    public static int MaxLength => Array.MaxLength;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Ensure(int extra)
    {
        if ((long)Length + extra > _data.Length) Grow(extra);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Grow(int extra)
    {
        long need = (long)Length + extra;
        if (need > MaxLength)
            throw new InvalidOperationException($"a write buffer would pass {MaxLength} bytes, the most one holds");
        // doubling, capped at the largest array: growth past 1 GiB stays amortized instead of a copy per write
        Array.Resize(ref _data, (int)Math.Max(Math.Min(2L * _data.Length, MaxLength), need));
    }

    public void WriteByte(byte b) { Ensure(1); _data[Length++] = b; }

    public void WriteBytes(ReadOnlySpan<byte> b) { Ensure(b.Length); b.CopyTo(_data.AsSpan(Length)); Length += b.Length; }

    public void WriteVarInt(ulong v)
    {
        Ensure(10);
        while (v >= 0x80) { _data[Length++] = (byte)(v | 0x80); v >>= 7; }
        _data[Length++] = (byte)v;
    }

    /// <summary>varint UTF-8 length, then the UTF-8 bytes of <paramref name="s"/> (no intermediate array).</summary>
    public void WriteUtf8(string s)
    {
        int n = System.Text.Encoding.UTF8.GetByteCount(s);
        WriteVarInt((ulong)n);
        Ensure(n);
        System.Text.Encoding.UTF8.GetBytes(s, _data.AsSpan(Length, n));
        Length += n;
    }

    public void WriteUInt32(uint v)
    {
        Ensure(4);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(_data.AsSpan(Length), v);
        Length += 4;
    }

    /// <summary>Packs values of a fixed bit width, little-endian bit order (see <see cref="BitPacking.Unpack(byte*, int, int, Span{uint})"/>).</summary>
    public void WritePacked(ReadOnlySpan<uint> values, int bits)
    {
        if (bits == 0) return;
        Ensure(BitPacking.PackedBytes(values.Length, bits));
        ulong acc = 0;
        int filled = 0;
        foreach (uint v in values)
        {
            acc |= (ulong)v << filled;
            filled += bits;
            while (filled >= 8)
            {
                _data[Length++] = (byte)acc;
                acc >>= 8;
                filled -= 8;
            }
        }
        if (filled > 0) _data[Length++] = (byte)acc;
    }
}
