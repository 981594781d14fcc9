using Relevo.Collections;
using Relevo.Index;
using Relevo.Index.Fields;
using Relevo.Pipelines;
using Relevo.Search;
using Relevo.Search.Similarities;
using Xunit.Abstractions;

namespace Relevo.Tests.Search;

/// <summary>Per-field postings and multi-field BM25: against Lucene.NET 4.8 searching title and text as fields of their
/// own (Anserini's multi-field query), pruning against exhaustive scoring, and field postings carried through
/// merges, deletions and later writes.</summary>
public class MultiFieldBm25Tests(ITestOutputHelper output)
{
    private static readonly IndexWriterOptions WithFields = new()
    {
        Components = [FieldComponent.Instance, Relevo.Index.Positions.PositionsComponent.Instance],
        ReplaceExisting = true,
    };

    /// <summary>Indexes a corpus with its field postings (one commit each) and opens it.</summary>
    private static IndexReader BuildWithFields(string corpus, string dir)
    {
        using (var writer = IndexWriter.Open(dir, WithFields))
        {
            CorpusIndexer.AddCorpus(writer, corpus);
            writer.Commit();
            var result = FieldIndexer.Build([writer]);
            Assert.Equal(1, result.SegmentsWritten);
            writer.Commit();
        }
        return IndexReader.Open(dir);
    }

    private static List<FieldBoost> Fields(params (string Field, float Boost)[] fields) => fields.Select(f => new FieldBoost(f.Field, f.Boost)).ToList();

    /// <summary>Lucene.NET's BM25 (with Lucene 8's norms, so times k1 + 1) over separate title and text fields, their
    /// per-field queries boosted and summed: every score of every query's top 100 matches, and the ranking wherever
    /// scores are not tied.</summary>
    [Theory]
    [InlineData("scifact", 1f, 1f)]
    [InlineData("cranfield", 2f, 0.5f)]
    public void ScoresEqualLuceneMultiFieldBm25(string name, float titleBoost, float textBoost)
    {
        var ds = TestData.Dataset(name);
        using var tmp = new TempDir();
        using var reader = BuildWithFields(ds.CorpusPath, tmp.Path);
        using var lucene = new LuceneBm25(ds.CorpusPath, 0.9f, 0.4f, lucene8Norms: true, withFields: true);
        var searcher = new MultiFieldBm25Searcher(reader, Fields(("title", titleBoost), ("text", textBoost)), new Bm25Parameters());
        var queries = JsonlReader.ReadQueries(ds.QueriesPath);
        int compared = 0, mismatched = 0;
        foreach (var (qid, text) in queries)
        {
            var ours = searcher.Search(Query.Parse(text, reader.AnalyzerInstance), 100);
            var theirs = lucene.SearchFields(text, 100, ("title", titleBoost), ("text", textBoost));
            if (LuceneComparison.FirstDifference(ours, theirs) is { } difference)
            {
                if (++mismatched <= 10) output.WriteLine($"{name} q{qid} {difference}");
            }
            else compared += ours.Count;
        }
        output.WriteLine($"{name}: {queries.Count} queries, {compared} ranks agree, {mismatched} queries differ");
        Assert.True(compared > 1000);
        Assert.Equal(0, mismatched);
    }


    /// <summary>MaxScore and block-max WAND over (field, term) pairs that read different postings return exactly what
    /// exhaustive scoring returns, and the explanation's field terms add up to each score.</summary>
    [Fact]
    public void PruningAndExplanationsAgreeWithExhaustiveScoring()
    {
        var ds = TestData.Dataset("scifact");
        using var tmp = new TempDir();
        using var reader = BuildWithFields(ds.CorpusPath, tmp.Path);
        var searcher = new MultiFieldBm25Searcher(reader, Fields(("title", 1.5f), ("text", 1f)), new Bm25Parameters());
        int checkedQueries = 0;
        foreach (var (_, text) in JsonlReader.ReadQueries(ds.QueriesPath).Take(120))
        {
            var query = Query.Parse(text, reader.AnalyzerInstance);
            foreach (int k in new[] { 10, 1000 })
            {
                var exhaustive = searcher.Search(query, k, PruningAlgorithm.Exhaustive);
                foreach (var algorithm in new[] { PruningAlgorithm.MaxScore, PruningAlgorithm.BlockMaxWand })
                {
                    var pruned = searcher.Search(query, k, algorithm);
                    Assert.Equal(exhaustive.Select(h => (h.Id, h.Score)), pruned.Select(h => (h.Id, h.Score)));
                }
            }
            var top = searcher.Search(query, 3, PruningAlgorithm.Exhaustive);
            foreach (var hit in top)
            {
                var e = searcher.Explain(query, hit);
                Assert.Equal(hit.Score, e.Score);
                Assert.Contains(e.Terms!, t => t.Term.StartsWith("title:", StringComparison.Ordinal) || t.Term.StartsWith("text:", StringComparison.Ordinal));
                Assert.Equal(hit.Score, (float)e.Terms!.Sum(t => (double)t.Score), 4);
            }
            checkedQueries++;
        }
        Assert.Equal(120, checkedQueries);
    }

    private static List<Document> Synthetic(int count, int seed)
    {
        var rng = new Random(seed);
        string[] words = ["vitamin", "cancer", "sleep", "memory", "coffee", "heart", "exercise", "blood", "pressure", "cell", "gene", "protein", "risk", "trial", "dose"];
        string Words(int n) => string.Join(' ', Enumerable.Range(0, n).Select(_ => words[rng.Next(words.Length)]));
        var docs = new List<Document>();
        for (int i = 0; i < count; i++)
            docs.Add(new Document($"d{seed}-{i}", rng.Next(5) == 0 ? "" : Words(rng.Next(1, 6)), rng.Next(10) == 0 ? "" : Words(rng.Next(1, 40))));
        return docs;
    }

    /// <summary>Field postings and positions are written for documents added after them (as a served index's writes
    /// complete their segments) and merged with their segments, deleted documents dropped: after deletions and a merge,
    /// multi-field and phrase scores equal those of a new index built from the live documents in one go.</summary>
    [Fact]
    public void FieldPostingsFollowWritesDeletionsAndMerges()
    {
        using var tmp = new TempDir();
        string incremental = tmp["inc"], fresh = tmp["fresh"];
        var batches = new[] { Synthetic(300, 1), Synthetic(200, 2), Synthetic(150, 3) };
        var registry = ExtensionRegistry.Create([]);
        using var services = registry.CreateServices();
        using (var w = IndexWriter.Open(incremental, WithFields))
        {
            foreach (var d in batches[0]) w.Add(d);
            w.Commit();
            FieldIndexer.Build([w]);
            Relevo.Index.Positions.PositionsIndexer.Build([w]);
            w.Commit();
            foreach (var batch in batches.Skip(1))
            {
                foreach (var d in batch) w.Add(d);
                w.CompleteComponents(services);
                w.Commit();
            }
            Assert.All(w.LastCommit.Segments, s => Assert.Equal(["contents", "text", "text", "title", "title"], s.Components.Select(c => c.Key).Order()));
            foreach (var batch in batches)
                for (int i = 0; i < batch.Count; i += 3) Assert.True(w.Delete(batch[i].Id));
            w.Commit();
            w.ForceMerge();
            Assert.Equal(["contents", "text", "text", "title", "title"], w.LastCommit.Segments.Single().Components.Select(c => c.Key).Order());
        }
        var live = batches.SelectMany(b => b.Where((_, i) => i % 3 != 0)).ToList();
        using (var w = IndexWriter.Open(fresh, WithFields))
        {
            foreach (var d in live) w.Add(d);
            w.Commit();
            FieldIndexer.Build([w]);
            Relevo.Index.Positions.PositionsIndexer.Build([w]);
            w.Commit();
        }
        using var a = IndexReader.Open(incremental);
        using var b = IndexReader.Open(fresh);
        var fields = Fields(("title", 2f), ("text", 1f));
        var sa = new MultiFieldBm25Searcher(a, fields, new Bm25Parameters());
        var sb = new MultiFieldBm25Searcher(b, fields, new Bm25Parameters());
        foreach (string text in new[] { "vitamin cancer", "sleep memory heart", "gene protein dose trial", "coffee" })
        {
            var ha = sa.Search(Query.Parse(text, a.AnalyzerInstance), 50);
            var hb = sb.Search(Query.Parse(text, b.AnalyzerInstance), 50);
            Assert.NotEmpty(ha);
            Assert.Equal(hb.Select(h => (h.Id, h.Score)), ha.Select(h => (h.Id, h.Score)));
        }
        foreach (string text in new[] { "\"vitamin cancer\"", "title:\"sleep memory\"", "text:\"gene protein\"~3", "\"heart exercise\"~1 +coffee" })
        {
            var na = Relevo.Pipelines.PipelineQuery.Read(text, QuerySyntax.Lucene, a.AnalyzerInstance).Structured!;
            var ha = new Relevo.Search.Structured.StructuredQuery(a, na, new Bm25Parameters()).Search(50);
            var hb = new Relevo.Search.Structured.StructuredQuery(b, na, new Bm25Parameters()).Search(50);
            Assert.NotEmpty(ha);
            Assert.Equal(hb.Select(h => (h.Id, h.Score)), ha.Select(h => (h.Id, h.Score)));
        }
    }

    [Fact]
    public void AnIndexWithoutFieldPostingsSaysHowToBuildThem()
    {
        using var tmp = new TempDir();
        TestIndexes.Write(tmp.Path, TestIndexes.Small);
        using var reader = IndexReader.Open(tmp.Path);
        var e = Assert.Throws<RelevoException>(() => new MultiFieldBm25Searcher(reader, Fields(("title", 1f)), new Bm25Parameters()));
        Assert.Contains("relevo index --index DIR --fields", e.Message);
    }

    [Theory]
    [InlineData("bm25(fields=[title,text])", "bm25(fields=[title,text])")]
    [InlineData("bm25( fields = [ title^2 , text ] )", "bm25(fields=[title^2,text])")]
    [InlineData("bm25(fields=text)", "bm25(fields=[text])")]
    public void FieldsParseToCanonicalText(string text, string canonical)
    {
        var registry = ExtensionRegistry.Create([]);
        Assert.Equal(canonical, Pipeline.Parse(text, registry).Text);
        Assert.Equal(canonical, Pipeline.Parse(canonical, registry).Text);
    }

    [Theory]
    [InlineData("bm25(fields=[title,contents])", 20, "'contents' is the concatenated field")]
    [InlineData("bm25(fields=[title^0,text])", 14, "positive number")]
    [InlineData("bm25(fields=[text,text])", 19, "given twice")]
    public void BadFieldsAreSyntaxErrorsAtTheirColumn(string text, int column, string message)
    {
        var e = Assert.Throws<PipelineSyntaxException>(() => Pipeline.Parse(text, ExtensionRegistry.Create([])));
        Assert.Equal(column, e.Column);
        Assert.Contains(message, e.Message);
    }
}
