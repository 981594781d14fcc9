using System.Buffers.Binary;
using System.IO.Hashing;

namespace Relevo.Index.Formats;

/// <summary>A buffered, checksummed, fsync-on-close writer for one index file.</summary>
internal sealed class IndexOutput : IDisposable
{
    private readonly FileStream _file;
    private readonly XxHash64 _hash = new();
    private readonly byte[] _buffer = new byte[1 << 16];
    private int _used;
    private bool _finished;

    public string Path { get; }
    public long Position { get; private set; }

    public IndexOutput(string path, string kind, int version)
    {
        Path = path;
        _file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.None);
        Span<byte> header = stackalloc byte[FileFormat.HeaderLength];
        FileFormat.WriteHeader(header, kind, version);
        WriteBytes(header);
    }

    public void WriteByte(byte b)
    {
        if (_used == _buffer.Length) FlushBuffer();
        _buffer[_used++] = b;
        Position++;
    }

    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        while (bytes.Length > 0)
        {
            if (_used == _buffer.Length) FlushBuffer();
            int n = Math.Min(bytes.Length, _buffer.Length - _used);
            bytes[..n].CopyTo(_buffer.AsSpan(_used));
            _used += n;
            Position += n;
            bytes = bytes[n..];
        }
    }

    public void WriteInt32(int v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteInt32LittleEndian(b, v); WriteBytes(b); }
    public void WriteUInt32(uint v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); WriteBytes(b); }
    public void WriteInt64(long v) { Span<byte> b = stackalloc byte[8]; BinaryPrimitives.WriteInt64LittleEndian(b, v); WriteBytes(b); }
    public void WriteSingle(float v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteSingleLittleEndian(b, v); WriteBytes(b); }

    public void WriteVarInt(ulong v)
    {
        while (v >= 0x80) { WriteByte((byte)(v | 0x80)); v >>= 7; }
        WriteByte((byte)v);
    }

    /// <summary>Writes the footer, flushes and fsyncs. A file is only valid once this has run.</summary>
    public void Finish()
    {
        FlushBuffer();
        Span<byte> footer = stackalloc byte[FileFormat.FooterLength];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, FileFormat.FooterMagic);
        BinaryPrimitives.WriteUInt64LittleEndian(footer[4..], _hash.GetCurrentHashAsUInt64());
        _file.Write(footer);
        _file.Flush(flushToDisk: true);
        _finished = true;
        _file.Dispose();
    }

    private void FlushBuffer()
    {
        if (_used == 0) return;
        _hash.Append(_buffer.AsSpan(0, _used));
        _file.Write(_buffer, 0, _used);
        _used = 0;
    }

    public void Dispose()
    {
        if (!_finished)
        {
            _file.Dispose();
            try { File.Delete(Path); } catch (IOException) { }
        }
    }
}
