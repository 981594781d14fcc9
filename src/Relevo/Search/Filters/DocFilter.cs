using System.Globalization;
using Relevo.Index;
using Relevo.Index.Values;
using Relevo.Search.Syntax;

namespace Relevo.Search.Filters;

/// <summary>A filter compiled against one commit: per segment, the documents a search must skip — deleted ones and
/// those the filter does not match — as a bitset the scorers read where they read deletions. Filters decide which
/// documents may be hits; they never change a score or the collection statistics (as Lucene's FILTER clauses).
/// The filter is written in the Lucene classic syntax over typed fields: <c>lang:en</c>, <c>year:[2015 TO 2020]</c>,
/// <c>date:{2020-01-01 TO *]</c>, <c>+open:true -tags:retracted</c>, <c>lang:(en OR de)</c>; a keyword matches exactly
/// (case included), a range compares numbers, dates or (keywords) ordinal strings. A filter of only excluded clauses
/// keeps everything else. Compiled filters are cached per commit (at most <see cref="Pipelines.SearcherCache{TKey, TSearcher}.Capacity"/>,
/// the least recently used evicted), each one bit per document.</summary>
internal sealed class DocFilter
{
    /// <summary>The filter's text as given.</summary>
    public string Text { get; }

    /// <summary>Per segment: the documents to skip (deleted or not matching); the count is how many.</summary>
    public IReadOnlyList<DeletedDocs> Excluded { get; }

    /// <summary>Documents that match and are live, over the commit.</summary>
    public long Matching { get; }

    private DocFilter(string text, IReadOnlyList<DeletedDocs> excluded, long matching)
    {
        Text = text;
        Excluded = excluded;
        Matching = matching;
    }

    /// <summary>The compiled filter of a commit for <paramref name="text"/> (cached per commit); null for null or blank.</summary>
    public static DocFilter? For(IndexReader reader, string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var cache = reader.Component("filters", _ => new Pipelines.SearcherCache<string, DocFilter>());
        return cache.Get(text, t => Compile(reader, t));
    }

    /// <summary>A filter given as its per-segment skip sets (a query's excluded clauses added to a filter's).</summary>
    internal static DocFilter Of(string text, IReadOnlyList<DeletedDocs> excluded)
    {
        long matching = 0;
        foreach (var e in excluded) matching += e.MaxDoc - e.Count;
        return new DocFilter(text, excluded, matching);
    }

    /// <summary>Parses and checks a filter without an index (the syntax only); a <see cref="QuerySyntaxException"/> with
    /// the column when it does not parse.</summary>
    public static QueryNode Parse(string text)
    {
        try
        {
            var node = QueryParser.Parse(text);
            if (Leaves(node) > MaxClauses)
                throw new RelevoException($"filter: more than {MaxClauses} clauses; group values of one field in a range where you can");
            return node;
        }
        catch (QuerySyntaxException e)
        {
            throw new RelevoException(e.Message.StartsWith("query column", StringComparison.Ordinal) ? "filter" + e.Message["query".Length..] : "filter: " + e.Message, e);
        }
    }

    private static int Leaves(QueryNode node) => node is BooleanNode b ? b.Clauses.Sum(c => Leaves(c.Node)) : 1;

    private static DocFilter Compile(IndexReader reader, string text)
    {
        var node = Parse(text);
        var values = ValuesView.Of(reader);
        var excluded = new DeletedDocs[reader.Segments.Count];
        long matching = 0;
        for (int s = 0; s < excluded.Length; s++)
        {
            var seg = reader.Segments[s];
            var bits = Match(node, values.Schema, values.Segments[s], seg.MaxDoc);
            // skip = deleted or not matching, a word at a time
            var skip = seg.Deletes.Bits();
            for (int w = 0; w < bits.Length; w++) skip[w] |= ~bits[w];
            int tail = seg.MaxDoc & 63;
            if (tail != 0 && skip.Length > 0) skip[^1] &= (1UL << tail) - 1;
            excluded[s] = DeletedDocs.FromBits(seg.MaxDoc, skip);
            matching += seg.MaxDoc - excluded[s].Count;
        }
        return new DocFilter(text, excluded, matching);
    }

    /// <summary>The documents of one segment the node matches, as a bitset.</summary>
    private static ulong[] Match(QueryNode node, Schema schema, IReadOnlyDictionary<string, ValueColumn> columns, int maxDoc)
    {
        int words = (maxDoc + 63) >> 6;
        switch (node)
        {
            case BooleanNode b:
            {
                ulong[]? must = null, should = null;
                var not = new ulong[words];
                bool anyShould = false, anyMust = false;
                foreach (var c in b.Clauses)
                {
                    var m = Match(c.Node, schema, columns, maxDoc);
                    switch (c.Occur)
                    {
                        case Occur.Must:
                            anyMust = true;
                            if (must is null) must = m; else for (int w = 0; w < words; w++) must[w] &= m[w];
                            break;
                        case Occur.Should:
                            anyShould = true;
                            if (should is null) should = m; else for (int w = 0; w < words; w++) should[w] |= m[w];
                            break;
                        default:
                            for (int w = 0; w < words; w++) not[w] |= m[w];
                            break;
                    }
                }
                ulong[] result;
                if (anyMust) result = must!; // SHOULD clauses beside a MUST only score, and a filter does not score
                else if (anyShould) result = should!;
                else result = All(maxDoc); // only excluded clauses: everything else
                for (int w = 0; w < words; w++) result[w] &= ~not[w];
                return result;
            }
            case TermNode t:
                return Equal(Column(t.Field, t.Column, schema, columns, maxDoc, out var type), type, t.Text, t.Field!, t.Column, maxDoc);
            case PhraseNode p:
                if (p.Slop != 0) throw Error(p.Column, $"a filter on '{p.Field}' matches a value exactly; a slop means nothing there");
                return Equal(Column(p.Field, p.Column, schema, columns, maxDoc, out var ptype), ptype, p.Text, p.Field!, p.Column, maxDoc);
            case RangeNode r:
                return Range(Column(r.Field, r.Column, schema, columns, maxDoc, out var rtype), rtype, r, maxDoc);
            default:
                throw Error(node.Column, "this kind of clause cannot be a filter");
        }
    }

    private static ulong[] All(int maxDoc)
    {
        var bits = new ulong[(maxDoc + 63) >> 6];
        Array.Fill(bits, ulong.MaxValue);
        if ((maxDoc & 63) != 0) bits[^1] = (1UL << (maxDoc & 63)) - 1;
        return bits;
    }

    private static ValueColumn? Column(string? field, int column, Schema schema, IReadOnlyDictionary<string, ValueColumn> columns, int maxDoc, out FieldType type)
    {
        if (field is null) throw Error(column, "a filter clause names its field (field:value)");
        type = schema.ValueTypeOf(field) ?? throw Error(column, schema.NoValuesReason(field, "filter on"));
        return columns.TryGetValue(field, out var c) ? c : null; // a segment without the field: no document has it
    }

    private static ulong[] Equal(ValueColumn? column, FieldType type, string text, string field, int at, int maxDoc)
    {
        var bits = new ulong[(maxDoc + 63) >> 6];
        if (column is null) return bits;
        if (type == FieldType.Keyword)
        {
            int ord = column.Ordinal(text);
            if (ord >= 0) Mark(column, bits, ord, ord);
            return bits;
        }
        var (lo, hi) = ValueOf(type, text, field, at);
        Mark(column, bits, lo, hi);
        return bits;
    }

    private static ulong[] Range(ValueColumn? column, FieldType type, RangeNode r, int maxDoc)
    {
        var bits = new ulong[(maxDoc + 63) >> 6];
        long lo = long.MinValue, hi = long.MaxValue;
        if (type == FieldType.Keyword)
        {
            if (column is null) return bits;
            if (r.Lower is not null) lo = column.LowerOrdinal(r.Lower, r.IncludeLower);
            if (r.Upper is not null) hi = column.LowerOrdinal(r.Upper, !r.IncludeUpper) - 1;
        }
        else
        {
            // a date names a period (a year, a day, an instant): an inclusive end takes all of it, an exclusive end
            // none of it, as Elasticsearch rounds date ranges
            if (r.Lower is not null)
            {
                var (first, last) = ValueOf(type, r.Lower, r.Field, r.Column);
                long v = r.IncludeLower ? first : last;
                if (!r.IncludeLower) { if (v == long.MaxValue) return bits; v++; }
                lo = v;
            }
            if (r.Upper is not null)
            {
                var (first, last) = ValueOf(type, r.Upper, r.Field, r.Column);
                long v = r.IncludeUpper ? last : first;
                if (!r.IncludeUpper) { if (v == long.MinValue) return bits; v--; }
                hi = v;
            }
            if (column is null) return bits;
        }
        if (lo > hi) return bits;
        Mark(column, bits, lo, hi);
        return bits;
    }

    /// <summary>Sets the bit of each document with a value in [lo, hi] (the documents that have values only).</summary>
    private static void Mark(ValueColumn column, ulong[] bits, long lo, long hi)
    {
        var docs = column.Docs;
        var start = column.Start;
        var values = column.Values;
        for (int k = 0; k < docs.Length; k++)
            for (int i = start[k]; i < start[k + 1]; i++)
            {
                long v = values[i];
                if (v >= lo && v <= hi)
                {
                    bits[docs[k] >> 6] |= 1UL << (docs[k] & 63);
                    break;
                }
            }
    }

    /// <summary>A value of a typed field as written in a filter, as the first and last stored values it stands for: one
    /// value, or for a date written as a day or a year, every millisecond of that day or year.</summary>
    private static (long First, long Last) ValueOf(FieldType type, string text, string field, int column)
    {
        switch (type)
        {
            case FieldType.Integer:
                if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l)) return (l, l);
                break;
            case FieldType.Float:
                if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d))
                    return (Schema.SortableBits(d), Schema.SortableBits(d));
                break;
            case FieldType.Date:
                if (text.Length == 4 && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int year) && year >= 1)
                {
                    var from = new DateTimeOffset(year, 1, 1, 0, 0, 0, TimeSpan.Zero);
                    long last = year < 9999 ? from.AddYears(1).ToUnixTimeMilliseconds() - 1 : Schema.MaxMillis;
                    return (from.ToUnixTimeMilliseconds(), last);
                }
                if (Schema.TryDate(text, out long ms))
                    return text.Length == 10 ? (ms, Math.Min(ms + 86_400_000 - 1, Schema.MaxMillis)) : (ms, ms); // a day, or an instant
                break;
            case FieldType.Boolean:
                if (text is "true") return (1, 1);
                if (text is "false") return (0, 0);
                break;
        }
        string article = type is FieldType.Integer ? "an" : "a";
        throw Error(column, $"'{field}' is {article} {Schema.Name(type)} field, and '{text}' is not {article} {Schema.Name(type)}" +
                            (type == FieldType.Date ? " (write yyyy, yyyy-MM-dd, or a date-time in quotes)" : ""));
    }

    /// <summary>Most clauses (terms, phrases, ranges) one filter may hold: each costs a pass over its field's values.</summary>
    public const int MaxClauses = 256;

    private static RelevoException Error(int column, string message) => new($"filter column {column}: {message}");
}
