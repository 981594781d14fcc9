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
    public static int Verify(string path, ReadOnlySpan<byte> file, string kind, int maxVersion)
    {
        if (file.Length < HeaderLength + FooterLength)
            throw new CorruptIndexException(path, $"file is truncated ({file.Length} bytes)");
        if (BinaryPrimitives.ReadUInt32LittleEndian(file) != HeaderMagic)
            throw new CorruptIndexException(path, "not a Relevo index file (bad header magic)");
        if (!file.Slice(4, 4).SequenceEqual(KindBytes(kind)))
            throw new CorruptIndexException(path, $"expected a '{kind}' file but found '{Encoding.ASCII.GetString(file.Slice(4, 4))}'");
        int version = BinaryPrimitives.ReadInt32LittleEndian(file[8..]);
        if (version < 1 || version > maxVersion)
            throw new CorruptIndexException(path, $"format version {version} is not supported (this build reads 1..{maxVersion})");
        var footer = file[^FooterLength..];
        if (BinaryPrimitives.ReadUInt32LittleEndian(footer) != FooterMagic)
            throw new CorruptIndexException(path, "bad footer magic (file truncated or overwritten)");
        ulong expected = BinaryPrimitives.ReadUInt64LittleEndian(footer[4..]);
        ulong actual = System.IO.Hashing.XxHash64.HashToUInt64(file[..^FooterLength]);
        if (expected != actual)
            throw new CorruptIndexException(path, $"checksum mismatch (stored {expected:x16}, computed {actual:x16})");
        return version;
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
