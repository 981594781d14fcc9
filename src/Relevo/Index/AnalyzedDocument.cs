using Relevo.Analysis;

namespace Relevo.Index;

/// <summary>One document's analysis result, made on a worker thread: its distinct terms (in first-occurrence order)
/// with their frequencies, and its length in terms. The inverting thread then adds it with one dictionary lookup per
/// distinct term. Instances are reused batch after batch, so steady-state analysis allocates nothing per token.</summary>
internal sealed class AnalyzedDocument : ITermSink
{
    private char[] _chars = new char[1024];
    private int _charCount;
    private (int Start, int Length, int Freq, int Hash)[] _terms = new (int, int, int, int)[64];
    private int[] _table = new int[128]; // open addressing: index + 1 into _terms, 0 = empty
    public int TermCount;
    public int Length;
    public Document Document = null!;

    public void Analyze(Document doc, Analyzer analyzer)
    {
        Document = doc;
        _charCount = 0;
        TermCount = 0;
        Length = 0;
        Array.Clear(_table);
        if (doc.TermWeights is { } weights)
        {
            // pre-encoded: each term as often as its weight says, with no analysis
            foreach (var (term, weight) in weights) Add(term, weight);
            return;
        }
        analyzer.Analyze(doc.IndexedText, this);
    }

    public ReadOnlySpan<char> Term(int i) => _chars.AsSpan(_terms[i].Start, _terms[i].Length);
    public int Freq(int i) => _terms[i].Freq;
    /// <summary>The term's <see cref="string.GetHashCode(ReadOnlySpan{char})"/>, computed once here for the inverter.</summary>
    public int Hash(int i) => _terms[i].Hash;

    void ITermSink.OnTerm(ReadOnlySpan<char> term) => Add(term, 1);

    private void Add(ReadOnlySpan<char> term, int count)
    {
        Length += count;
        int hash = string.GetHashCode(term);
        int mask = _table.Length - 1;
        int slot = hash & mask;
        while (true)
        {
            int e = _table[slot];
            if (e == 0) break;
            ref var t = ref _terms[e - 1];
            if (t.Hash == hash && _chars.AsSpan(t.Start, t.Length).SequenceEqual(term))
            {
                t.Freq += count;
                return;
            }
            slot = (slot + 1) & mask;
        }
        if (_charCount + term.Length > _chars.Length) Array.Resize(ref _chars, Math.Max(_chars.Length * 2, _charCount + term.Length));
        term.CopyTo(_chars.AsSpan(_charCount));
        if (TermCount == _terms.Length) Array.Resize(ref _terms, TermCount * 2);
        _terms[TermCount] = (_charCount, term.Length, count, hash);
        _charCount += term.Length;
        _table[slot] = ++TermCount;
        if (TermCount * 2 > _table.Length) Rehash();
    }

    private void Rehash()
    {
        _table = new int[_table.Length * 2];
        int mask = _table.Length - 1;
        for (int i = 0; i < TermCount; i++)
        {
            int slot = _terms[i].Hash & mask;
            while (_table[slot] != 0) slot = (slot + 1) & mask;
            _table[slot] = i + 1;
        }
    }
}
