namespace Relevo.Pipelines;

/// <summary>A reranking stage: takes the incoming ranking's top <see cref="Top"/>, reorders them, and keeps the rest
/// below in their incoming order. Every candidate comes out exactly once; the final scores are rank-based
/// (count − position) so run files sort as ranked; the stage's own scores (e.g. expected relevance) become its column
/// in the ranking.</summary>
public abstract class RerankStage : Stage
{
    /// <summary>The most candidates a reranker takes.</summary>
    public const int MaxTop = 1000;

    /// <summary>A reranker of the incoming top <paramref name="top"/>.</summary>
    protected RerankStage(int top) => Top = top;

    /// <summary>How many of the incoming hits are reranked.</summary>
    public int Top { get; }

    /// <summary>The stage's name in messages ("rerank", "llm.pointwise").</summary>
    protected abstract string Name { get; }

    /// <summary>The new order of the head as indices into <paramref name="head"/>, and each head item's stage score.</summary>
    protected abstract ValueTask<(int[] Order, float[] Scores)> RerankAsync(string query, IReadOnlyList<Hit> head, StageContext context);

    /// <inheritdoc/>
    public override async ValueTask<PipelineState> RunAsync(PipelineState state, StageContext context, int depth)
    {
        var ranking = state.Ranking ?? throw new RelevoException($"{Name} needs a ranking before it (e.g. bm25 >> {Name})");
        var hits = ranking.Hits;
        int n = Math.Min(Top, hits.Count);
        var head = new Hit[n];
        for (int i = 0; i < n; i++) head[i] = hits[i];
        var (order, scores) = n == 0 ? ([], []) : await RerankAsync(state.Query.Text, head, context).ConfigureAwait(false);
        order = CheckPermutation(order, n);
        var full = new int[hits.Count];
        var rankScores = new float[hits.Count];
        var own = new float[hits.Count];
        for (int i = 0; i < full.Length; i++)
        {
            full[i] = i < n ? order[i] : i;
            rankScores[i] = hits.Count - i;
            own[i] = i < n ? scores[order[i]] : float.NaN;
        }
        return state with { Ranking = ranking.Reordered(full, rankScores, Text, own) };
    }

    /// <summary>This reranker's score for every hit, whatever its depth, in the hits' order (a feature column for
    /// learning to rank).</summary>
    internal async ValueTask<float[]> ScoreAllAsync(string query, IReadOnlyList<Hit> hits, StageContext context)
    {
        if (hits.Count == 0) return [];
        var (_, scores) = await RerankAsync(query, hits, context).ConfigureAwait(false);
        if (scores.Length != hits.Count) throw new RelevoException($"{Text}: gave {scores.Length} scores for {hits.Count} candidates");
        return scores;
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
        var idx = new int[scores.Length];
        for (int i = 0; i < idx.Length; i++) idx[i] = i;
        Array.Sort(idx, (a, b) =>
        {
            int c = scores[b].CompareTo(scores[a]); // NaN lowest, as float.CompareTo orders it
            return c != 0 ? c : a.CompareTo(b);
        });
        return idx;
    }

    /// <summary>Scores that express a new order: first gets n, last 1.</summary>
    protected static float[] RankScores(int[] order)
    {
        var s = new float[order.Length];
        for (int r = 0; r < order.Length; r++) s[order[r]] = order.Length - r;
        return s;
    }
}
