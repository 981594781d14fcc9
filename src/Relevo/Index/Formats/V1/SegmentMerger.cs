namespace Relevo.Index.Formats.V1;

/// <summary>Merges segments into one without re-analysing text: postings are decoded, renumbered past deleted
/// documents and re-encoded; stored documents and norms are copied.</summary>
internal sealed class SegmentMerger : ISegmentSource
{
    private readonly IReadOnlyList<V1SegmentReader> _segments;
    private readonly int[][] _docMap;
    private readonly (int Segment, int Doc)[] _newToOld;
    private readonly byte[] _norms;

    public SegmentMerger(IReadOnlyList<SegmentReader> segments)
    {
        var v1 = new V1SegmentReader[segments.Count];
        for (int i = 0; i < v1.Length; i++)
            v1[i] = segments[i] as V1SegmentReader ?? throw new NotSupportedException($"segment {segments[i].Name} is not of format 1");
        _segments = v1;
        _docMap = new int[segments.Count][];
        var newToOld = new List<(int, int)>();
        var norms = new List<byte>();
        for (int s = 0; s < segments.Count; s++)
        {
            var seg = segments[s];
            var map = new int[seg.MaxDoc];
            var segNorms = seg.Norms;
            for (int d = 0; d < seg.MaxDoc; d++)
            {
                if (seg.IsDeleted(d)) { map[d] = -1; continue; }
                map[d] = newToOld.Count;
                newToOld.Add((s, d));
                norms.Add(segNorms[d]);
            }
            _docMap[s] = map;
        }
        _newToOld = [.. newToOld];
        _norms = [.. norms];
    }

    public int DocCount => _newToOld.Length;

    public string GetId(int doc)
    {
        var (s, d) = _newToOld[doc];
        return _segments[s].GetId(d);
    }

    /// <summary>Without deletions the merged documents are the sources' in order: their compressed stored blocks are
    /// copied as they are (renumbered), straight from the mapped files, not decompressed and compressed again nor held
    /// in memory (a merged store may be many GiB).</summary>
    public bool StoresFields
    {
        get
        {
            foreach (var seg in _segments) if (seg.StoresFields) return true;
            return false;
        }
    }

    public bool CopyStoredBlocks(IndexOutput docs, List<(int FirstDoc, long Offset, int Compressed, int Raw)> index)
    {
        foreach (var seg in _segments) if (seg.Deletes.Count > 0 || seg.StoresFields != StoresFields) return false;
        int first = 0;
        foreach (var seg in _segments)
            for (int i = 0; i < seg.StoredBlockCount; i++)
            {
                var data = seg.StoredBlock(i, out int blockFirst, out int raw);
                int next = i + 1 < seg.StoredBlockCount ? seg.StoredBlockFirstDoc(i + 1) : seg.MaxDoc;
                index.Add((first, docs.Position, data.Length, raw));
                docs.WriteBytes(data);
                first += next - blockFirst;
            }
        return true;
    }

    public byte[] Norms => _norms;

    private V1SegmentReader.StoredCursor[]? _stored;

    /// <summary>Called in increasing doc order by the writer: each source block is decompressed once.</summary>
    public Document GetDocument(int doc)
    {
        var (s, d) = _newToOld[doc];
        if (_stored is null)
        {
            _stored = new V1SegmentReader.StoredCursor[_segments.Count];
            for (int i = 0; i < _stored.Length; i++) _stored[i] = new V1SegmentReader.StoredCursor();
        }
        return _segments[s].GetDocument(d, _stored[s]);
    }

    public IEnumerable<TermPostings> Terms()
    {
        int n = _segments.Count;
        var next = new int[n];
        var docs = new int[1024];
        var freqs = new int[1024];
        while (true)
        {
            // Smallest current term across segments (ordinal order).
            string? term = null;
            for (int s = 0; s < n; s++)
            {
                if (next[s] >= _segments[s].TermCount) continue;
                string t = _segments[s].Term(next[s]);
                if (term is null || string.CompareOrdinal(t, term) < 0) term = t;
            }
            if (term is null) yield break;

            int count = 0;
            for (int s = 0; s < n; s++)
            {
                var seg = _segments[s];
                if (next[s] >= seg.TermCount || !string.Equals(seg.Term(next[s]), term, StringComparison.Ordinal)) continue;
                var cursor = seg.Postings(next[s]);
                var map = _docMap[s];
                for (int b = 0; b < cursor.BlockCount; b++)
                {
                    cursor.ReadBlock(b);
                    for (int i = 0; i < cursor.BlockLength; i++)
                    {
                        int nd = map[cursor.Docs[i]];
                        if (nd < 0) continue;
                        if (count == docs.Length)
                        {
                            Array.Resize(ref docs, count * 2);
                            Array.Resize(ref freqs, count * 2);
                        }
                        docs[count] = nd;
                        freqs[count] = cursor.Freqs[i];
                        count++;
                    }
                }
                next[s]++;
            }
            // A term whose documents were all deleted disappears from the merged segment.
            if (count > 0) yield return new TermPostings(term, docs, freqs, count);
        }
    }
}
