using Relevo.Search;

namespace Relevo.Feedback;

/// <summary>RM3 pseudo-relevance feedback as Anserini's Rm3Reranker defines it: each of the top <c>docs</c>
/// documents is a term-frequency vector pruned to its <c>terms</c> heaviest terms; the relevance model weighs a term
/// by Σ_d tf(t,d) / |d|₁ × score(d) (raw retrieval scores), is pruned to <c>terms</c> terms and scaled to unit L1;
/// the new query is weight × q̂ + (1 − weight) × RM, with q̂ the query's term counts scaled to unit L1.
/// Where Anserini leaves ties in hash order, terms tie-break by ordinal order so runs are reproducible.</summary>
internal sealed record Rm3Expander(int Terms = 10, int Docs = 10, float OriginalQueryWeight = 0.5f)
{
    /// <param name="feedback">The filtered term vectors of the top documents (TermVectors.Filter of the documents' counts).</param>
    public Query Expand(Query query, IReadOnlyList<Hit> ranking, Dictionary<string, float>[] feedback)
    {
        int n = feedback.Length;
        var vectors = new Dictionary<string, float>[n];
        var norms = new float[n];
        var vocabulary = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < n; i++)
        {
            vectors[i] = TermVectors.Prune(feedback[i], Terms);
            foreach (var t in vectors[i].Keys) vocabulary.Add(t);
            float l1 = 0;
            foreach (var x in vectors[i].Values) l1 += x;
            norms[i] = l1;
        }
        var model = new Dictionary<string, float>(StringComparer.Ordinal);
        foreach (var term in vocabulary)
        {
            float w = 0;
            for (int i = 0; i < n; i++)
                if (norms[i] > 0.001f)
                    w += vectors[i].GetValueOrDefault(term) / norms[i] * ranking[i].Score;
            model[term] = w;
        }
        var rm = TermVectors.ScaleToUnitL1(TermVectors.Prune(model, Terms));
        var q = TermVectors.ScaleToUnitL1(TermVectors.FromQuery(query));
        var mixed = new Dictionary<string, float>(StringComparer.Ordinal);
        foreach (var t in q.Keys.Union(rm.Keys))
            mixed[t] = OriginalQueryWeight * q.GetValueOrDefault(t) + (1 - OriginalQueryWeight) * rm.GetValueOrDefault(t);
        return TermVectors.ToQuery(query.Text, mixed);
    }
}
