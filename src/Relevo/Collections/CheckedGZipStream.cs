using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace Relevo.Collections;

/// <summary>Decompresses a gzip file (one member or several concatenated ones) and checks that each member is
/// complete: its deflate data ends, and the CRC-32 and length in its trailer match what was decompressed.
/// <see cref="GZipStream"/> alone treats a file that simply stops (a cut download, a full disk) as a normal end, so
/// a truncated corpus would be read as a shorter one.</summary>
/// <remarks>
/// Each member's header is parsed here and its deflate data is inflated by a raw <see cref="DeflateStream"/>. The
/// inflater reads ahead, so it cannot say where its data ended; it is therefore fed at most <see cref="Chunk"/>
/// bytes at a time, and once it has finished, the trailer is looked for in the last chunks it was given (it only
/// asks for more input when it has used all it had, so its data ends inside the last chunk). The 8 trailer bytes
/// must equal the CRC-32 and the length (mod 2^32) of the member's output; the chance that other bytes there match
/// both by accident is negligible. The next member, if any, starts right after the trailer. Memory is bounded: a
/// 128 KiB buffer of compressed bytes and the inflater's own state.
/// Errors are <see cref="InvalidDataException"/>s whose message says what is wrong, without the file name.
/// </remarks>
internal sealed class CheckedGZipStream : ReadOnlyStream
{
    /// <summary>The most compressed bytes handed to the inflater at once.</summary>
    private const int Chunk = 8192;

    /// <summary>Compressed bytes kept before the read position when the buffer is compacted (the trailer search
    /// looks back two chunks at most).</summary>
    private const int History = 4 * Chunk;

    private const byte FlagExtra = 4, FlagName = 8, FlagComment = 16, FlagHeaderCrc = 2, FlagsReserved = 0xE0;

    private readonly Stream _source;
    private readonly bool _leaveOpen;
    private readonly Feeder _feeder;
    private byte[] _buf = new byte[1 << 17];
    private int _pos, _len;          // the compressed bytes not yet consumed are _buf[_pos.._len]
    private long _base;              // offset in the file of _buf[0]
    private bool _sourceEnded;

    private DeflateStream? _deflate; // the member being inflated, or null between members
    private int _members;
    private long _memberStart, _deflateStart, _lastChunk, _chunkBefore;
    private bool _starved;           // the inflater asked for input after the file had ended
    private readonly Crc32 _crc = new();
    private long _size;
    private bool _done;

    public CheckedGZipStream(Stream source, bool leaveOpen = false)
    {
        _source = source;
        _leaveOpen = leaveOpen;
        _feeder = new Feeder(this);
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty) return 0;
        while (!_done)
        {
            if (_deflate is null && !StartMember())
            {
                _done = true;
                break;
            }
            int n;
            try
            {
                n = _deflate!.Read(buffer);
            }
            catch (InvalidDataException) when (_starved)
            {
                // With System.IO.Compression.UseStrictValidation, the inflater itself reports the early end.
                throw Truncated();
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException(
                    $"the gzip data is damaged in the member that starts at byte {_memberStart} ({e.Message})", e);
            }
            if (n > 0)
            {
                _crc.Append(buffer[..n]);
                _size += n;
                return n;
            }
            EndMember();
        }
        return 0;
    }

    /// <summary>Parses the next member's header and starts inflating it; false at the end of the file.</summary>
    private bool StartMember()
    {
        Fill(1);
        if (_pos == _len)
        {
            if (_members == 0) throw new InvalidDataException("the file is empty, not a gzip stream");
            return false;
        }
        _memberStart = _base + _pos;
        int id1 = HeaderByte(), id2 = HeaderByte();
        if (id1 != 0x1F || id2 != 0x8B)
            throw new InvalidDataException(_members == 0
                ? "not a gzip stream (it does not start with the gzip signature 1f 8b)"
                : $"unexpected data at byte {_memberStart}, after the last complete gzip member (not a gzip header)");
        int method = HeaderByte();
        if (method != 8)
            throw new InvalidDataException($"the gzip member at byte {_memberStart} uses compression method {method}, not deflate (8)");
        int flags = HeaderByte();
        if ((flags & FlagsReserved) != 0)
            throw new InvalidDataException($"the gzip member at byte {_memberStart} has reserved header flags set");
        for (int i = 0; i < 6; i++) HeaderByte(); // modification time, extra flags, operating system
        if ((flags & FlagExtra) != 0)
        {
            int length = HeaderByte() | HeaderByte() << 8;
            for (int i = 0; i < length; i++) HeaderByte();
        }
        if ((flags & FlagName) != 0) while (HeaderByte() != 0) { }
        if ((flags & FlagComment) != 0) while (HeaderByte() != 0) { }
        if ((flags & FlagHeaderCrc) != 0) { HeaderByte(); HeaderByte(); }

        _deflateStart = _lastChunk = _chunkBefore = _base + _pos;
        _starved = false;
        _crc.Reset();
        _size = 0;
        _members++;
        _deflate = new DeflateStream(_feeder, CompressionMode.Decompress, leaveOpen: true);
        return true;
    }

    /// <summary>After the inflater has finished a member: finds and checks its trailer, and moves past it.</summary>
    private void EndMember()
    {
        _deflate!.Dispose();
        _deflate = null;
        if (_starved) throw Truncated();
        uint crc = _crc.GetCurrentHashAsUInt32(), length = unchecked((uint)_size);
        long fed = _base + _pos;
        Fill(8);
        int from = (int)(Math.Max(_deflateStart, _chunkBefore) - _base), to = (int)(fed - _base);
        bool crcFound = false, lengthFound = false;
        for (int i = from; i <= to && i + 8 <= _len; i++)
        {
            bool crcMatches = BinaryPrimitives.ReadUInt32LittleEndian(_buf.AsSpan(i)) == crc;
            bool lengthMatches = BinaryPrimitives.ReadUInt32LittleEndian(_buf.AsSpan(i + 4)) == length;
            if (crcMatches && lengthMatches)
            {
                _pos = i + 8;
                return;
            }
            crcFound |= crcMatches;
            lengthFound |= lengthMatches;
        }
        if (crcFound)
            throw new InvalidDataException($"the gzip member at byte {_memberStart} is damaged: its trailer gives a length other than the {_size} bytes it holds");
        if (lengthFound)
            throw new InvalidDataException($"the gzip member at byte {_memberStart} is damaged: its data does not match the CRC-32 in its trailer");
        if (_sourceEnded && _len - to < 8) throw Truncated();
        throw new InvalidDataException($"the gzip member at byte {_memberStart} is damaged: no trailer matches its CRC-32 and length");
    }

    private static InvalidDataException Truncated() =>
        new("the gzip stream is truncated (it ends before its trailer)");

    /// <summary>The next header byte; the file must not end inside a header.</summary>
    private int HeaderByte()
    {
        Fill(1);
        if (_pos == _len) throw new InvalidDataException("the gzip stream is truncated (it ends inside a member header)");
        return _buf[_pos++];
    }

    /// <summary>Reads from the file until at least <paramref name="need"/> unconsumed bytes are buffered or the
    /// file ends, keeping <see cref="History"/> bytes before the read position for the trailer search.</summary>
    private void Fill(int need)
    {
        while (_len - _pos < need && !_sourceEnded)
        {
            int keepFrom = Math.Max(0, _pos - History);
            if (keepFrom > 0 && _len == _buf.Length)
            {
                Buffer.BlockCopy(_buf, keepFrom, _buf, 0, _len - keepFrom);
                _base += keepFrom;
                _pos -= keepFrom;
                _len -= keepFrom;
            }
            if (_len == _buf.Length) Array.Resize(ref _buf, _buf.Length * 2);
            int n = _source.Read(_buf, _len, _buf.Length - _len);
            if (n == 0) _sourceEnded = true;
            _len += n;
        }
    }

    /// <summary>What the inflater reads: the buffered compressed bytes, a chunk at a time.</summary>
    private int Feed(Span<byte> into)
    {
        if (into.IsEmpty) return 0;
        Fill(1);
        if (_pos == _len)
        {
            _starved = true;
            return 0;
        }
        int n = Math.Min(Math.Min(into.Length, Chunk), _len - _pos);
        _buf.AsSpan(_pos, n).CopyTo(into);
        _chunkBefore = _lastChunk;
        _lastChunk = _base + _pos;
        _pos += n;
        return n;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _deflate?.Dispose();
            if (!_leaveOpen) _source.Dispose();
        }
        base.Dispose(disposing);
    }


    private sealed class Feeder(CheckedGZipStream owner) : ReadOnlyStream
    {
        public override int Read(byte[] buffer, int offset, int count) => owner.Feed(buffer.AsSpan(offset, count));
        public override int Read(Span<byte> buffer) => owner.Feed(buffer);
    }
}

/// <summary>A stream that is only read, front to back: everything else is not supported.</summary>
internal abstract class ReadOnlyStream : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
