using Relevo.Collections;
using Relevo.Dense;
using Relevo.Index;
using Relevo.Search;

namespace Relevo.Tests.Learning;

/// <summary>features(...) gives each candidate the exact score each scorer would give it, in or out of that scorer's
/// own top k, and the built-in features their definitions.</summary>
public sealed class FeaturesTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly SearchIndex _index;
    private readonly List<(string Id, string Text)> _queries;

    public FeaturesTests()
    {
        var ds = TestData.Dataset("cranfield");
        TestIndexes.Build(ds.CorpusPath, _dir.Path).Dispose();
        _index = SearchIndex.Open(_dir.Path);
        _queries = JsonlReader.ReadQueries(ds.QueriesPath).Take(25).ToList();
    }

    public void Dispose()
    {
        _index.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void ScoreDocsEqualsWhatAWholeSearchGivesEachDocument()
    {
        using var reader = IndexReader.Open(_dir.Path);
        var bm25 = new Bm25Searcher(reader);
        var ql = new QueryLikelihoodSearcher(reader);
        foreach (var (_, text) in _queries)
        {
            var query = Query.Parse(text, reader.AnalyzerInstance);
            foreach (var (all, score) in new (IReadOnlyList<Hit>, Action<int[], int[], float[]>)[]
            {
                (bm25.Search(query, reader.MaxDoc), (s, d, o) => bm25.ScoreDocs(query, s, d, o)),
                (ql.Search(query, reader.MaxDoc), (s, d, o) => ql.ScoreDocs(query, s, d, o)),
            })
            {
                // every document a search scores, including the tail far below any top k, plus one that matches nothing
                var segment = all.Select(h => h.Segment).Append(0).ToArray();
                var doc = all.Select(h => h.Doc).Append(Enumerable.Range(0, reader.MaxDoc).First(d => all.All(h => h.Doc != d))).ToArray();
                var scores = new float[segment.Length];
                score(segment, doc, scores);
                for (int i = 0; i < all.Count; i++) Assert.Equal(all[i].Score, scores[i]); // bit for bit
                Assert.Equal(0f, scores[^1]);
            }
        }
    }

    [Fact]
    public void FeatureColumnsHoldEachScorersExactScoresAndTheBuiltIns()
    {
        foreach (var (_, text) in _queries)
        {
            var r = _index.Search(text, "bm25 >> features(bm25, ql, rank, score, doclen, qlen, title)", 100);
            var col = (string name) => r.StageScores(r.Stages.ToList().IndexOf("f:" + name)).ToArray();
            Assert.Equal(r.Hits.Select(h => h.Score), col("bm25"));
            Assert.Equal(r.Hits.Select(h => h.Score), col("score"));
            Assert.Equal(Enumerable.Range(1, r.Hits.Count).Select(i => (float)i), col("rank"));
            // ql's own scores, for candidates inside and outside ql's top 20
            var ql = _index.Search(text, "ql", 1400).Hits.ToDictionary(h => h.Id, h => h.Score);
            var qlColumn = col("ql");
            for (int i = 0; i < r.Hits.Count; i++) Assert.Equal(ql.GetValueOrDefault(r.Hits[i].Id), qlColumn[i]);
            int terms = Query.Parse(text, Relevo.Analysis.Analyzer.Create("english")).Terms.Count;
            Assert.All(col("qlen"), v => Assert.Equal(terms, v));
            var docs = r.Hits.Take(5).Select(h => _index.GetDocumentAsync(h.Id).GetAwaiter().GetResult()!).ToList();
            var analyzer = Relevo.Analysis.Analyzer.Create("english");
            var queryTerms = analyzer.Terms(text).ToHashSet();
            for (int i = 0; i < docs.Count; i++)
            {
                var title = analyzer.Terms(docs[i].Title).ToHashSet();
                Assert.Equal((float)queryTerms.Count(title.Contains) / queryTerms.Count, col("title")[i]);
                Assert.InRange(col("doclen")[i], analyzer.Terms(docs[i].Title + " " + docs[i].Text).Count * 0.8, analyzer.Terms(docs[i].Title + " " + docs[i].Text).Count * 1.2);
            }
        }
    }

    [Fact]
    public void AFeedbackPipelineScoresWithItsRewrittenQuery()
    {
        foreach (var (_, text) in _queries.Take(5))
        {
            var r = _index.Search(text, "bm25 >> features(bm25 >> rm3 >> bm25)", 50);
            var expanded = _index.Search(text, "bm25 >> rm3 >> bm25", 1400).Hits.ToDictionary(h => h.Id, h => h.Score);
            var column = r.StageScores(r.Stages.ToList().IndexOf("f:bm25>>rm3(terms=10,docs=10,weight=0.5)>>bm25")).ToArray();
            for (int i = 0; i < r.Hits.Count; i++) Assert.Equal(expanded.GetValueOrDefault(r.Hits[i].Id), column[i]);
        }
    }

    [Fact]
    public void WhatIsNotAFeatureIsASyntaxError()
    {
        var e = Assert.Throws<Relevo.Pipelines.PipelineSyntaxException>(() => _index.CanonicalPipeline("bm25 >> features(fuse(rrf, bm25, ql))"));
        Assert.Contains("is neither a retriever, a pipeline ending in one, a reranker, nor one of rank, score, doclen, qlen, title", e.Message);
        Assert.Throws<Relevo.Pipelines.PipelineSyntaxException>(() => _index.CanonicalPipeline("bm25 >> features(bm25, bm25)"));
        Assert.Throws<Relevo.Pipelines.PipelineSyntaxException>(() => _index.CanonicalPipeline("bm25 >> features()"));
        var noRanking = Assert.Throws<RelevoException>(() => _index.Search("flow", "features(bm25)", 10));
        Assert.Contains("features needs a ranking before it", noRanking.Message);
    }

    [Fact]
    public void DenseFeaturesAreTheCosineADenseSearchGives()
    {
        using var dir = new TempDir();
        using (var w = SearchIndex.OpenWriter(dir.Path, new WriterOptions(), [new DenseExtension()]))
        {
            w.AddRange(TestIndexes.Small);
            w.Commit();
            using var model = EmbeddingModel.Load("arctic-xs");
            DenseIndexer.AddVectors(w, model);
        }
        using var index = SearchIndex.Open(dir.Path, new SearchIndexOptions { Extensions = [new DenseExtension()] });
        var r = index.Search("vitamin deficiency", "bm25 >> features(dense(model=arctic-xs))", 10);
        var dense = index.Search("vitamin deficiency", "dense(model=arctic-xs,exact=true)", 10).Hits.ToDictionary(h => h.Id, h => h.Score);
        var column = r.StageScores(r.Stages.ToList().IndexOf("f:dense(model=arctic-xs)")).ToArray();
        Assert.NotEmpty(column);
        for (int i = 0; i < r.Hits.Count; i++) Assert.Equal(dense[r.Hits[i].Id], column[i]);
    }
}

/// <summary>rerank(dense(model=M), passages=N) scores a document by its best window of N sentences (MaxP), and a
/// reranker listed in features(...) gives that score to every candidate.</summary>
public sealed class PassageRerankTests
{
    private static readonly Document[] Docs =
    [
        new("long", "Nutrition study", "Participants were recruited in 2010. Dr. Smith et al. measured bone density every year. " +
            "Vitamin D deficiency was common in the winter months. The cohort was followed for ten years."),
        new("other", "Bridge design", "Steel girders carry the load. Wind tunnel tests were run on e.g. the deck. Results agree with theory."),
        new("short", "", "Vitamin supplements and their effects."),
    ];

    [Fact]
    public void SentencesAndWindowsFollowTheRules()
    {
        var sentences = PassageWindows.Sentences(Docs[0].Text);
        Assert.Equal(["Participants were recruited in 2010.", "Dr. Smith et al. measured bone density every year.",
            "Vitamin D deficiency was common in the winter months.", "The cohort was followed for ten years."], sentences);
        Assert.Equal(3, PassageWindows.Sentences(Docs[1].Text).Count); // "e.g." is not an end
        // windows of 2 sentences, stride 1, each with the title; the last window reaches the last sentence
        var windows = PassageWindows.Of(Docs[0], 2);
        Assert.Equal(3, windows.Count);
        Assert.Equal("Nutrition study " + sentences[0] + " " + sentences[1], windows[0]);
        Assert.Equal("Nutrition study " + sentences[2] + " " + sentences[3], windows[2]);
        // windows of 3, stride 2: [0..2], [2..3]
        Assert.Equal(["Nutrition study " + string.Join(' ', sentences.Take(3)), "Nutrition study " + string.Join(' ', sentences.Skip(2))],
            PassageWindows.Of(Docs[0], 3));
        Assert.Equal(["Vitamin supplements and their effects."], PassageWindows.Of(Docs[2], 3)); // no title, one sentence
        Assert.Equal(["Empty"], PassageWindows.Of(new Document("e", "Empty", ""), 2));
        var huge = new Document("h", "", string.Concat(Enumerable.Repeat("A sentence here. ", 500)));
        Assert.Equal(PassageWindows.MaxWindows, PassageWindows.Of(huge, 1).Count);
    }

    [Fact]
    public void APassageRerankerScoresEachDocumentByItsBestWindow()
    {
        using var dir = new TempDir();
        using (var w = SearchIndex.OpenWriter(dir.Path, new WriterOptions(), [new DenseExtension()]))
        {
            w.AddRange(Docs);
            w.Commit();
            using var minilm = EmbeddingModel.Load("minilm");
            DenseIndexer.AddVectors(w, minilm); // for the whole-document reranker
        }
        using var index = SearchIndex.Open(dir.Path, new SearchIndexOptions { Extensions = [new DenseExtension()] });
        const string query = "vitamin deficiency";
        var r = index.Search(query, "ql >> features(rerank(dense(model=minilm),passages=2), rerank(dense(model=minilm)))", 10);
        Assert.Equal(["long", "short"], r.Hits.Select(h => h.Id).Order()); // the bridge document has neither term
        var best = r.StageScores(r.Stages.ToList().IndexOf("f:rerank(dense(model=minilm),passages=2)")).ToArray();
        using var model = EmbeddingModel.Load("minilm");
        var q = model.EmbedQuery(query);
        for (int i = 0; i < r.Hits.Count; i++)
        {
            var doc = Docs.Single(d => d.Id == r.Hits[i].Id);
            var windows = PassageWindows.Of(doc, 2);
            var rows = new float[windows.Count * model.Dimensions];
            model.EmbedPassages(windows, rows);
            float expected = Enumerable.Range(0, windows.Count)
                .Max(k => System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(q, rows.AsSpan(k * model.Dimensions, model.Dimensions)));
            Assert.Equal(expected, best[i], 5);
        }
        // the stage orders by the same scores
        var reranked = index.Search(query, "ql >> rerank(dense(model=minilm),passages=2)", 10);
        var byId = r.Hits.Select((h, i) => (h.Id, Score: best[i])).ToDictionary(x => x.Id, x => x.Score);
        Assert.Equal(reranked.Hits.Select(h => h.Id), byId.OrderByDescending(x => x.Value).Select(x => x.Key));
        // the long document's best window beats the document as a whole, which dilutes the matching sentence
        var whole = r.StageScores(r.Stages.ToList().IndexOf("f:rerank(dense(model=minilm))")).ToArray();
        int at = r.Hits.ToList().FindIndex(h => h.Id == "long");
        Assert.True(best[at] > whole[at], $"best window {best[at]} vs whole {whole[at]}");
        var e = Assert.Throws<Relevo.Pipelines.PipelineSyntaxException>(() => index.CanonicalPipeline("bm25 >> rerank(cross(model=x), passages=2)"));
        Assert.Contains("passages= is for rerank(dense(...))", e.Message);
    }
}

/// <summary>Features on a sharded index: every candidate scored on its shard with the collection-wide statistics, so
/// the columns equal the single index's, bit for bit.</summary>
public sealed class ShardedFeaturesTests
{
    [Fact]
    public void ShardedFeaturesEqualTheSingleIndexs()
    {
        using var pair = new ShardedPair(TestData.Dataset("cranfield"), shards: 3);
        const string pipeline = "bm25 >> features(bm25, ql, bm25>>rm3>>bm25, rank, qlen)";
        foreach (var (_, text) in pair.Queries.Take(15))
        {
            var single = pair.Single.Search(text, pipeline, 50);
            var sharded = pair.Sharded.Search(text, pipeline, 50);
            Assert.Equal(single.Hits.Select(h => h.Id), sharded.Hits.Select(h => h.Id));
            Assert.Equal(single.Stages, sharded.Stages);
            for (int s = 0; s < single.Stages.Count; s++) Assert.Equal(single.StageScores(s).ToArray(), sharded.StageScores(s).ToArray());
        }
        var e = Assert.Throws<RelevoException>(() => pair.Sharded.Search("flow", "bm25 >> features(doclen)", 10));
        Assert.Contains("doclen needs one index folder", e.Message);
    }
}

/// <summary>bm25.title and bm25.text: BM25 on one field with that field's statistics, checked by hand on three
/// documents.</summary>
public sealed class FieldFeaturesTests
{
    [Fact]
    public void FieldBm25IsComputedWithTheFieldsOwnStatistics()
    {
        using var dir = new TempDir();
        TestIndexes.Write(dir.Path, [
            new Document("a", "galaxy survey", "stars and more stars in a distant galaxy"),
            new Document("b", "river floods", "the galaxy of river deltas"),
            new Document("c", "", "galaxy"),
        ]);
        using var index = SearchIndex.Open(dir.Path);
        var r = index.Search("galaxy", "bm25 >> features(bm25.title, bm25.text)", 10);
        var title = r.StageScores(r.Stages.ToList().IndexOf("f:bm25.title")).ToArray();
        var text = r.StageScores(r.Stages.ToList().IndexOf("f:bm25.text")).ToArray();
        var ids = r.Hits.Select(h => h.Id).ToList();
        // titles: "galaxy survey" (2 terms), "river flood" (2); "c" has none: 2 documents, avg length 2, df(galaxi) 1
        double titleIdf = Math.Log(1 + (2 - 1 + 0.5) / (1 + 0.5));
        double expectedA = titleIdf * 1 / (1 + 0.9 * (0.6 + 0.4 * 2 / 2.0));
        Assert.Equal(expectedA, title[ids.IndexOf("a")], 5);
        Assert.Equal(0f, title[ids.IndexOf("b")]);
        Assert.Equal(0f, title[ids.IndexOf("c")]);
        // texts: a "star star more distant galaxi" (5), b "galaxi river delta" (3), c "galaxi" (1): avg 3, df 3 of 3
        double textIdf = Math.Log(1 + (3 - 3 + 0.5) / (3 + 0.5));
        double Text(int len) => textIdf * 1 / (1 + 0.9 * (0.6 + 0.4 * len / 3.0));
        Assert.Equal(Text(5), text[ids.IndexOf("a")], 5);
        Assert.Equal(Text(3), text[ids.IndexOf("b")], 5);
        Assert.Equal(Text(1), text[ids.IndexOf("c")], 5);
    }

    [Fact]
    public async Task ACancelledBuildOfTheFieldStatisticsLeavesNothingAndTheNextCallerBuildsThem()
    {
        using var dir = new TempDir();
        TestIndexes.Write(dir.Path, TestIndexes.Small);
        using var reader = IndexReader.Open(dir.Path);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await Relevo.Search.FieldStatistics.ForAsync(reader, new CancellationToken(true)));
        var stats = await Relevo.Search.FieldStatistics.ForAsync(reader);
        Assert.Equal(5, stats.Title.Documents);
        Assert.Same(stats, await Relevo.Search.FieldStatistics.ForAsync(reader));
    }
}
