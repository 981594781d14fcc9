using Relevo.Analysis;
using Relevo.Index;

namespace Relevo.Search;

/// <summary>Query likelihood with Dirichlet smoothing (Anserini's `-qld`, default mu = 1000).</summary>
public sealed class QueryLikelihoodSearcher(IndexReader reader, float mu = 1000f, ICollectionStatistics? statistics = null)
{
    private readonly ICollectionStatistics _stats = statistics ?? new IndexStatistics(reader);

    public float Mu { get; } = mu > 0 ? mu : throw new RelevoException("ql: mu must be positive");
    public Analyzer Analyzer { get; } = Analyzer.Create(reader.Analyzer);

    public IReadOnlyList<SearchHit> Search(Query query, int k)
    {
        var terms = new List<(string, DirichletTermScorer)>(query.Terms.Count);
        foreach (var (term, weight) in query.Terms)
        {
            long ttf = _stats.TotalTermFreq(term);
            if (ttf == 0 || weight <= 0) continue;
            terms.Add((term, new DirichletTermScorer(weight, Mu, DirichletTermScorer.CollectionProbability(ttf, _stats.SumTotalTermFreq))));
        }
        return ExhaustiveScorer.Search(reader, terms, k);
    }
}
