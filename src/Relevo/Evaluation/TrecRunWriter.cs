using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Relevo.Evaluation;

/// <summary>Formats TREC run lines (<c>qid Q0 docid rank score tag</c>) as UTF-8 straight into a reusable byte buffer,
/// without a string per line: ids come as UTF-8 bytes (an index stores them so), ranks and scores are formatted in
/// place. The bytes equal <see cref="TrecRun.Write(TextWriter)"/>'s (a float score written as the shortest
/// round-trip form of its double value).</summary>
internal sealed class TrecLineBuffer : IDisposable
{
    private byte[] _buffer;
    private int _length;

    public TrecLineBuffer(int capacity = 1 << 16) => _buffer = ArrayPool<byte>.Shared.Rent(capacity);

    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _length);
    public int Length => _length;

    public void Clear() => _length = 0;

    /// <summary>Appends one run line.</summary>
    public void Line(ReadOnlySpan<byte> queryId, ReadOnlySpan<byte> docId, int rank, float score, ReadOnlySpan<byte> tag)
    {
        // rank: at most 10 digits; score: at most 32 bytes in round-trip form; separators and " Q0 ": 9
        Ensure(queryId.Length + docId.Length + tag.Length + 10 + 32 + 9);
        var span = _buffer.AsSpan(_length);
        int at = 0;
        queryId.CopyTo(span);
        at += queryId.Length;
        " Q0 "u8.CopyTo(span[at..]);
        at += 4;
        docId.CopyTo(span[at..]);
        at += docId.Length;
        span[at++] = (byte)' ';
        Utf8Formatter.TryFormat(rank, span[at..], out int n);
        at += n;
        span[at++] = (byte)' ';
        ((double)score).TryFormat(span[at..], out n, "R", CultureInfo.InvariantCulture);
        at += n;
        span[at++] = (byte)' ';
        tag.CopyTo(span[at..]);
        at += tag.Length;
        span[at++] = (byte)'\n';
        _length += at;
    }

    /// <summary>Appends one run line with a document id given as a string.</summary>
    public void Line(ReadOnlySpan<byte> queryId, string docId, int rank, float score, ReadOnlySpan<byte> tag)
    {
        int max = Encoding.UTF8.GetMaxByteCount(docId.Length);
        Span<byte> id = max <= 1024 ? stackalloc byte[max] : new byte[max];
        int n = Encoding.UTF8.GetBytes(docId, id);
        Line(queryId, id[..n], rank, score, tag);
    }

    public void WriteTo(Stream output)
    {
        output.Write(_buffer, 0, _length);
        _length = 0;
    }

    private void Ensure(int more)
    {
        if (_length + more <= _buffer.Length) return;
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + more));
        _buffer.AsSpan(0, _length).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }

    public void Dispose()
    {
        var b = _buffer;
        _buffer = [];
        _length = 0;
        if (b.Length > 0) ArrayPool<byte>.Shared.Return(b);
    }
}
