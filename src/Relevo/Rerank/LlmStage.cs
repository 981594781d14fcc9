using System.Globalization;
using Relevo.Pipelines;
using Relevo.Search;

namespace Relevo.Rerank;

/// <summary>A reranking stage: takes the incoming ranking's top <see cref="Top"/>, reorders them, and keeps the rest
/// below in their incoming order. Every candidate comes out exactly once; the final scores are rank-based
/// (count − position) so run files sort as ranked; the stage's own scores (e.g. expected relevance) are recorded in
/// the ranking's per-stage scores.</summary>
public abstract class RerankStage : Stage
{
    public int Top { get; }
    protected RerankStage(int top) => Top = top;

    protected abstract string Name { get; }

    /// <summary>The new order of the head as indices into <paramref name="head"/>, and each head item's stage score.</summary>
    protected abstract (int[] Order, float[] Scores) Rerank(string query, IReadOnlyList<SearchHit> head, SearchContext ctx);

    public override PipelineState Run(PipelineState state, SearchContext ctx, int depth)
    {
        var ranking = state.Ranking ?? throw new RelevoException($"{Name} needs a ranking before it (e.g. bm25 >> {Name})");
        var hits = ranking.Hits;
        int n = Math.Min(Top, hits.Count);
        var head = new SearchHit[n];
        for (int i = 0; i < n; i++) head[i] = hits[i];
        var (order, scores) = n == 0 ? ([], []) : Rerank(state.Query.Text, head, ctx);
        order = CheckPermutation(order, n);
        var result = new List<SearchHit>(hits.Count);
        var own = new List<SearchHit>(n);
        foreach (int i in order)
        {
            result.Add(head[i] with { Score = hits.Count - result.Count });
            own.Add(head[i] with { Score = scores[i] });
        }
        for (int i = n; i < hits.Count; i++) result.Add(hits[i] with { Score = hits.Count - result.Count });
        var stages = new List<StageScores>(ranking.Stages);
        stages.Add(StageScores.Of(RetrieverStage.UniqueName(Text, stages), own));
        return state with { Ranking = new Ranking(result, stages) };
    }

    /// <summary>Guards the invariant (each head item exactly once) whatever a subclass returned.</summary>
    private static int[] CheckPermutation(int[] order, int n)
    {
        var seen = new bool[n];
        var fixedOrder = new List<int>(n);
        foreach (int i in order)
            if (i >= 0 && i < n && !seen[i]) { seen[i] = true; fixedOrder.Add(i); }
        for (int i = 0; i < n; i++) if (!seen[i]) fixedOrder.Add(i);
        return fixedOrder.ToArray();
    }

    /// <summary>Indices 0..n-1 sorted by score, descending; ties keep the incoming order.</summary>
    protected static int[] ByScore(float[] scores)
    {
        var idx = Enumerable.Range(0, scores.Length).ToArray();
        return idx.OrderByDescending(i => scores[i]).ThenBy(i => i).ToArray();
    }

    /// <summary>Scores that express a new order: first gets n, last 1.</summary>
    protected static float[] RankScores(int[] order)
    {
        var s = new float[order.Length];
        for (int r = 0; r < order.Length; r++) s[order[r]] = order.Length - r;
        return s;
    }
}

/// <summary>A stage that calls the chat endpoint: passages are fetched from the index; criteria (REBEL) name what
/// to rank by beyond topical relevance.</summary>
public abstract class LlmStage(int top, IReadOnlyList<Criterion> criteria) : RerankStage(top)
{
    public IReadOnlyList<Criterion> Criteria { get; } = criteria;
    public static readonly IReadOnlyList<Criterion> DefaultCriteria = [new("relevance", 1)];

    protected static LlmClient Client(SearchContext ctx) => ctx.Llm ?? throw new RelevoException(LlmSettings.Missing);

    protected static string[] Passages(IReadOnlyList<SearchHit> head, SearchContext ctx)
    {
        var p = new string[head.Count];
        for (int i = 0; i < p.Length; i++)
            p[i] = Prompts.Passage(ctx.Reader.Segments[head[i].Segment].GetDocument(head[i].Doc));
        return p;
    }

    /// <summary>Canonical arguments: the given ones without defaults, then criteria and top.</summary>
    protected string Format(params (string Key, string? Value)[] args)
    {
        var parts = args.Where(a => a.Value is not null).Select(a => $"{a.Key}={a.Value}").ToList();
        if (!Prompts.IsPlainRelevance(Criteria))
            parts.Add("criteria=[" + string.Join(",", Criteria.Select(c => $"{c.Name}:{Num(c.Weight)}")) + "]");
        if (Top != 100) parts.Add($"top={Top}");
        return parts.Count == 0 ? Name : $"{Name}({string.Join(",", parts)})";
    }

    protected static string? NotDefault(int v, int dflt) => v == dflt ? null : v.ToString(CultureInfo.InvariantCulture);
    protected static string? NotDefault(bool v, bool dflt) => v == dflt ? null : v ? "true" : "false";
}
