using Relevo.Analysis;
using Relevo.Index.Formats.V1;

namespace Relevo.Index;

/// <summary>New documents inverted in memory until they are flushed as a segment.
/// Postings live in large shared int slabs as chains of growing slices (Lucene's ByteBlockPool idea): no array per
/// term and no copying when a list grows, so inversion makes little garbage however large the vocabulary.</summary>
internal sealed class SegmentBuffer : ISegmentSource, ITermSink
{
    private const int SlabBits = 20;
    private const int SlabSize = 1 << SlabBits;          // ints per slab (4 MiB)
    private const int SlabMask = SlabSize - 1;
    private const int MaxLevel = 9;                        // slices hold 2, 4, ... 1024 (doc, freq) pairs

    private readonly Dictionary<string, int> _terms = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    // per term id: first slice, next write position, end of the current slice (where its next-pointer goes), level, count
    private int[] _head = new int[1024], _tail = new int[1024], _limit = new int[1024], _count = new int[1024];
    private byte[] _level = new byte[1024];
    private readonly List<int[]> _slabs = [];
    private int _slabUsed = SlabSize;
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
    /// decides when to flush — is exactly what <see cref="Add(Document, Analyzer)"/> gives for the same document.</summary>
    public int Add(AnalyzedDocument analyzed)
    {
        var doc = analyzed.Document;
        _currentDoc = _docs.Count;
        for (int i = 0; i < analyzed.TermCount; i++)
            Append(TermId(analyzed.Term(i)), _currentDoc, analyzed.Freq(i));
        _docs.Add(doc);
        _norms.Add(SmallFloat.IntToByte4(analyzed.Length));
        EstimatedBytes += 64 + 2L * (doc.Id.Length + doc.Title.Length + doc.Text.Length);
        return _currentDoc;
    }

    private int TermId(ReadOnlySpan<char> term)
    {
        if (_lookup.TryGetValue(term, out int id)) return id;
        id = _terms.Count;
        _lookup[term] = id;
        EstimatedBytes += 80 + 2L * term.Length;
        if (id == _head.Length)
        {
            int n = id * 2;
            Array.Resize(ref _head, n);
            Array.Resize(ref _tail, n);
            Array.Resize(ref _limit, n);
            Array.Resize(ref _count, n);
            Array.Resize(ref _level, n);
        }
        int slice = NewSlice(0);
        _head[id] = slice;
        _tail[id] = slice;
        _limit[id] = slice + 4;
        _level[id] = 0;
        _count[id] = 0;
        return id;
    }

    /// <summary>Reserves a slice of level <paramref name="level"/>: 2^(level+1) pairs and one next-pointer.</summary>
    private int NewSlice(int level)
    {
        int size = (4 << level) + 1;
        if (_slabUsed + size > SlabSize)
        {
            _slabs.Add(new int[SlabSize]);
            _slabUsed = 0;
        }
        int address = ((_slabs.Count - 1) << SlabBits) | _slabUsed;
        _slabUsed += size;
        EstimatedBytes += 4L * size;
        return address;
    }

    private ref int At(int address) => ref _slabs[address >> SlabBits][address & SlabMask];

    private void Append(int id, int doc, int freq)
    {
        int tail = _tail[id];
        if (tail == _limit[id])
        {
            int level = Math.Min(_level[id] + 1, MaxLevel);
            int slice = NewSlice(level);
            At(tail) = slice; // next-pointer of the full slice
            _level[id] = (byte)level;
            tail = slice;
            _limit[id] = slice + (4 << level);
        }
        var slab = _slabs[tail >> SlabBits];
        int at = tail & SlabMask;
        slab[at] = doc;
        slab[at + 1] = freq;
        _tail[id] = tail + 2;
        _count[id]++;
    }

    void ITermSink.OnTerm(ReadOnlySpan<char> term)
    {
        _currentLength++;
        int id = TermId(term);
        if (_count[id] > 0)
        {
            int last = _tail[id] - 2; // the last pair is always just before the write position
            var slab = _slabs[last >> SlabBits];
            if (slab[last & SlabMask] == _currentDoc)
            {
                slab[(last & SlabMask) + 1]++;
                return;
            }
        }
        Append(id, _currentDoc, 1);
    }

    public byte[] Norms => [.. _norms];

    public IEnumerable<TermPostings> Terms()
    {
        var keys = new string[_terms.Count];
        _terms.Keys.CopyTo(keys, 0);
        Array.Sort(keys, StringComparer.Ordinal);
        var docs = new int[16];
        var freqs = new int[16];
        foreach (var k in keys)
        {
            int id = _terms[k];
            int count = _count[id];
            if (docs.Length < count)
            {
                docs = new int[Math.Max(count, docs.Length * 2)];
                freqs = new int[docs.Length];
            }
            int address = _head[id], level = 0, n = 0;
            while (n < count)
            {
                int pairs = 2 << level;
                var slab = _slabs[address >> SlabBits];
                int at = address & SlabMask;
                for (int i = 0; i < pairs && n < count; i++, n++)
                {
                    docs[n] = slab[at + 2 * i];
                    freqs[n] = slab[at + 2 * i + 1];
                }
                if (n < count)
                {
                    address = slab[at + 2 * pairs];
                    level = Math.Min(level + 1, MaxLevel);
                }
            }
            yield return new TermPostings(k, docs, freqs, count);
        }
    }

    public Document GetDocument(int doc) => _docs[doc];
}
