namespace Relevo.Evaluation;

/// <summary>Settings that change what counts as relevant and which queries are averaged.</summary>
public sealed record EvaluationOptions
{
    /// <summary>Lowest grade that counts as relevant (trec_eval <c>-l</c>); default 1. nDCG ignores it and uses the
    /// grades as gains, as trec_eval does.</summary>
    public int RelevanceLevel { get; init; } = 1;

    /// <summary>Average over every query in the qrels, counting queries the run lacks as zero (trec_eval <c>-c</c>).
    /// Otherwise only queries present in both run and qrels are evaluated.</summary>
    public bool AllQueries { get; init; }
}
