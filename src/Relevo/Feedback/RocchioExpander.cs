using Relevo.Search;

namespace Relevo.Feedback;

/// <summary>Rocchio feedback over term vectors (as Anserini's RocchioReranker, without negative feedback): the query's
/// term counts scaled to unit L2, plus beta times the mean of the top <c>docs</c> documents' unit-L2 term vectors
/// pruned to its <c>terms</c> heaviest terms, the query side weighted by alpha.</summary>
internal sealed record RocchioExpander(int Terms = 10, int Docs = 10, float Alpha = 1f, float Beta = 0.5f)
{
    /// <param name="feedback">The filtered term vectors of the top documents (TermVectors.Filter of the documents' counts).</param>
    public Query Expand(Query query, Dictionary<string, float>[] feedback)
    {
        int n = feedback.Length;
        var mean = new Dictionary<string, float>(StringComparer.Ordinal);
        for (int i = 0; i < n; i++)
            foreach (var (t, x) in TermVectors.ScaleToUnitL2(feedback[i]))
                mean[t] = mean.GetValueOrDefault(t) + x / n;
        var expansion = TermVectors.Prune(mean, Terms);
        var q = TermVectors.ScaleToUnitL2(TermVectors.FromQuery(query));
        var mixed = new Dictionary<string, float>(StringComparer.Ordinal);
        foreach (var t in q.Keys.Union(expansion.Keys))
            mixed[t] = Alpha * q.GetValueOrDefault(t) + Beta * expansion.GetValueOrDefault(t);
        return TermVectors.ToQuery(query.Text, mixed);
    }
}
