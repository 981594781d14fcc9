using Relevo.Search;

namespace Relevo.Pipelines;

/// <summary>What flows between stages: the current query (text, analyzed terms after feedback, or a vector) and the
/// ranking so far.</summary>
public sealed record PipelineState(PipelineQuery Query, Ranking? Ranking);

/// <summary>A query as a pipeline carries it. Feedback replaces <see cref="Terms"/> (sparse) or <see cref="Vector"/> (dense).</summary>
public sealed record PipelineQuery(string Text, Query? Terms = null, float[]? Vector = null);

/// <summary>A ranked list plus each stage's own scores for the documents it ranked (for display and per-stage analysis).</summary>
public sealed class Ranking(IReadOnlyList<SearchHit> hits, IReadOnlyList<StageScores> stages)
{
    public IReadOnlyList<SearchHit> Hits { get; } = hits;
    public IReadOnlyList<StageScores> Stages { get; } = stages;

    public Ranking Cut(int k)
    {
        if (Hits.Count <= k) return this;
        var cut = new SearchHit[k];
        for (int i = 0; i < k; i++) cut[i] = Hits[i];
        return new Ranking(cut, Stages);
    }
}

/// <summary>One stage's scores by document id.</summary>
public sealed record StageScores(string Stage, IReadOnlyDictionary<string, float> Scores)
{
    public static StageScores Of(string stage, IReadOnlyList<SearchHit> hits)
    {
        var d = new Dictionary<string, float>(hits.Count, StringComparer.Ordinal);
        foreach (var h in hits) d[h.DocId] = h.Score;
        return new StageScores(stage, d);
    }
}
