using System.Buffers.Binary;
using System.Text;

namespace Relevo.Index.Formats;

/// <summary>Every index file starts with a header (magic, file kind, format version) and ends with a footer
/// (footer magic + XxHash64 of everything before it), as Lucene's CodecUtil does, so a damaged or foreign file
/// is refused with its name instead of being read as garbage.</summary>
internal static class FileFormat
{
    public const uint HeaderMagic = 0x4F564C52; // "RLVO" little-endian
    public const uint FooterMagic = 0x524C564F; // "OVLR"
    public const int HeaderLength = 12;
    public const int FooterLength = 12;

    public static void WriteHeader(Span<byte> b, string kind, int version)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(b, HeaderMagic);
        KindBytes(kind).CopyTo(b[4..]);
        BinaryPrimitives.WriteInt32LittleEndian(b[8..], version);
    }

    /// <summary>Checks header, version and footer checksum of a whole file image; returns the format version.</summary>
    public static unsafe int Verify(string path, ReadOnlySpan<byte> file, string kind, int maxVersion)
    {
        fixed (byte* p = file) return Verify(path, p, file.Length, kind, maxVersion);
    }

    /// <summary>Checks header, version and footer checksum of the <paramref name="length"/> bytes of a whole file at
    /// <paramref name="file"/> (a mapping; files may pass 2 GiB, more than one span holds); returns the format version.</summary>
    public static unsafe int Verify(string path, byte* file, long length, string kind, int maxVersion)
    {
        if (length < HeaderLength + FooterLength)
            throw new CorruptIndexException(path, $"file is truncated ({length} bytes)");
        var header = new ReadOnlySpan<byte>(file, HeaderLength);
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != HeaderMagic)
            throw new CorruptIndexException(path, "not a Relevo index file (bad header magic)");
        if (!header.Slice(4, 4).SequenceEqual(KindBytes(kind)))
            throw new CorruptIndexException(path, $"expected a '{kind}' file but found '{Encoding.ASCII.GetString(header.Slice(4, 4))}'");
        int version = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
        if (version < 1 || version > maxVersion)
            throw new CorruptIndexException(path, $"format version {version} is not supported (this build reads 1..{maxVersion})");
        var footer = new ReadOnlySpan<byte>(file + length - FooterLength, FooterLength);
        if (BinaryPrimitives.ReadUInt32LittleEndian(footer) != FooterMagic)
            throw new CorruptIndexException(path, "bad footer magic (file truncated or overwritten)");
        ulong expected = BinaryPrimitives.ReadUInt64LittleEndian(footer[4..]);
        ulong actual = Checksum(file, length - FooterLength);
        if (expected != actual)
            throw new CorruptIndexException(path, $"checksum mismatch (stored {expected:x16}, computed {actual:x16})");
        return version;
    }

    /// <summary>Bytes hashed per step by <see cref="Checksum(byte*, long, int)"/>: a span holds at most int.MaxValue
    /// bytes (a multiple of XxHash64's 32-byte stripe, so no step leaves a partial stripe to buffer).</summary>
    public const int ChecksumChunk = 1 << 30;

    /// <summary>XxHash64 of <paramref name="data"/>, appended <paramref name="chunk"/> bytes at a time (tests).</summary>
    public static unsafe ulong Checksum(ReadOnlySpan<byte> data, int chunk)
    {
        fixed (byte* p = data) return Checksum(p, data.Length, chunk);
    }

    /// <summary>XxHash64 of <paramref name="length"/> bytes at <paramref name="data"/>, in one pass: at once when they fit
    /// one chunk, else appended <paramref name="chunk"/> bytes at a time (the same hash as one call over all of them,
    /// which is what <see cref="IndexOutput"/> writes, appending as it flushes).</summary>
    public static unsafe ulong Checksum(byte* data, long length, int chunk = ChecksumChunk)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunk);
        if (length <= chunk) return System.IO.Hashing.XxHash64.HashToUInt64(new ReadOnlySpan<byte>(data, (int)length));
        var hash = new System.IO.Hashing.XxHash64();
        for (long done = 0; done < length; done += chunk)
            hash.Append(new ReadOnlySpan<byte>(data + done, (int)Math.Min(chunk, length - done)));
        return hash.GetCurrentHashAsUInt64();
    }

    private static byte[] KindBytes(string kind)
    {
        if (kind.Length != 4) throw new ArgumentException("file kind must be 4 ASCII characters", nameof(kind));
        return Encoding.ASCII.GetBytes(kind);
    }
}

/// <summary>An index file that fails its checks; the message names the file.</summary>
internal sealed class CorruptIndexException(string path, string reason)
    : RelevoException($"{path}: corrupt index file: {reason}")
{
    public string FilePath { get; } = path;
}
