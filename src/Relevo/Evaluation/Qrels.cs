using System.Globalization;

namespace Relevo.Evaluation;

/// <summary>Relevance judgments: query id → (document id → grade). Reads TREC qrels (<c>qid iter docid grade</c>,
/// whitespace separated) and BEIR tsv (<c>query-id corpus-id score</c>, header optional); the layout is detected
/// from the first line. As in trec_eval, a negative grade means "in the pool but not judged".</summary>
public sealed class Qrels
{
    private readonly Dictionary<string, Dictionary<string, int>> _byQuery;
    private readonly string[] _queryIds;

    private Qrels(Dictionary<string, Dictionary<string, int>> byQuery, string? source)
    {
        _byQuery = byQuery;
        _queryIds = [.. byQuery.Keys];
        Array.Sort(_queryIds, StringComparer.Ordinal);
        Source = source;
    }

    /// <summary>The file the judgments came from, if any.</summary>
    public string? Source { get; }

    /// <summary>Judged query ids in ordinal (strcmp) order, the order trec_eval reports them.</summary>
    public IReadOnlyCollection<string> QueryIds => _queryIds;

    /// <summary>Number of (query, document) judgments.</summary>
    public int Count
    {
        get
        {
            int n = 0;
            foreach (var d in _byQuery.Values) n += d.Count;
            return n;
        }
    }

    /// <summary>The judgments of one query, or null when the query has none.</summary>
    public IReadOnlyDictionary<string, int>? ForQuery(string qid) =>
        _byQuery.TryGetValue(qid, out var d) ? d : null;

    internal Dictionary<string, int>? JudgmentsOf(string qid) => _byQuery.GetValueOrDefault(qid);

    /// <summary>Builds judgments in memory; a repeated (query, document) pair is an error.</summary>
    public static Qrels FromJudgments(IEnumerable<(string QueryId, string DocId, int Grade)> judgments)
    {
        var byQuery = new Dictionary<string, Dictionary<string, int>>(StringComparer.Ordinal);
        foreach (var (q, d, g) in judgments)
        {
            if (!byQuery.TryGetValue(q, out var docs))
                byQuery[q] = docs = new Dictionary<string, int>(StringComparer.Ordinal);
            if (!docs.TryAdd(d, g))
                throw new RelevoException($"judgments: document '{d}' is judged twice for query '{q}'");
        }
        return new Qrels(byQuery, null);
    }

    /// <summary>Reads a qrels file, TREC or BEIR layout (auto-detected).</summary>
    public static Qrels Load(string path)
    {
        if (!File.Exists(path))
            throw new RelevoException($"{path}: qrels file does not exist");
        using var reader = new StreamReader(path);
        return Parse(reader, path);
    }

    private enum Layout { Unknown, Trec, Beir }

    /// <summary>Reads qrels from a reader; <paramref name="source"/> names it in error messages.</summary>
    public static Qrels Parse(TextReader reader, string source)
    {
        var byQuery = new Dictionary<string, Dictionary<string, int>>(StringComparer.Ordinal);
        var layout = Layout.Unknown;
        Span<Range> fields = stackalloc Range[6];
        string? line;
        int lineNo = 0;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNo++;
            ReadOnlySpan<char> s = line.AsSpan().Trim();
            if (s.IsEmpty) continue;
            int n = SplitWhitespace(s, fields);
            if (layout == Layout.Unknown)
            {
                if (n == 3 && s[fields[0]].Equals("query-id", StringComparison.OrdinalIgnoreCase))
                {
                    layout = Layout.Beir;
                    continue; // header
                }
                if (n == 4 && IsGrade(s[fields[3]])) layout = Layout.Trec;
                else if (n == 3 && IsGrade(s[fields[2]])) layout = Layout.Beir;
                else
                    throw new RelevoException(
                        $"{source}:{lineNo}: qrels in neither TREC layout (qid iter docid grade) nor BEIR layout " +
                        $"(query-id corpus-id score, tab separated); found {n} field(s): '{Shorten(line)}'");
            }
            int want = layout == Layout.Trec ? 4 : 3;
            if (n != want)
                throw new RelevoException(
                    $"{source}:{lineNo}: expected {want} fields ({(layout == Layout.Trec ? "qid iter docid grade" : "query-id corpus-id score")}) as on the first line, found {n}: '{Shorten(line)}'");
            ReadOnlySpan<char> gradeText = s[fields[want - 1]];
            if (!TryParseGrade(gradeText, out int grade))
                throw new RelevoException($"{source}:{lineNo}: relevance grade '{gradeText}' is not an integer");
            string qid = s[fields[0]].ToString();
            string doc = s[fields[want - 2]].ToString();
            if (!byQuery.TryGetValue(qid, out var docs))
                byQuery[qid] = docs = new Dictionary<string, int>(StringComparer.Ordinal);
            if (!docs.TryAdd(doc, grade))
                throw new RelevoException($"{source}:{lineNo}: document '{doc}' is judged twice for query '{qid}'");
        }
        if (layout == Layout.Unknown)
            throw new RelevoException($"{source}: qrels file holds no judgments");
        return new Qrels(byQuery, source);
    }

    private static bool IsGrade(ReadOnlySpan<char> s) => TryParseGrade(s, out _);

    private static bool TryParseGrade(ReadOnlySpan<char> s, out int grade)
    {
        if (int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out grade)) return true;
        // "1.0" as written by some tools: accept integral values only
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) &&
            d == Math.Floor(d) && Math.Abs(d) < int.MaxValue)
        {
            grade = (int)d;
            return true;
        }
        return false;
    }

    /// <summary>Splits on spaces and tabs into at most fields.Length ranges; returns the true field count.</summary>
    internal static int SplitWhitespace(ReadOnlySpan<char> s, Span<Range> fields)
    {
        int count = 0, i = 0;
        while (i < s.Length)
        {
            while (i < s.Length && (s[i] == ' ' || s[i] == '\t')) i++;
            if (i >= s.Length) break;
            int start = i;
            while (i < s.Length && s[i] != ' ' && s[i] != '\t') i++;
            if (count < fields.Length) fields[count] = new Range(start, i);
            count++;
        }
        return count;
    }

    internal static string Shorten(string line) => line.Length <= 80 ? line : line[..77] + "...";
}
