using Relevo.Analysis;
using Relevo.Index.Formats.V1;

namespace Relevo.Index;

/// <summary>New documents inverted in memory until they are flushed as a segment.</summary>
internal sealed class SegmentBuffer : ISegmentSource, ITermSink
{
    private sealed class TermBuffer
    {
        public int[] Docs = new int[4];
        public int[] Freqs = new int[4];
        public int Count;
    }

    private readonly Dictionary<string, TermBuffer> _terms = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TermBuffer>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly List<Document> _docs = [];
    private readonly List<byte> _norms = [];
    private int _currentDoc = -1;
    private int _currentLength;

    public SegmentBuffer() => _lookup = _terms.GetAlternateLookup<ReadOnlySpan<char>>();

    public int DocCount => _docs.Count;
    public long EstimatedBytes { get; private set; }

    public int Add(Document doc, Analyzer analyzer)
    {
        _currentDoc = _docs.Count;
        _currentLength = 0;
        analyzer.Analyze(doc.IndexedText, this);
        _docs.Add(doc);
        _norms.Add(SmallFloat.IntToByte4(_currentLength));
        EstimatedBytes += 64 + 2L * (doc.Id.Length + doc.Title.Length + doc.Text.Length);
        return _currentDoc;
    }

    /// <summary>Adds a document analyzed on another thread. The result — postings, norms, and the memory estimate that
    /// decides when to flush — is exactly what <see cref="Add"/> gives for the same document.</summary>
    public int Add(AnalyzedDocument analyzed)
    {
        var doc = analyzed.Document;
        _currentDoc = _docs.Count;
        for (int i = 0; i < analyzed.TermCount; i++)
            AddPosting(analyzed.Term(i), analyzed.Freq(i));
        _docs.Add(doc);
        _norms.Add(SmallFloat.IntToByte4(analyzed.Length));
        EstimatedBytes += 64 + 2L * (doc.Id.Length + doc.Title.Length + doc.Text.Length);
        return _currentDoc;
    }

    private void AddPosting(ReadOnlySpan<char> term, int freq)
    {
        if (!_lookup.TryGetValue(term, out var tb))
        {
            tb = new TermBuffer();
            _lookup[term] = tb;
            EstimatedBytes += 80 + 2L * term.Length;
        }
        if (tb.Count == tb.Docs.Length)
        {
            Array.Resize(ref tb.Docs, tb.Count * 2);
            Array.Resize(ref tb.Freqs, tb.Count * 2);
            EstimatedBytes += 8L * tb.Count;
        }
        tb.Docs[tb.Count] = _currentDoc;
        tb.Freqs[tb.Count] = freq;
        tb.Count++;
    }

    void ITermSink.OnTerm(ReadOnlySpan<char> term)
    {
        _currentLength++;
        if (!_lookup.TryGetValue(term, out var tb))
        {
            tb = new TermBuffer();
            _lookup[term] = tb;
            EstimatedBytes += 80 + 2L * term.Length;
        }
        if (tb.Count > 0 && tb.Docs[tb.Count - 1] == _currentDoc)
        {
            tb.Freqs[tb.Count - 1]++;
            return;
        }
        if (tb.Count == tb.Docs.Length)
        {
            Array.Resize(ref tb.Docs, tb.Count * 2);
            Array.Resize(ref tb.Freqs, tb.Count * 2);
            EstimatedBytes += 8L * tb.Count;
        }
        tb.Docs[tb.Count] = _currentDoc;
        tb.Freqs[tb.Count] = 1;
        tb.Count++;
    }

    public byte[] Norms => [.. _norms];

    public IEnumerable<TermPostings> Terms()
    {
        var keys = new string[_terms.Count];
        _terms.Keys.CopyTo(keys, 0);
        Array.Sort(keys, StringComparer.Ordinal);
        foreach (var k in keys)
        {
            var tb = _terms[k];
            yield return new TermPostings(k, tb.Docs, tb.Freqs, tb.Count);
        }
    }

    public Document GetDocument(int doc) => _docs[doc];
}
