using Relevo.Index;
using Relevo.Pipelines;
using Relevo.Search;
using Relevo.Search.Similarities;

namespace Relevo.Tests.Pipelines;

/// <summary>The per-reader cache of searchers by parameters (bm25(k1, b), ql(mu)): parameters come from clients, so
/// it must stay bounded whatever they send, keep the parameters in use, and never change a result.</summary>
public class SearcherCacheTests
{
    [Fact]
    public void Stays_bounded_and_keeps_the_parameters_in_use_while_others_churn()
    {
        var cache = new SearcherCache<int, object>();
        var built = new Dictionary<int, int>();
        object Build(int key)
        {
            built[key] = built.GetValueOrDefault(key) + 1;
            return new object();
        }

        // Clients fill the cache with parameters used once before anyone asks for the popular one.
        for (int i = 0; i < 1000; i++) cache.Get(i, Build);
        Assert.Equal(SearcherCache<int, object>.Capacity, cache.Count);

        const int popular = -1;
        var first = cache.Get(popular, Build);
        for (int i = 1000; i < 16_000; i++)
        {
            cache.Get(i, Build); // one more parameter value nobody asks for again
            Assert.Same(first, cache.Get(popular, Build));
        }
        Assert.Equal(1, built[popular]);
        Assert.Equal(SearcherCache<int, object>.Capacity, cache.Count);

        // The least recently used goes first: of the last Capacity keys, only the oldest is evicted by one new key.
        cache.Get(20_000, Build);
        int before = built[15_999];
        cache.Get(15_999, Build);
        Assert.Equal(before, built[15_999]);
    }

    [Fact]
    public void Bm25_results_stay_the_same_while_the_cache_evicts()
    {
        var ds = TestData.Dataset("adi");
        using var tmp = new TempDir();
        using var reader = TestIndexes.Build(ds.CorpusPath, tmp.Path);
        var queries = ds.ReadQueries().Take(5).Select(q => Query.Parse(q.Text, reader.AnalyzerInstance)).ToArray();
        var popular = new Bm25Stage(new Bm25Parameters(1.2f, 0.75f));
        var expectedPopular = queries.Select(q => new Bm25Searcher(reader, popular.Parameters).Search(q, 10)).ToArray();

        for (int i = 0; i < 300; i++)
        {
            var parameters = new Bm25Parameters(0.5f + i / 100f, (i % 10) / 10f);
            var stage = new Bm25Stage(parameters);
            var q = queries[i % queries.Length];
            Assert.Equal(new Bm25Searcher(reader, parameters).Search(q, 10), stage.Searcher(reader, null).Search(q, 10));
            Assert.Equal(expectedPopular[i % queries.Length], popular.Searcher(reader, null).Search(q, 10));
        }
        var cache = reader.Component<SearcherCache<Bm25Parameters, Bm25Searcher>>("search.bm25", _ => throw new InvalidOperationException("no cache"));
        Assert.Equal(SearcherCache<Bm25Parameters, Bm25Searcher>.Capacity, cache.Count);
        Assert.Same(popular.Searcher(reader, null), popular.Searcher(reader, null));
    }
}
