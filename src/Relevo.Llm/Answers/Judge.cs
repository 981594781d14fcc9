using System.Globalization;
using System.Text.RegularExpressions;
using Relevo.Evaluation;

namespace Relevo.Llm;

/// <summary>LLM relevance judgments, graded 0–3 with an UMBRELA-style prompt, for the top <c>depth</c> documents of
/// each query of one or more runs (pooled). Pairs whose call failed or whose reply has no grade are left unjudged and
/// counted.</summary>
internal static partial class Judge
{
    public static string Prompt(string query, string passage) =>
        "Given a query and a passage, you must provide a score on an integer scale of 0 to 3 with the following meanings:\n" +
        "0 = represent that the passage has nothing to do with the query,\n" +
        "1 = represents that the passage seems related to the query but does not answer it,\n" +
        "2 = represents that the passage has some answer for the query, but the answer may be a bit unclear, or hidden amongst extraneous information and\n" +
        "3 = represents that the passage is dedicated to the query and contains the exact answer.\n\n" +
        "Important instruction: assign category 1 if the passage is somewhat related to the topic but not completely, category 2 if the passage " +
        "presents something very important related to the entire topic but also has some extra information, and category 3 if the passage only " +
        "and entirely refers to the topic. If none of the above satisfies give it category 0.\n\n" +
        $"Query: {query}\nPassage: {passage}\n\n" +
        "Split this problem into steps: consider the underlying intent of the search; measure how well the content matches a likely intent of the " +
        "query (M); measure how trustworthy the passage is (T); consider the aspects above and the relative importance of each, and decide on a final " +
        "score (O). Final score must be an integer value only. Do not provide any code in result. Provide each score in the format of: ##final score: score without providing any reasoning.";

    /// <summary>The grade in a reply: "##final score: 2", else the first digit 0–3 in the text.</summary>
    public static int? ParseGrade(string text)
    {
        var m = Final().Match(text);
        if (m.Success) return int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return Prompts.FirstNumber(text, 0, 3);
    }

    [GeneratedRegex(@"final score:\s*\**\s*([0-3])", RegexOptions.IgnoreCase)]
    private static partial Regex Final();

    public sealed record Result(List<(string QueryId, string DocId, int Grade)> Judgments, int Unjudged);

    public static Result Run(SearchIndex index, IReadOnlyDictionary<string, string> queries, IReadOnlyList<TrecRun> runs, int depth, LlmClient llm)
    {
        var pairs = new List<(string Q, string D)>();
        var seen = new HashSet<(string, string)>();
        foreach (var run in runs)
            foreach (var qid in run.QueryIds)
            {
                if (!queries.ContainsKey(qid)) continue;
                foreach (var (doc, _) in run.ForQuery(qid).Take(depth))
                    if (seen.Add((qid, doc))) pairs.Add((qid, doc));
            }
        var requests = new List<LlmRequest>(pairs.Count);
        var kept = new List<(string Q, string D)>(pairs.Count);
        int unjudged = 0;
        foreach (var (q, d) in pairs)
        {
            var doc = index.GetDocumentAsync(d).GetAwaiter().GetResult();
            if (doc is null) { unjudged++; continue; }
            kept.Add((q, d));
            requests.Add(new LlmRequest(null, Prompt(queries[q], Prompts.Passage(doc, 300)), MaxTokens: 100));
        }
        var replies = llm.CompleteAll(requests);
        var judgments = new List<(string, string, int)>(kept.Count);
        for (int i = 0; i < kept.Count; i++)
        {
            if (replies[i] is { } r && ParseGrade(r.Text) is { } g) judgments.Add((kept[i].Q, kept[i].D, g));
            else
            {
                unjudged++;
                if (replies[i] is not null) llm.Stats.Repair();
            }
        }
        return new Result(judgments, unjudged);
    }

    /// <summary>TREC qrels lines: "qid 0 docid grade".</summary>
    public static void Write(TextWriter w, IEnumerable<(string QueryId, string DocId, int Grade)> judgments)
    {
        foreach (var (q, d, g) in judgments) w.Write($"{q} 0 {d} {g.ToString(CultureInfo.InvariantCulture)}\n");
    }
}
