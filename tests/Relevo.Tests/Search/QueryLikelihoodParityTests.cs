using Relevo.Collections;
using Relevo.Search;
using Xunit.Abstractions;

namespace Relevo.Tests.Search;

/// <summary>Query likelihood (Dirichlet) against Lucene.NET 4.8's LMDirichletSimilarity on the same norms.</summary>
public class QueryLikelihoodParityTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("cranfield", 1000f)]
    [InlineData("cacm", 300f)]
    public void ScoresEqualLuceneDirichlet(string name, float mu)
    {
        var ds = TestData.Dataset(name);
        using var tmp = new TempDir();
        using var reader = TestIndexes.Build(ds.CorpusPath, tmp.Path);
        using var lucene = new LuceneBm25(ds.CorpusPath, new LuceneBm25.Lucene8NormsDirichlet(mu));
        var searcher = new QueryLikelihoodSearcher(reader, mu);
        int compared = 0, mismatched = 0;
        foreach (var (qid, text) in JsonlReader.ReadQueries(ds.QueriesPath))
        {
            var theirs = lucene.Search(text, 50);
            var ours = searcher.Search(Query.Parse(text, reader.AnalyzerInstance), 50);
            var byId = ours.ToDictionary(h => h.Id, h => h.Score);
            foreach (var (doc, score) in theirs)
            {
                if (score <= 0) continue; // floored scores tie at zero in any order
                compared++;
                if (!byId.TryGetValue(doc, out float mine) || Math.Abs(mine - score) > 1e-4f * score)
                {
                    if (++mismatched <= 10) output.WriteLine($"q{qid} {doc}: Lucene {score}, Relevo {(byId.TryGetValue(doc, out var m) ? m : float.NaN)}");
                }
            }
        }
        output.WriteLine($"{name}: {compared} scores compared, {mismatched} differ");
        Assert.True(compared > 1000);
        Assert.Equal(0, mismatched);
    }
}
