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
        using var reader = TestIndexes.Build(ds.CorpusPath, tmp.Path);
        var searcher = new Bm25Searcher(reader);
        foreach (var (_, text) in JsonlReader.ReadQueries(ds.QueriesPath))
        {
            var query = Query.Parse(text, searcher.Analyzer);
            foreach (var hit in searcher.Search(query, 5))
            {
                var e = searcher.Explain(query, hit);
                Assert.Equal(hit.Score, e.Score);
                double sum = 0;
                foreach (var t in e.Terms!)
                {
                    sum += t.Score;
                    if (t.Tf > 0)
                    {
                        // The textbook formula, in double: the float hot-loop form must agree to float precision.
                        double expected = t.QueryWeight * (double)t.Idf * t.Tf / (t.Tf + e.K1!.Value * (1 - e.B!.Value + e.B.Value * t.DocLength / (double)t.AverageLength));
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
        Assert.Equal("a", once[0].Id);           // and the tie goes to the earlier document, as in Lucene
        var twice = searcher.Search("tail wing tail", 2);
        Assert.Equal("b", twice[0].Id);
        Assert.Equal(2 * once[0].Score, twice[0].Score, 5);
    }

    /// <summary>A run is the same bytes for any thread count, whether written straight from the index's bytes (a
    /// single retriever: <see cref="SearchIndex.WriteRun"/>'s fast path), through the general pipeline path (rm3), or
    /// in memory and then written (<see cref="Relevo.Evaluation.TrecRun.Write(TextWriter)"/>).</summary>
    [Theory]
    [InlineData("bm25")]
    [InlineData("ql(mu=500)")]
    [InlineData("bm25>>rm3(terms=10,docs=10,weight=0.5)>>bm25")]
    public void RunsAreTheSameBytesForAnyThreadCountAndWriter(string pipeline)
    {
        var ds = TestData.Dataset("vaswani");
        using var tmp = new TempDir();
        TestIndexes.Build(ds.CorpusPath, tmp.Path).Dispose();
        var queries = JsonlReader.ReadQueries(ds.QueriesPath);
        using var index = SearchIndex.Open(tmp.Path);
        var inMemory = new StringWriter { NewLine = "\n" };
        index.Run(queries, pipeline, 1000, new RunOptions { Threads = 1 }).Write(inMemory);
        string expected = inMemory.ToString();
        Assert.True(expected.Length > 1000);
        foreach (int threads in new[] { 1, 4 })
        {
            var written = new MemoryStream();
            long lines = index.WriteRun(queries, written, pipeline, 1000, new RunOptions { Threads = threads });
            Assert.Equal(expected, System.Text.Encoding.UTF8.GetString(written.ToArray()));
            Assert.Equal(expected.Count(c => c == '\n'), lines);
            var parallel = new StringWriter { NewLine = "\n" };
            index.Run(queries, pipeline, 1000, new RunOptions { Threads = threads }).Write(parallel);
            Assert.Equal(expected, parallel.ToString());
        }
    }
}
