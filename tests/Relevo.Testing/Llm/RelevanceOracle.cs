using System.Text;
using Relevo.Collections;
using Relevo.Evaluation;
using Relevo.Dense;
using Relevo.Llm;

namespace Relevo.Testing;

/// <summary>Answers every prompt of the LLM stages from a grade function (query text, passage text) → 0..3, the way a
/// perfect model would: pointwise digits with log-probabilities, permutations, tournament winners, group scores.</summary>
internal static class Oracle
{
    public static ChatAnswer Answer(ChatCall call, Func<string, string, int> grade)
    {
        string p = call.Prompt;
        string query = Field(p, "Search query: ") ?? Field(p, "Query: ") ?? Field(p, "Question: ") ?? "";
        if (p.StartsWith("Answer the question", StringComparison.Ordinal))
        {
            // cites the relevant passages it was given, and one id it was not given
            var cited = Bracketed(p).Where(x => grade(query, Cut(x.Text)) > 0).Select(x => $"[{x.Id}]");
            return new ChatAnswer($"The evidence says so {string.Join(" ", cited)} and more [not-a-doc].");
        }
        if (p.Contains("##final score", StringComparison.Ordinal))
            return new ChatAnswer($"##final score: {(grade(query, Cut(Field(p, "Passage: ") ?? "")) > 0 ? 3 : 0)}");
        if (p.Contains("On a scale from 0", StringComparison.Ordinal))
        {
            int g = grade(query, Field(p, "Passage: ") ?? "");
            return g > 0
                ? new ChatAnswer("10", [[("10", -0.05), ("9", -3.5), ("1", -5)]])
                : new ChatAnswer("1", [[("1", -0.1), ("0", -2.4), ("2", -4)]]);
        }
        if (p.StartsWith("Write a short passage", StringComparison.Ordinal))
        {
            // with feedback passages (llm.expand(prf=N)), a perfect model writes from the relevant ones
            var relevant = Bracketed(p).Where(x => grade(query, x.Text) > 0).Select(x => x.Text).ToList();
            return new ChatAnswer(relevant.Count > 0 ? string.Join(' ', relevant) : "A pseudo-document: " + query);
        }
        var passages = Bracketed(p);
        var grades = passages.Select(x => grade(query, x.Text)).ToList();
        var byGrade = Enumerable.Range(0, passages.Count).OrderByDescending(i => grades[i]).ThenBy(i => i).ToList();
        if (p.Contains("passages above", StringComparison.Ordinal))
        {
            bool letters = p.Contains("format A > C > B", StringComparison.Ordinal);
            string text = string.Join(" > ", byGrade.Select(i => letters ? passages[i].Id : $"[{passages[i].Id}]"));
            if (!letters) return new ChatAnswer(text);
            var first = byGrade.Select((i, r) => (passages[i].Id, grades[i] > 0 ? -0.1 - 0.01 * r : -5 - 0.1 * r)).ToList();
            return new ChatAnswer(text, [first]);
        }
        if (p.Contains("Which of these passages is the best", StringComparison.Ordinal))
        {
            string id = $"[{passages[byGrade[0]].Id}]";
            return new ChatAnswer(p.Contains("<think>", StringComparison.Ordinal) ? $"<think>It answers the query.</think><answer>{id}</answer>" : id);
        }
        if (p.Contains("Score each passage", StringComparison.Ordinal))
        {
            var sb = new StringBuilder();
            for (int i = 0; i < passages.Count; i++) sb.Append($"[{passages[i].Id}]: {(grades[i] > 0 ? 9 : 1)}\n");
            return new ChatAnswer(sb.ToString());
        }
        return new ChatAnswer("I do not know this prompt.");
    }

    /// <summary>ask and judge show 300 words; the grade function knows passages as the rerankers show them (120).</summary>
    private static string Cut(string passage) => Prompts.Passage(new Document("", "", passage));

    public static string? Field(string prompt, string label)
    {
        int i = prompt.IndexOf(label, StringComparison.Ordinal);
        if (i < 0) return null;
        i += label.Length;
        int end = prompt.IndexOf('\n', i);
        return (end < 0 ? prompt[i..] : prompt[i..end]).Trim();
    }

    /// <summary>"[id] text" lines.</summary>
    public static List<(string Id, string Text)> Bracketed(string prompt)
    {
        var list = new List<(string, string)>();
        foreach (var line in prompt.Split('\n'))
        {
            if (line.Length < 3 || line[0] != '[') continue;
            int close = line.IndexOf("] ", StringComparison.Ordinal);
            if (close < 0) continue;
            list.Add((line[1..close], line[(close + 2)..]));
        }
        return list;
    }
}

/// <summary>SciFact indexed once for BM25 (about a second), with its judged queries, qrels and a grade function that
/// knows the qrels: the oracle for end-to-end reranker tests.</summary>
public sealed class SciFactLlmFixture() : DatasetLlmFixture("scifact");

/// <summary>Vaswani, the same way.</summary>
public sealed class VaswaniLlmFixture() : DatasetLlmFixture("vaswani");

/// <summary>A collection indexed once for BM25, with its judged queries, qrels and a grade function that knows the
/// qrels.</summary>
public abstract class DatasetLlmFixture : IDisposable
{
    private readonly TempDir _dir = new();
    public string IndexDir => _dir.Path;
    public Qrels Qrels { get; }
    public List<(string Id, string Text)> Queries { get; }
    private readonly SearchIndex _index;
    private readonly Dictionary<string, string> _qidByText = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _relevantPassages = new(StringComparer.Ordinal);

    protected DatasetLlmFixture(string dataset)
    {
        var ds = TestData.Dataset(dataset);
        using (var w = SearchIndex.OpenWriter(_dir.Path))
        {
            w.AddCorpus(ds.CorpusPath);
            w.Commit();
        }
        _index = SearchIndex.Open(_dir.Path);
        Qrels = Qrels.Load(ds.QrelsPath);
        var judged = new HashSet<string>(Qrels.QueryIds, StringComparer.Ordinal);
        Queries = JsonlReader.ReadQueries(ds.QueriesPath).FindAll(q => judged.Contains(q.Id));
        foreach (var (id, text) in Queries)
        {
            _qidByText.TryAdd(text.Trim(), id);
            var set = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (doc, g) in Qrels.ForQuery(id)!)
                if (g > 0 && _index.GetDocumentAsync(doc).GetAwaiter().GetResult() is { } d) set.Add(Prompts.Passage(d));
            _relevantPassages[id] = set;
        }
    }

    /// <summary>1 when the passage is a judged-relevant document of the query, else 0.</summary>
    public int Grade(string query, string passage) =>
        _qidByText.TryGetValue(query.Trim(), out var qid) && _relevantPassages[qid].Contains(passage.Trim()) ? 1 : 0;

    /// <summary>The judged-relevant document ids of a query given by its text (none for an unknown text).</summary>
    public IReadOnlySet<string> RelevantIds(string query)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        if (_qidByText.TryGetValue(query.Trim(), out var qid))
            foreach (var (doc, g) in Qrels.ForQuery(qid)!)
                if (g > 0) ids.Add(doc);
        return ids;
    }

    /// <summary>The index opened with LLM stages that call <paramref name="llm"/> (none: they fail when run).</summary>
    internal SearchIndex Open(LlmClient? llm) =>
        SearchIndex.Open(IndexDir, new SearchIndexOptions { Extensions = [new LlmExtension(llm), new DenseExtension()] });

    /// <summary>The BM25 index searched without LLM stages.</summary>
    public SearchIndex Index => _index;

    public double Ndcg10(TrecRun run) => new Evaluator(Qrels).Evaluate(run, ["ndcg_cut_10"]).Mean("ndcg_cut_10");

    public void Dispose()
    {
        _index.Dispose();
        _dir.Dispose();
    }
}
