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

    /// <summary>A reranked hit's final score is rank-based; its explanation gives the reranker's own score (the order
    /// came from it), with the reranker's explanation of that score where it has one
    /// (<see cref="ExplainScoresAsync"/>). Hits below the reranked head kept their incoming order.</summary>
    internal override async ValueTask<Explanation?[]> ExplainAsync(StageRun run, IReadOnlyList<Hit> hits, StageContext context)
    {
        var output = run.Output.Ranking!;
        var own = output.StageScores(output.Stages.Count - 1).ToArray();
        var position = new Dictionary<string, int>(output.Count, StringComparer.Ordinal);
        for (int i = 0; i < output.Count; i++) position.TryAdd(output.Hits[i].Id, i);
        var head = new List<Hit>();
        var headScores = new List<float>();
        var at = new int[hits.Count];
        for (int h = 0; h < hits.Count; h++)
        {
            at[h] = position.TryGetValue(hits[h].Id, out int p) ? p : -1;
            if (p >= 0 && !float.IsNaN(own[p])) { head.Add(hits[h]); headScores.Add(own[p]); }
        }
        var explained = head.Count == 0 ? [] : await ExplainScoresAsync(run.Input.Query, head, [.. headScores], context).ConfigureAwait(false);
        var result = new Explanation?[hits.Count];
        for (int h = 0, j = 0; h < hits.Count; h++)
        {
            int p = at[h];
            if (p < 0) continue;
            if (float.IsNaN(own[p]))
            {
                result[h] = new Explanation(hits[h].Id, hits[h].Score, Text)
                {
                    Note = $"below the {Top} reranked: the incoming order kept (score = hits − position)",
                };
                continue;
            }
            result[h] = new Explanation(hits[h].Id, hits[h].Score, Text)
            {
                Note = $"reranked by {Name}'s own score (score = hits − position)",
                Parts = [new ExplanationPart(Text, p + 1, own[p], null, explained[j++])],
            };
        }
        return result;
    }

    /// <summary>Explanations of this reranker's own scores for reranked hits (null entries where it has none: the
    /// default; LLM rerankers claim no attribution).</summary>
    internal virtual ValueTask<Explanation?[]> ExplainScoresAsync(PipelineQuery query, IReadOnlyList<Hit> head, float[] scores, StageContext context) =>
        ValueTask.FromResult(new Explanation?[head.Count]);

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
