using System.Globalization;

namespace Relevo.Evaluation;

/// <summary>A ranked run in memory: per query a list of (document id, score) in the order added. Evaluation
/// re-sorts it the way trec_eval does (score descending, ties by document id descending); <see cref="Write(TextWriter)"/>
/// keeps the stored order.</summary>
public sealed class TrecRun
{
    internal sealed class Ranking
    {
        public readonly List<string> Docs;
        public readonly List<double> Scores;
        public readonly List<int> Hashes; // Evaluator.FastHash of each doc id, computed once on add
        public Ranking(int capacity = 0)
        {
            Docs = new List<string>(capacity);
            Scores = new List<double>(capacity);
            Hashes = new List<int>(capacity);
        }
    }

    private readonly Dictionary<string, Ranking> _queries = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];

    /// <summary>An empty run with a tag (one word).</summary>
    public TrecRun(string tag = "relevo")
    {
        if (string.IsNullOrWhiteSpace(tag) || tag.AsSpan().IndexOfAny(' ', '\t') >= 0)
            throw new ArgumentException("a run tag must be one non-empty word", nameof(tag));
        Tag = tag;
    }

    /// <summary>The run tag (last column of a TREC run line).</summary>
    public string Tag { get; }

    /// <summary>The file the run was read from, if any.</summary>
    public string? Source { get; private init; }

    /// <summary>Query ids in the order they were first added.</summary>
    public IReadOnlyCollection<string> QueryIds => _order;

    /// <summary>Total number of (query, document) entries.</summary>
    public int Count
    {
        get
        {
            int n = 0;
            foreach (var r in _queries.Values) n += r.Docs.Count;
            return n;
        }
    }

    /// <summary>Appends one scored document to a query's list.</summary>
    public void Add(string qid, string docId, double score)
    {
        ArgumentNullException.ThrowIfNull(qid);
        ArgumentNullException.ThrowIfNull(docId);
        var r = GetOrCreate(qid, 0);
        r.Docs.Add(docId);
        r.Scores.Add(score);
        r.Hashes.Add(Evaluator.FastHash(docId));
    }

    /// <summary>Appends a whole ranking for a query.</summary>
    public void AddRanking(string qid, IReadOnlyList<(string DocId, double Score)> ranked)
    {
        ArgumentNullException.ThrowIfNull(qid);
        ArgumentNullException.ThrowIfNull(ranked);
        var r = GetOrCreate(qid, ranked.Count);
        for (int i = 0; i < ranked.Count; i++)
        {
            ArgumentNullException.ThrowIfNull(ranked[i].DocId);
            r.Docs.Add(ranked[i].DocId);
            r.Scores.Add(ranked[i].Score);
            r.Hashes.Add(Evaluator.FastHash(ranked[i].DocId));
        }
    }

    /// <summary>The stored (document, score) list of a query, in stored order; empty when the query is absent.</summary>
    public IReadOnlyList<(string DocId, double Score)> ForQuery(string qid)
    {
        if (!_queries.TryGetValue(qid, out var r)) return [];
        var list = new (string, double)[r.Docs.Count];
        for (int i = 0; i < list.Length; i++) list[i] = (r.Docs[i], r.Scores[i]);
        return list;
    }

    internal Ranking? RankingOf(string qid) => _queries.GetValueOrDefault(qid);

    private Ranking GetOrCreate(string qid, int capacity)
    {
        if (!_queries.TryGetValue(qid, out var r))
        {
            _queries[qid] = r = new Ranking(capacity);
            _order.Add(qid);
        }
        return r;
    }

    /// <summary>Reads a TREC run (<c>qid Q0 docid rank score tag</c>). Every line must have six fields and a numeric
    /// score, and no query may list a document twice; errors name the file and line.</summary>
    public static TrecRun Load(string path)
    {
        if (!File.Exists(path))
            throw new RelevoException($"{path}: run file does not exist");
        using var reader = new StreamReader(path);
        return Parse(reader, path);
    }

    /// <summary>Reads a TREC run from a reader; <paramref name="source"/> names it in error messages.</summary>
    public static TrecRun Parse(TextReader reader, string source)
    {
        TrecRun? run = null;
        var pool = new Dictionary<string, string>(StringComparer.Ordinal);
        var poolLookup = pool.GetAlternateLookup<ReadOnlySpan<char>>();
        var seen = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var seenLookup = seen.GetAlternateLookup<ReadOnlySpan<char>>();
        Span<Range> f = stackalloc Range[7];
        string? line;
        int lineNo = 0;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNo++;
            ReadOnlySpan<char> s = line.AsSpan().Trim();
            if (s.IsEmpty) continue;
            int n = Qrels.SplitWhitespace(s, f);
            if (n != 6)
                throw new RelevoException(
                    $"{source}:{lineNo}: a run line needs 6 fields (qid Q0 docid rank score tag), found {n}: '{Qrels.Shorten(line)}'");
            ReadOnlySpan<char> scoreText = s[f[4]];
            if (!double.TryParse(scoreText, NumberStyles.Float, CultureInfo.InvariantCulture, out double score) || double.IsNaN(score))
                throw new RelevoException($"{source}:{lineNo}: score '{scoreText}' is not a number");
            ReadOnlySpan<char> qidSpan = s[f[0]];
            if (!seenLookup.TryGetValue(qidSpan, out string? qid, out var docsSeen))
            {
                qid = qidSpan.ToString();
                docsSeen = new HashSet<string>(StringComparer.Ordinal);
                seen[qid] = docsSeen;
            }
            ReadOnlySpan<char> docSpan = s[f[2]];
            if (!poolLookup.TryGetValue(docSpan, out string? doc))
            {
                doc = docSpan.ToString();
                pool[doc] = doc;
            }
            if (!docsSeen.Add(doc))
                throw new RelevoException($"{source}:{lineNo}: document '{doc}' appears twice for query '{qid}'");
            run ??= new TrecRun(s[f[5]].ToString()) { Source = source };
            run.Add(qid, doc, score);
        }
        return run ?? new TrecRun() { Source = source };
    }

    /// <summary>Writes <c>qid Q0 docid rank score tag</c> lines, ranks 1..n in stored order, scores round-trip exact.</summary>
    public void Write(TextWriter writer)
    {
        foreach (string qid in _order)
        {
            var r = _queries[qid];
            for (int i = 0; i < r.Docs.Count; i++)
            {
                writer.Write(qid);
                writer.Write(" Q0 ");
                writer.Write(r.Docs[i]);
                writer.Write(' ');
                writer.Write((i + 1).ToString(CultureInfo.InvariantCulture));
                writer.Write(' ');
                writer.Write(r.Scores[i].ToString("R", CultureInfo.InvariantCulture));
                writer.Write(' ');
                writer.WriteLine(Tag);
            }
        }
    }

    /// <summary>Writes the run to a file (see <see cref="Write(TextWriter)"/>).</summary>
    public void Write(string path)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        using var w = new StreamWriter(path) { NewLine = "\n" };
        Write(w);
    }
}
