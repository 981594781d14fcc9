using Relevo.Index;
using Relevo.Index.Values;
using Relevo.Search.Similarities;

namespace Relevo.Search.Filters;

/// <summary>The documents a query matches in one commit — those holding at least one of its analysed terms (the bag of
/// words BM25 scores), or for a query in the Lucene syntax those its tree matches — within a filter and without deleted
/// ones, as a bitset per segment. Facets count over it and a field sort orders it, as Elasticsearch's aggregations and
/// sorts run over every document a query matches, not only over the top k.</summary>
internal sealed class MatchSet
{
    private readonly IndexReader _reader;
    private readonly ulong[][] _bits;

    public long Count { get; }

    private MatchSet(IndexReader reader, ulong[][] bits)
    {
        _reader = reader;
        _bits = bits;
        foreach (var b in bits)
            foreach (ulong w in b) Count += System.Numerics.BitOperations.PopCount(w);
    }

    public static MatchSet Of(IndexReader reader, Query query, DocFilter? filter, CancellationToken cancellation)
    {
        var bits = new ulong[reader.Segments.Count][];
        for (int s = 0; s < bits.Length; s++) bits[s] = new ulong[(reader.Segments[s].MaxDoc + 63) >> 6];
        if (query.Structured is { } node)
        {
            // the tree matched exhaustively, segment by segment (no top k: every match counts)
            var structured = new Structured.StructuredQuery(reader, node, new Bm25Parameters(), null);
            using var scope = SearchCancellation.Enter(cancellation);
            for (int s = 0; s < bits.Length; s++)
            {
                cancellation.ThrowIfCancellationRequested();
                var seg = reader.Segments[s];
                var skipped = filter?.Excluded[s] ?? seg.Deletes;
                foreach (int d in structured.Matching(s))
                    if (!skipped.IsDeleted(d)) bits[s][d >> 6] |= 1UL << (d & 63);
            }
            return new MatchSet(reader, bits);
        }
        PostingsCursor? cursor = null;
        for (int s = 0; s < bits.Length; s++)
        {
            cancellation.ThrowIfCancellationRequested();
            var seg = reader.Segments[s];
            var skipped = filter?.Excluded[s] ?? seg.Deletes;
            var b = bits[s];
            foreach (var (term, weight) in query.Terms)
            {
                if (weight <= 0) continue;
                int ord = seg.FindTerm(term);
                if (ord < 0) continue;
                cursor = seg.Postings(ord, cursor);
                for (int block = 0; block < cursor.BlockCount; block++)
                {
                    cursor.ReadBlock(block);
                    var docs = cursor.Docs;
                    for (int i = 0; i < cursor.BlockLength; i++)
                    {
                        int d = docs[i];
                        if (!skipped.IsDeleted(d)) b[d >> 6] |= 1UL << (d & 63);
                    }
                }
            }
        }
        return new MatchSet(reader, bits);
    }

    /// <summary>Per field, its most frequent values among the matching documents (a document with a value twice counts
    /// once), most first, ties by value; at most <paramref name="size"/> each.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<(string Value, long Count)>> Facets(IReadOnlyList<string> fields, int size,
        CancellationToken cancellation = default)
    {
        var values = ValuesView.Of(_reader);
        var result = new Dictionary<string, IReadOnlyList<(string Value, long Count)>>(StringComparer.Ordinal);
        var seen = new HashSet<long>();
        foreach (string field in fields)
        {
            var type = values.Schema.ValueTypeOf(field) ?? throw new RelevoException(values.Schema.NoValuesReason(field, "count or sort by"));
            var totals = new Dictionary<string, long>(StringComparer.Ordinal); // keywords across segments
            var numbers = new Dictionary<long, long>();                        // other types: by stored value
            for (int s = 0; s < _bits.Length; s++)
            {
                cancellation.ThrowIfCancellationRequested();
                if (!values.Segments[s].TryGetValue(field, out var column)) continue;
                var b = _bits[s];
                var counts = type == FieldType.Keyword ? new Dictionary<long, long>() : numbers;
                for (int k = 0; k < column.Docs.Length; k++)
                {
                    int d = column.Docs[k];
                    if ((b[d >> 6] & (1UL << (d & 63))) == 0) continue;
                    int start = column.Start[k], end = column.Start[k + 1];
                    if (end - start == 1)
                    {
                        counts[column.Values[start]] = counts.GetValueOrDefault(column.Values[start]) + 1;
                        continue;
                    }
                    seen.Clear();
                    for (int i = start; i < end; i++)
                        if (seen.Add(column.Values[i])) counts[column.Values[i]] = counts.GetValueOrDefault(column.Values[i]) + 1;
                }
                if (type == FieldType.Keyword)
                    foreach (var (ordinal, n) in counts) totals[column.Terms![ordinal]] = totals.GetValueOrDefault(column.Terms![ordinal]) + n;
            }
            if (type == FieldType.Keyword)
            {
                var list = totals.Select(t => (t.Key, t.Value)).ToList();
                list.Sort((a, b) => a.Value != b.Value ? b.Value.CompareTo(a.Value) : string.CompareOrdinal(a.Key, b.Key));
                result[field] = list.Count > size ? list[..size] : list;
            }
            else
            {
                // ties by value, in the field's order (numbers, dates, false before true); only the shown ones formatted
                result[field] = numbers.OrderByDescending(n => n.Value).ThenBy(n => n.Key).Take(size)
                    .Select(n => (Schema.Display(type, n.Key), n.Value)).ToList();
            }
        }
        return result;
    }

    /// <summary>The first k matching documents ordered by a field's value (the smallest of a document's values
    /// ascending, the largest descending; documents without one last), ties by document order; each hit's score is
    /// 0, as a sort by field scores nothing.</summary>
    public Hit[] Sorted(string field, bool descending, int k)
    {
        var values = ValuesView.Of(_reader);
        var type = values.Schema.ValueTypeOf(field) ?? throw new RelevoException(values.Schema.NoValuesReason(field, "count or sort by"));
        var keyed = new List<(int Global, bool Has, long Key, string? Word)>();
        for (int s = 0; s < _bits.Length; s++)
        {
            values.Segments[s].TryGetValue(field, out var column);
            var b = _bits[s];
            int j = 0;
            for (int w = 0; w < b.Length; w++)
            {
                ulong word = b[w];
                while (word != 0)
                {
                    int d = (w << 6) + System.Numerics.BitOperations.TrailingZeroCount(word);
                    word &= word - 1;
                    int global = _reader.DocBase[s] + d;
                    if (column is not null) while (j < column.Docs.Length && column.Docs[j] < d) j++;
                    if (column is null || j == column.Docs.Length || column.Docs[j] != d) { keyed.Add((global, false, 0, null)); continue; }
                    long best = column.Values[column.Start[j]];
                    for (int i = column.Start[j] + 1; i < column.Start[j + 1]; i++)
                    {
                        long v = column.Values[i];
                        // keyword ordinals are in string order within a segment, so comparing them compares the strings
                        if (descending ? v > best : v < best) best = v;
                    }
                    keyed.Add(type == FieldType.Keyword ? (global, true, 0, column.Terms![best]) : (global, true, best, null));
                }
            }
        }
        keyed.Sort((a, b) =>
        {
            if (a.Has != b.Has) return a.Has ? -1 : 1;
            if (a.Has)
            {
                int c = a.Word is not null ? string.CompareOrdinal(a.Word, b.Word) : a.Key.CompareTo(b.Key);
                if (c != 0) return descending ? -c : c;
            }
            return a.Global.CompareTo(b.Global);
        });
        int n = Math.Min(k, keyed.Count);
        var docs = new int[n];
        for (int i = 0; i < n; i++) docs[i] = keyed[i].Global;
        return _reader.ToHits(docs, new float[n]);
    }
}
