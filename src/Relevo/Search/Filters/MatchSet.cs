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
            using var scope = SearchCancellation.Enter(cancellation); // the tree's matching checks it as it goes
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
                    if ((block & 63) == 63) cancellation.ThrowIfCancellationRequested();
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

    /// <summary>The commit's typed fields.</summary>
    public Schema Schema => ValuesView.Of(_reader).Schema;

    /// <summary>Per field, its most frequent values among the matching documents (a document with a value twice counts
    /// once), most first, ties by value (<see cref="FacetCounts.Top"/>); at most <paramref name="size"/> each.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<(string Value, long Count)>> Facets(IReadOnlyList<string> fields, int size,
        CancellationToken cancellation = default)
    {
        var schema = Schema;
        var result = new Dictionary<string, IReadOnlyList<(string Value, long Count)>>(StringComparer.Ordinal);
        foreach (string field in fields)
        {
            var type = schema.ValueTypeOf(field) ?? throw new RelevoException(Unknown(field, schema));
            result[field] = CountValues(field, type, cancellation).Shown(size);
        }
        return result;
    }

    /// <summary>Every value of a field among the matching documents with how many of them have it (a document with a
    /// value twice counts once).</summary>
    public FacetCounts CountValues(string field, FieldType type, CancellationToken cancellation = default)
    {
        var values = ValuesView.Of(_reader);
        var result = new FacetCounts(type);
        var seen = new HashSet<long>();
        for (int s = 0; s < _bits.Length; s++)
        {
            cancellation.ThrowIfCancellationRequested();
            if (!values.Segments[s].TryGetValue(field, out var column)) continue;
            var b = _bits[s];
            // keywords by the segment's ordinals, then by string across segments; other types by stored value
            var counts = type == FieldType.Keyword ? new Dictionary<long, long>() : result.Numbers;
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
                foreach (var (ordinal, n) in counts) result.Add(column.Terms![ordinal], n);
        }
        return result;
    }

    /// <summary>The first k matching documents ordered by a field's value (the smallest of a document's values
    /// ascending, the largest descending; documents without one last), ties by document order; each hit's score is
    /// 0, as a sort by field scores nothing.</summary>
    public Hit[] Sorted(string field, bool descending, int k)
    {
        var type = Schema.ValueTypeOf(field) ?? throw new RelevoException(Unknown(field, Schema));
        var keyed = SortedEntries(field, type, descending, k, null);
        var docs = new int[keyed.Length];
        for (int i = 0; i < docs.Length; i++) docs[i] = _reader.DocBase[keyed[i].Segment] + keyed[i].Doc;
        return _reader.ToHits(docs, new float[docs.Length]);
    }

    /// <summary>The first k matching documents ordered by a field's value as <see cref="Sorted"/> orders them (a field of
    /// unknown <paramref name="type"/>: none has a value), ties by <paramref name="tie"/> (segment, document) — by
    /// default the document's number in the commit; a shard gives its documents' cluster-wide ordinals, the order one
    /// index of the same documents numbers them in.</summary>
    public SortEntry[] SortedEntries(string field, FieldType? type, bool descending, int k, Func<int, int, long>? tie)
    {
        if (k < 1) throw new RelevoException("k must be at least 1");
        var values = ValuesView.Of(_reader);
        var keyed = new List<SortEntry>();
        for (int s = 0; s < _bits.Length; s++)
        {
            ValueColumn? column = null;
            if (type is not null) values.Segments[s].TryGetValue(field, out column);
            var b = _bits[s];
            int j = 0;
            for (int w = 0; w < b.Length; w++)
            {
                ulong word = b[w];
                while (word != 0)
                {
                    int d = (w << 6) + System.Numerics.BitOperations.TrailingZeroCount(word);
                    word &= word - 1;
                    long order = tie is null ? _reader.DocBase[s] + d : tie(s, d);
                    if (column is not null) while (j < column.Docs.Length && column.Docs[j] < d) j++;
                    if (column is null || j == column.Docs.Length || column.Docs[j] != d) { keyed.Add(new SortEntry(s, d, false, 0, null, order)); continue; }
                    long best = column.Values[column.Start[j]];
                    for (int i = column.Start[j] + 1; i < column.Start[j + 1]; i++)
                    {
                        long v = column.Values[i];
                        // keyword ordinals are in string order within a segment, so comparing them compares the strings
                        if (descending ? v > best : v < best) best = v;
                    }
                    keyed.Add(type == FieldType.Keyword ? new SortEntry(s, d, true, 0, column.Terms![best], order) : new SortEntry(s, d, true, best, null, order));
                }
            }
        }
        var all = keyed.ToArray();
        Array.Sort(all, descending ? SortEntry.Descending : SortEntry.Ascending);
        return all.Length > k ? all[..k] : all;
    }

    /// <summary>Why a field cannot be counted or sorted by: it is text, or the index does not have it.</summary>
    public static string Unknown(string field, Schema schema) => schema.NoValuesReason(field, "count or sort by");
}

/// <summary>A matching document as a sort by field orders it: its segment and number, whether it has a value, the value
/// (a keyword's string, or another type's stored number, whose order is the field's) and the tie-break (document order).</summary>
internal readonly record struct SortEntry(int Segment, int Doc, bool Has, long Key, string? Word, long Tie)
{
    /// <summary>Documents with a value first, by value ascending, then by <see cref="Tie"/>.</summary>
    public static readonly Comparison<SortEntry> Ascending = (a, b) => Compare(a, b, false);

    /// <summary>Documents with a value first, by value descending, then by <see cref="Tie"/> (ascending).</summary>
    public static readonly Comparison<SortEntry> Descending = (a, b) => Compare(a, b, true);

    private static int Compare(in SortEntry a, in SortEntry b, bool descending)
    {
        if (a.Has != b.Has) return a.Has ? -1 : 1;
        if (a.Has)
        {
            int c = a.Word is not null || b.Word is not null ? string.CompareOrdinal(a.Word, b.Word) : a.Key.CompareTo(b.Key);
            if (c != 0) return descending ? -c : c;
        }
        return a.Tie.CompareTo(b.Tie);
    }
}

/// <summary>A facet's counts: per value (a keyword's string, or another type's stored number) how many matching
/// documents have it. Counts of several shards add up value by value.</summary>
internal sealed class FacetCounts(FieldType type)
{
    public FieldType Type { get; } = type;

    /// <summary>A keyword field's counts by string.</summary>
    public Dictionary<string, long> Words { get; } = new(StringComparer.Ordinal);

    /// <summary>Another type's counts by stored value.</summary>
    public Dictionary<long, long> Numbers { get; } = new();

    /// <summary>How many distinct values were counted.</summary>
    public int Distinct => Type == FieldType.Keyword ? Words.Count : Numbers.Count;

    public void Add(string word, long count) => Words[word] = Words.GetValueOrDefault(word) + count;

    public void Add(long value, long count) => Numbers[value] = Numbers.GetValueOrDefault(value) + count;

    /// <summary>The first <paramref name="n"/> values, most frequent first, ties by value (keywords in ordinal string
    /// order; other types in the field's order: numbers, dates, false before true): keywords in Words, others in
    /// Numbers, with their counts.</summary>
    public (string[]? Words, long[]? Numbers, long[] Counts) Top(int n)
    {
        if (Type == FieldType.Keyword)
        {
            var entries = new KeyValuePair<string, long>[Words.Count];
            int i = 0;
            foreach (var e in Words) entries[i++] = e;
            Array.Sort(entries, static (a, b) => a.Value != b.Value ? b.Value.CompareTo(a.Value) : string.CompareOrdinal(a.Key, b.Key));
            int m = Math.Min(n, entries.Length);
            var words = new string[m];
            var counts = new long[m];
            for (int j = 0; j < m; j++) (words[j], counts[j]) = (entries[j].Key, entries[j].Value);
            return (words, null, counts);
        }
        else
        {
            var entries = new KeyValuePair<long, long>[Numbers.Count];
            int i = 0;
            foreach (var e in Numbers) entries[i++] = e;
            Array.Sort(entries, static (a, b) => a.Value != b.Value ? b.Value.CompareTo(a.Value) : a.Key.CompareTo(b.Key));
            int m = Math.Min(n, entries.Length);
            var numbers = new long[m];
            var counts = new long[m];
            for (int j = 0; j < m; j++) (numbers[j], counts[j]) = (entries[j].Key, entries[j].Value);
            return (null, numbers, counts);
        }
    }

    /// <summary>The first <paramref name="size"/> values as <see cref="Top"/> orders them, formatted as a person reads them
    /// (only the shown ones formatted).</summary>
    public IReadOnlyList<(string Value, long Count)> Shown(int size)
    {
        var (words, numbers, counts) = Top(size);
        var result = new (string Value, long Count)[counts.Length];
        for (int i = 0; i < result.Length; i++)
            result[i] = (words is not null ? words[i] : Schema.Display(Type, numbers![i]), counts[i]);
        return result;
    }
}
