using Relevo.Collections;
using Relevo.Index;
using Relevo.Search;

namespace Relevo.Tests.Search;

public class SearcherTests
{
    [Fact]
    public void ExplanationsAddUpToTheScore()
    {
        var ds = TestData.Dataset("scifact");
        using var tmp = new TempDir();
        using var reader = Bm25ParityTests.BuildIndex(ds.CorpusPath, tmp.Path);
        var searcher = new Bm25Searcher(reader);
        foreach (var (_, text) in JsonlReader.ReadQueries(ds.QueriesPath))
        {
            var query = Query.Parse(text, searcher.Analyzer);
            foreach (var hit in searcher.Search(query, 5))
            {
                var e = searcher.Explain(query, hit);
                Assert.Equal(hit.Score, e.Score);
                double sum = 0;
                foreach (var t in e.Terms)
                {
                    sum += t.Score;
                    if (t.Tf > 0)
                    {
                        // The textbook formula, in double: the float hot-loop form must agree to float precision.
                        double expected = t.QueryWeight * (double)t.Idf * t.Tf / (t.Tf + e.K1 * (1 - e.B + e.B * t.DocLength / (double)t.AverageLength));
                        Assert.True(Math.Abs(expected - t.Score) <= 1e-5 * expected, $"{t.Term}: {t.Score} vs {expected}");
                    }
                }
                Assert.Equal(hit.Score, (float)sum);
            }
        }
    }

    [Fact]
    public void RepeatedQueryTermsWeighMore()
    {
        using var tmp = new TempDir();
        using (var w = IndexWriter.Open(tmp.Path))
        {
            w.Add(new Document("a", "", "wing wing flutter"));
            w.Add(new Document("b", "", "tail tail flutter"));
            w.Add(new Document("c", "", "nothing here"));
            w.Commit();
        }
        using var reader = IndexReader.Open(tmp.Path);
        var searcher = new Bm25Searcher(reader);
        var once = searcher.Search("wing tail", 2);
        Assert.Equal(once[0].Score, once[1].Score); // symmetric documents tie
        Assert.Equal("a", once[0].DocId);           // and the tie goes to the earlier document, as in Lucene
        var twice = searcher.Search("tail wing tail", 2);
        Assert.Equal("b", twice[0].DocId);
        Assert.Equal(2 * once[0].Score, twice[0].Score, 5);
    }

    [Fact]
    public void ParallelRunIsIdenticalToSequentialRun()
    {
        var ds = TestData.Dataset("vaswani");
        using var tmp = new TempDir();
        using var reader = Bm25ParityTests.BuildIndex(ds.CorpusPath, tmp.Path);
        var queries = JsonlReader.ReadQueries(ds.QueriesPath);
        var searcher = new Bm25Searcher(reader);
        var one = new StringWriter();
        var four = new StringWriter();
        Relevo.Pipelines.Pipeline.Parse("bm25").Run(queries, 1000, new SearchContext(reader), threads: 1).Write(one);
        Relevo.Pipelines.Pipeline.Parse("bm25").Run(queries, 1000, new SearchContext(reader), threads: 4).Write(four);
        Assert.Equal(one.ToString(), four.ToString());
        Assert.True(one.ToString().Length > 1000);
    }
}
