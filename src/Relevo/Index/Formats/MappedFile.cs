using System.IO.MemoryMappedFiles;
using System.Runtime.CompilerServices;
using System.Buffers.Binary;

namespace Relevo.Index.Formats;

/// <summary>A read-only memory-mapped index file, verified (header, version, checksum) when opened.</summary>
internal sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte* _base;
    private bool _disposed;

    public string Path { get; }
    public long Length { get; }
    public int Version { get; }

    /// <summary>Start of the payload (after the header); payload ends at Length - FooterLength.</summary>
    public long PayloadStart => FileFormat.HeaderLength;
    public long PayloadEnd => Length - FileFormat.FooterLength;

    public MappedFile(string path, string kind, int maxVersion)
    {
        Path = path;
        if (!File.Exists(path)) throw new RelevoException($"{path}: index file is missing");
        Length = new FileInfo(path).Length;
        if (Length == 0) throw new CorruptIndexException(path, "file is empty");
        // The mapping outlives the file descriptor: map, then close the file, so an open index costs no descriptors
        // however many segments it has (a process's descriptor limit bounds nothing here).
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1))
        using (var map = MemoryMappedFile.CreateFromFile(file, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false))
            _view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* p = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _base = p + _view.PointerOffset;
        try
        {
            Version = FileFormat.Verify(path, _base, Length, kind, maxVersion); // every byte, past 2 GiB too
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public byte* Pointer => _base;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<byte> Span(long offset, int length) => new(_base + offset, length);

    public int ReadInt32(long offset) => BinaryPrimitives.ReadInt32LittleEndian(Span(offset, 4));
    public long ReadInt64(long offset) => BinaryPrimitives.ReadInt64LittleEndian(Span(offset, 8));

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
    }
}

/// <summary>Sequential reader over a mapped region: varints and fixed-width little-endian values.</summary>
internal unsafe ref struct ByteReader
{
    private readonly ReadOnlySpan<byte> _data;
    public int Position;

    public ByteReader(ReadOnlySpan<byte> data) { _data = data; Position = 0; }

    public byte ReadByte() => _data[Position++];

    public ulong ReadVarInt()
    {
        ulong v = 0;
        int shift = 0;
        while (true)
        {
            byte b = _data[Position++];
            v |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return v;
            shift += 7;
            if (shift > 63) throw new InvalidDataException("varint too long");
        }
    }

    public int ReadInt32() { int v = BinaryPrimitives.ReadInt32LittleEndian(_data[Position..]); Position += 4; return v; }
    public long ReadInt64() { long v = BinaryPrimitives.ReadInt64LittleEndian(_data[Position..]); Position += 8; return v; }
    public float ReadSingle() { float v = BinaryPrimitives.ReadSingleLittleEndian(_data[Position..]); Position += 4; return v; }
    public ReadOnlySpan<byte> ReadBytes(int n) { var s = _data.Slice(Position, n); Position += n; return s; }
}
