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

    // Term dictionary: open addressing, each slot (hash << 32 | id + 1), so a probe touches the slot and, on a hash
    // match, the term's string; per term id, all write state in one struct (one cache line per posting appended).
    private long[] _table = new long[1 << 12];
    private string[] _termStrings = new string[1024];
    private int _termCount;
    private struct TermState
    {
        public int Head;   // first slice
        public int Tail;   // next write position
        public int Limit;  // end of the current slice, where its next-pointer goes
        public int Count;
        public int Level;
    }
    private TermState[] _state = new TermState[1024];
    private readonly List<int[]> _slabs = [];
    private int _slabUsed = SlabSize;
    private readonly List<string> _ids = [];
    private readonly StoredDocsBuilder _stored = new();
    private readonly List<byte> _norms = [];
    private int _currentDoc = -1;
    private int _currentLength;


    public int DocCount => _docCount;
    private int _docCount;

    /// <summary>Memory held: postings slabs, term dictionary, ids, and the stored text (compressed block by block).</summary>
    public long EstimatedBytes => _postingsBytes + _stored.Bytes;
    private long _postingsBytes;

    public int Add(Document doc, Analyzer analyzer)
    {
        if (doc.TermWeights is not null)
        {
            var weighted = new AnalyzedDocument();
            weighted.Analyze(doc, analyzer);
            return Add(weighted);
        }
        _currentDoc = _docCount;
        _currentLength = 0;
        analyzer.Analyze(doc.IndexedText, this);
        AddStored(doc);
        _norms.Add(SmallFloat.IntToByte4(_currentLength));
        return _currentDoc;
    }

    /// <summary>Adds a document analyzed on another thread. The result — postings, norms, and the memory estimate that
    /// decides when to flush — is exactly what <see cref="Add(Document, Analyzer)"/> gives for the same document.</summary>
    public int Add(AnalyzedDocument analyzed)
    {
        var doc = analyzed.Document;
        _currentDoc = _docCount;
        for (int i = 0; i < analyzed.TermCount; i++)
            Append(TermId(analyzed.Term(i), analyzed.Hash(i)), _currentDoc, analyzed.Freq(i));
        AddStored(doc);
        _norms.Add(SmallFloat.IntToByte4(analyzed.Length));
        return _currentDoc;
    }

    /// <summary>Adds one document's text of a field: its postings and norm only (a field's segment keeps no ids and no
    /// stored text; <see cref="Formats.V1.SegmentWriter.Write"/> with postingsOnly). Not mixed with the other Adds.</summary>
    public int AddFieldText(string text, Analyzer analyzer)
    {
        _currentDoc = _docCount;
        _currentLength = 0;
        if (text.Length > 0) analyzer.Analyze(text, this);
        _docCount++;
        _norms.Add(SmallFloat.IntToByte4(_currentLength));
        _postingsBytes += 1;
        return _currentDoc;
    }

    private void AddStored(Document doc)
    {
        _docCount++;
        _ids.Add(doc.Id);
        _stored.Add(doc.Title, doc.Text, doc.Fields);
        _postingsBytes += 64 + 2L * doc.Id.Length;
    }

    private int TermId(ReadOnlySpan<char> term, int hash)
    {
        int mask = _table.Length - 1;
        int slot = hash & mask;
        while (true)
        {
            long e = _table[slot];
            if (e == 0) break;
            if ((int)(e >> 32) == hash)
            {
                int found = (int)e - 1;
                if (_termStrings[found].AsSpan().SequenceEqual(term)) return found;
            }
            slot = (slot + 1) & mask;
        }
        int id = _termCount++;
        _table[slot] = ((long)hash << 32) | (uint)(id + 1);
        _postingsBytes += 80 + 2L * term.Length;
        if (id == _state.Length)
        {
            Array.Resize(ref _state, id * 2);
            Array.Resize(ref _termStrings, id * 2);
        }
        _termStrings[id] = term.ToString();
        int slice = NewSlice(0);
        _state[id] = new TermState { Head = slice, Tail = slice, Limit = slice + 4, Level = 0, Count = 0 };
        if (_termCount * 2 > _table.Length) Rehash();
        return id;
    }

    private void Rehash()
    {
        var table = new long[_table.Length * 2];
        int mask = table.Length - 1;
        foreach (long e in _table)
        {
            if (e == 0) continue;
            int slot = (int)(e >> 32) & mask;
            while (table[slot] != 0) slot = (slot + 1) & mask;
            table[slot] = e;
        }
        _table = table;
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
        _postingsBytes += 4L * size;
        return address;
    }

    private ref int At(int address) => ref _slabs[address >> SlabBits][address & SlabMask];

    private void Append(int id, int doc, int freq)
    {
        ref var st = ref _state[id];
        int tail = st.Tail;
        if (tail == st.Limit)
        {
            int level = Math.Min(st.Level + 1, MaxLevel);
            int slice = NewSlice(level);
            At(tail) = slice; // next-pointer of the full slice
            st.Level = level;
            tail = slice;
            st.Limit = slice + (4 << level);
        }
        var slab = _slabs[tail >> SlabBits];
        int at = tail & SlabMask;
        slab[at] = doc;
        slab[at + 1] = freq;
        st.Tail = tail + 2;
        st.Count++;
    }

    void ITermSink.OnTerm(ReadOnlySpan<char> term)
    {
        _currentLength++;
        int id = TermId(term, string.GetHashCode(term));
        ref var st = ref _state[id];
        if (st.Count > 0)
        {
            int last = st.Tail - 2; // the last pair is always just before the write position
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
        var ids = new int[_termCount];
        for (int i = 0; i < ids.Length; i++) ids[i] = i;
        var keys = _termStrings.AsSpan(0, _termCount).ToArray();
        Array.Sort(keys, ids, StringComparer.Ordinal);
        var docs = new int[16];
        var freqs = new int[16];
        for (int t = 0; t < keys.Length; t++)
        {
            string k = keys[t];
            var st = _state[ids[t]];
            int count = st.Count;
            if (docs.Length < count)
            {
                docs = new int[Math.Max(count, docs.Length * 2)];
                freqs = new int[docs.Length];
            }
            int address = st.Head, level = 0, n = 0;
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

    public string GetId(int doc) => _ids[doc];
    public StoredDocsBuilder Stored => _stored;

    /// <summary>Not kept: the buffer holds stored text compressed (<see cref="Stored"/>), which the writer copies.</summary>
    public Document GetDocument(int doc) => throw new InvalidOperationException("the segment buffer keeps stored documents compressed");
}
