using Orleans.TestingHost;
using Relevo.Cluster;
using Relevo.Dense;
using Relevo.Index;
using Relevo.Pipelines;
using Relevo.Sharding;
using Xunit.Abstractions;

namespace Relevo.IntegrationTests.Cluster;

/// <summary>Three in-process silos (Orleans' test host) serving a 4-shard index: every query ranks as on the single
/// index (same documents, same order, scores within 1e-5), for bm25, ql, fused and dense pipelines; writes through the
/// cluster become visible whole.</summary>
public sealed class OrleansClusterTests(ITestOutputHelper output)
{
    private static readonly IReadOnlyList<IRelevoExtension> Extensions = [new DenseExtension()];

    private static async Task<InProcessTestCluster> StartCluster(string data, short silos = 3)
    {
        var builder = new InProcessTestClusterBuilder(silos);
        builder.ConfigureSilo((_, silo) => ClusterHosting.ConfigureServices(silo.Services, data, ExtensionRegistry.Create(Extensions)));
        builder.ConfigureClient(client => ClusterHosting.AddRelevoSerialization(client.Services));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    /// <summary>The cluster's sharded index as a client sees it (what RelevoCluster.ConnectAsync returns).</summary>
    private static (SearchIndex Index, OrleansShards Shards) Connect(InProcessTestCluster cluster)
    {
        var shards = new OrleansShards(cluster.Client, new ClusterRouting { Shards = 4, Analyzer = "english" }, "test cluster");
        return (new SearchIndex(new ShardedIndexSource(shards), ExtensionRegistry.Create(Extensions)), shards);
    }

    /// <summary>Runs every query of <paramref name="data"/> through the cluster and the single index for each pipeline
    /// and demands the same rankings (order of ties included); the shards must be spread over the silos.</summary>
    private static async Task AssertSameRankings(ShardedPair data, IEnumerable<(string Pipeline, int K)> runs)
    {
        await using var cluster = await StartCluster(data.ShardedDir);
        var (index, shards) = Connect(cluster);
        using (index)
        {
            foreach (var (pipeline, k) in runs)
            {
                var expected = data.Single.Run(data.Queries, pipeline, k);
                var actual = index.Run(data.Queries, pipeline, k, new RunOptions { Threads = 2 });
                RankingComparison.AssertSame(ShardedPair.CompareRuns(expected, actual, k), $"{pipeline} k={k} on the cluster");
                Assert.Equal(data.Queries.Count, actual.QueryIds.Count);
            }
            // explanations come from each hit's silo, with the collection-wide statistics: the one index's, term for term
            foreach (var (_, text) in data.Queries.Take(20))
            {
                var one = data.Single.Search(text, "bm25", 10, new SearchOptions { Explain = true });
                var onCluster = await index.SearchAsync(text, "bm25", 10, new SearchOptions { Explain = true });
                Assert.Equal(one.Explanations!.Select(e => System.Text.Json.JsonSerializer.Serialize(e)),
                    onCluster.Explanations!.Select(e => System.Text.Json.JsonSerializer.Serialize(e)));
            }
            var silos = await shards.ShardSilosAsync();
            // shard placement spreads them evenly: 4 shards over 3 silos are 2/1/1, never 0/2/2 or 4/0/0
            var perSilo = silos.GroupBy(s => s).Select(g => g.Count()).ToList();
            Assert.True(perSilo.Count == Math.Min(3, silos.Length) && perSilo.Max() - perSilo.Min() <= 1,
                "shards not spread evenly over the 3 silos: " + string.Join(", ", silos));
        }
    }

    /// <summary>The placement rule alone: every silo computes the same choice whatever order it lists the silos in,
    /// the shards are spread evenly, and after a silo leaves its shards go to the survivors by the same rule.</summary>
    [Fact]
    public void ShardPlacementSpreadsShardsEvenlyAndAgreesInAnyOrder()
    {
        var silos = new[] { 11113, 11111, 11112 }.Select(p => SiloAddress.New(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, p), 7)).ToArray();
        var reversed = silos.Reverse().ToArray();
        var chosen = Enumerable.Range(0, 4).Select(i => ShardPlacementDirector.Choose(silos, i)).ToArray();
        Assert.Equal(chosen, Enumerable.Range(0, 4).Select(i => ShardPlacementDirector.Choose(reversed, i)));
        Assert.Equal([2, 1, 1], chosen.GroupBy(s => s).Select(g => g.Count()).OrderDescending());
        Assert.Equal(chosen[0], chosen[3]);
        var survivors = silos.Where(s => !s.Equals(chosen[1])).ToArray();
        Assert.All(Enumerable.Range(0, 4), i => Assert.Contains(ShardPlacementDirector.Choose(survivors, i), survivors));
    }

    [Fact]
    public async Task FourShardsOnThreeSilosRankExactlyAsOneIndex()
    {
        using var data = new ShardedPair(TestData.Dataset("scifact"));
        Assert.Equal(300, data.Queries.Count);
        await AssertSameRankings(data, [("bm25", 100), ("ql", 100), ("fuse(rrf,bm25,ql)", 100), ("fuse(minmax,bm25,ql)", 10), ("bm25", 1000),
            ("bm25>>rm3(terms=10,docs=10,weight=0.5)>>bm25", 100)]);
    }

    /// <summary>Quantized BM25 impacts across silos: each shard scores its own impacts (computed over the whole
    /// collection), and the cluster ranks exactly as the single index with its impacts.</summary>
    [Fact]
    public async Task BM25ImpactsRankExactlyAsOneIndexOnTheCluster()
    {
        using var data = new ShardedPair(TestData.Dataset("scifact"));
        data.AddImpacts();
        var exact = data.Single.Run(data.Queries, "bm25(impacts=false)", 10);
        var quantized = data.Single.Run(data.Queries, "bm25", 10);
        Assert.NotEqual(exact.QueryIds.Select(q => exact.ForQuery(q)[0].Score), quantized.QueryIds.Select(q => quantized.ForQuery(q)[0].Score));
        await AssertSameRankings(data, [("bm25", 100), ("impact", 10), ("fuse(rrf,bm25,bm25(impacts=false))", 10), ("bm25(impacts=false)", 10)]);
    }

    /// <summary>The 100,000-document synthetic corpus of the benchmarks with 2,000 queries (make-bench-corpus, seed 11).</summary>
    [Fact]
    public async Task SyntheticCorpusOf100kDocumentsRanksExactlyAsOneIndex()
    {
        var testClock = System.Diagnostics.Stopwatch.StartNew();
        using var dir = new TempDir();
        var dataset = SyntheticCorpus(dir, 100_000, 2000);
        using var data = new ShardedPair(dataset);
        Assert.Equal(2000, data.Queries.Count);
        await AssertSameRankings(data, [("bm25", 10), ("bm25", 100), ("fuse(rrf,bm25,ql,depth=100)", 10)]);

        // dense: 64-dimensional vectors seeded by document id (no CPU model embeds 100,000 passages in a test), with an
        // HNSW graph per segment; the query vectors go to the retriever directly, on one commit of the single index,
        // on the shards in this process and through the grains
        var graphClock = System.Diagnostics.Stopwatch.StartNew();
        data.AddSyntheticVectors("synthetic-64", 64, new HnswParameters(16, 100));
        data.Close();
        using (var single = IndexReader.Open(data.SingleDir))
        {
            Assert.All(single.Manifest.Segments, s => Assert.NotNull(SegmentGraphs.GraphFile(s.Component(VectorComponent.ComponentName, "synthetic-64")!)));
            output.WriteLine($"64-dim vectors and graphs (M 16, ef_construction 100) in {graphClock.Elapsed.TotalSeconds:F1} s: graphs of the single " +
                             $"index ({single.Segments.Count} segment(s), 100,000 nodes) {data.GraphBuildTime.Single.TotalSeconds:F1} s, " +
                             $"of the 4 shards (about 25,000 nodes each) {data.GraphBuildTime.Sharded.TotalSeconds:F1} s");
        }
        var exact = new DenseStage(new DenseSpec("synthetic-64") { Mode = SearchMode.Exact });
        const int Ef = 200; // the default beam (DenseSearcher.DefaultEf), stated so that the figures below stay comparable
        var graph = new DenseStage(new DenseSpec("synthetic-64", Ef: Ef) { Mode = SearchMode.Graph });
        RetrievalRequest Request(string id) => new(null, ShardedPair.SyntheticVector("query " + id, 64));

        // the graphs of the single index, and of the shards searched in this process (what the cluster must match)
        var singleGraph = new Dictionary<string, Hit[]>(StringComparer.Ordinal);
        var shardedGraph = new Dictionary<string, Hit[]>(StringComparer.Ordinal);
        using (var single = IndexReader.Open(data.SingleDir))
        using (var local = new LocalShards(data.ShardedDir, ExtensionRegistry.Create(Extensions)))
        {
            var target = new ShardedTarget(local.Shards, Relevo.Analysis.Analyzer.Create("english"), new GlobalStatisticsCache());
            foreach (var (id, _) in data.Queries)
            {
                singleGraph[id] = LocalTarget.Retrieve(single, graph, Request(id), 10);
                shardedGraph[id] = await target.RetrieveAsync(graph, Request(id), 10, default);
                Assert.Equal(10, shardedGraph[id].Length);
            }
        }

        await using var cluster = await StartCluster(data.ShardedDir);
        var (_, shards) = Connect(cluster);
        int sameAsSingle = 0;
        var exactTop = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        double exactRecallSingle = 0, exactRecallSharded = 0;
        using (var single = IndexReader.Open(data.SingleDir))
        {
            foreach (var (id, _) in data.Queries)
            {
                // exact: every vector scored, so the cluster ranks exactly as one index
                var expected = LocalTarget.Retrieve(single, exact, Request(id), 10);
                var target = new ShardedTarget(shards.Shards, Relevo.Analysis.Analyzer.Create("english"), new GlobalStatisticsCache());
                var actual = await target.RetrieveAsync(exact, Request(id), 10, default);
                RankingComparison.AssertSame(RankingComparison.Compare(expected, actual, 10), $"dense query {id}");
                Assert.Equal(expected.Select(h => h.Id), actual.Select(h => h.Id));

                // graph: the grains walk the same shard graphs the same way as this process does
                target = new ShardedTarget(shards.Shards, Relevo.Analysis.Analyzer.Create("english"), new GlobalStatisticsCache());
                var walked = await target.RetrieveAsync(graph, Request(id), 10, default);
                Assert.Equal(shardedGraph[id].Select(h => (h.Id, h.Score)), walked.Select(h => (h.Id, h.Score)));

                // how often the 4 graphs of 25,000 nodes agree with the one of 100,000, and with the exact top 10
                if (walked.Select(h => h.Id).ToHashSet(StringComparer.Ordinal).SetEquals(singleGraph[id].Select(h => h.Id))) sameAsSingle++;
                var truth = exactTop[id] = expected.Select(h => h.Id).ToHashSet(StringComparer.Ordinal);
                exactRecallSingle += singleGraph[id].Count(h => truth.Contains(h.Id)) / 10.0;
                exactRecallSharded += walked.Count(h => truth.Contains(h.Id)) / 10.0;
            }
        }
        // Uniform random 64-dimensional vectors are the hardest case for a graph: hnswlib 0.6.1 with the same parameters
        // (M 16, ef_construction 100, inner product) on 100,000 such vectors finds 0.61 of the exact top 10 at ef 100,
        // 0.79 at ef 200 and 0.92 at ef 400, and over 4 shards of 25,000 0.87, 0.97 and 0.995; so two graph searches
        // rarely agree on all ten: hnswlib's single-graph and 4-shard top 10 are the same set for 1% of queries at ef 100,
        // 10% at ef 200, 45% at ef 400. The graphs here are held to hnswlib's recall, less a margin; how often the
        // shards' top 10 is the single index's is reported, not asserted.
        int n = data.Queries.Count;
        double wide = 0;
        var ef400 = new DenseStage(new DenseSpec("synthetic-64", Ef: 400) { Mode = SearchMode.Graph });
        using (var single = IndexReader.Open(data.SingleDir))
            foreach (var (id, _) in data.Queries)
                wide += LocalTarget.Retrieve(single, ef400, Request(id), 10).Count(h => exactTop[id].Contains(h.Id)) / 10.0;
        string summary = $"graph top 10 at ef {Ef}: the cluster's equals the single index's for {sameAsSingle} of {n} queries ({(double)sameAsSingle / n:P1}); " +
                         $"recall@10 against the exact top 10: single index {exactRecallSingle / n:F3} ({wide / n:F3} at ef 400), " +
                         $"4 shards {exactRecallSharded / n:F3}";
        output.WriteLine(summary);
        Assert.True(exactRecallSingle / n >= 0.75, summary);
        Assert.True(wide / n >= 0.88, summary);
        Assert.True(exactRecallSharded / n >= 0.93, summary);
        output.WriteLine($"test time {testClock.Elapsed.TotalSeconds:F0} s");
    }

    /// <summary>arctic-xs over the 100,000-document synthetic corpus, 2,000 queries (heavy beyond heavy: embedding
    /// 100,000 passages takes hours on 2 CPU cores, so it also needs RELEVO_SYNTHETIC_DOCS, the number of documents
    /// to take, e.g. 100000; a smaller number checks the test itself quickly).</summary>
    [HeavyFact]
    public async Task DenseArcticXsOnTheSyntheticCorpusRanksExactlyAsOneIndex()
    {
        if (!int.TryParse(Environment.GetEnvironmentVariable("RELEVO_SYNTHETIC_DOCS"), out int docs) || docs < 1)
            Assert.Fail("set RELEVO_SYNTHETIC_DOCS (e.g. 100000) to say how much of the synthetic corpus to embed");
        using var dir = new TempDir();
        var dataset = SyntheticCorpus(dir, 100_000, 2000);
        using var data = new ShardedPair(dataset, maxDocs: docs);
        using (var model = EmbeddingModel.Load("arctic-xs")) data.AddVectors(model);
        await AssertSameRankings(data, [("dense(model=arctic-xs)", 10), ("fuse(rrf,bm25,dense(model=arctic-xs))", 10)]);
    }

    private static Relevo.Collections.BeirDataset SyntheticCorpus(TempDir dir, int docs, int queries)
    {
        BenchCorpus.Generate(dir["syn"], docs, queries, seed: 11);
        return new Relevo.Collections.BeirDataset("synthetic", Path.Combine(dir["syn"], "corpus.jsonl"), Path.Combine(dir["syn"], "queries.jsonl"), dir["no-qrels"]);
    }

    /// <summary>Dense and hybrid retrieval across shards, CI-sized: ADI (82 short documents, 35 queries) with arctic-xs.</summary>
    [Fact]
    public async Task DenseAndHybridRankExactlyAsOneIndexOnAdi()
    {
        using var data = new ShardedPair(TestData.Dataset("adi"));
        using (var model = EmbeddingModel.Load("arctic-xs")) data.AddVectors(model);
        await AssertSameRankings(data, [("dense(model=arctic-xs)", 10), ("dense(model=arctic-xs)", 82), ("fuse(rrf,bm25,dense(model=arctic-xs))", 10),
            ("fuse(minmax,bm25,dense(model=arctic-xs))", 20), ("dense(model=arctic-xs)>>vprf>>dense(model=arctic-xs)", 10),
            ("bm25>>rerank(dense(model=arctic-xs),depth=20)", 10)]);
    }

    /// <summary>Dense and hybrid retrieval across shards on all of SciFact (heavy: embeds 5,183 passages on the CPU
    /// unless the embedding cache has them).</summary>
    [HeavyFact]
    public async Task DenseAndHybridRankExactlyAsOneIndexOnSciFact()
    {
        using var data = new ShardedPair(TestData.Dataset("scifact"));
        using (var model = EmbeddingModel.Load("arctic-xs")) data.AddVectors(model);
        await AssertSameRankings(data, [("dense(model=arctic-xs)", 100), ("fuse(rrf,bm25,dense(model=arctic-xs))", 100),
            ("fuse(minmax,bm25,dense(model=arctic-xs))", 10)]);
    }

    /// <summary>Facets and sorting by typed fields through the grains (every shard's answer crosses Orleans' serializers
    /// from a silo to the client): matching counts, facets and sorted hits equal the single index's, for plain and
    /// Lucene-syntax queries with and without a filter, and the typed fields are the single index's.</summary>
    [Fact]
    public async Task FacetsAndSortingOnTheClusterEqualOneIndex()
    {
        using var dir = new TempDir();
        string corpus = Path.Combine(dir.Path, "typed.jsonl");
        string[] words = ["wing", "flow", "heat", "layer", "shock", "wave"];
        string[] langs = ["en", "de", "fr"];
        using (var w = new StreamWriter(corpus))
            for (int i = 0; i < 600; i++)
                w.WriteLine(System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
                {
                    ["_id"] = $"d{i}", ["title"] = "", ["text"] = $"{words[i % 6]} {words[i * 7 % 5]} note {i}", ["year"] = 1950 + i % 17,
                    ["lang"] = langs[i % 3], ["score"] = 0.1 + i % 10 / 4.0, ["date"] = $"19{50 + i % 30}-0{1 + i % 9}-01",
                    ["tags"] = i % 4 == 0 ? new[] { "a", "b" } : new[] { $"t{i % 5}" },
                }));
        using var data = new ShardedPair(corpus);
        await using var cluster = await StartCluster(data.ShardedDir, silos: 2);
        var (index, _) = Connect(cluster);
        using (index)
        {
            string[] fields = ["year", "lang", "score", "date", "tags"];
            var queries = new[] { ("wing", QuerySyntax.Plain), ("flow heat", QuerySyntax.Plain), ("+wing -heat", QuerySyntax.Lucene), ("shock lang:en", QuerySyntax.Lucene) };
            foreach (var (query, syntax) in queries)
                foreach (var filter in new[] { null, "year:[1955 TO 1960]" })
                {
                    var options = new SearchOptions { Syntax = syntax, Filter = filter, Facets = fields, FacetSize = 4 };
                    var one = data.Single.Search(query, "bm25", 10, options);
                    var onCluster = await index.SearchAsync(query, "bm25", 10, options);
                    Assert.Equal(one.Matching, onCluster.Matching);
                    Assert.True(one.Matching > 0);
                    foreach (var f in fields) Assert.Equal(one.Facets![f], onCluster.Facets![f]);
                    Assert.Null(onCluster.ApproximateFacets);
                    foreach (var field in fields)
                        foreach (var order in new[] { "asc", "desc" })
                            foreach (int k in new[] { 1, 10, 100 })
                            {
                                var sorted = new SearchOptions { Syntax = syntax, Filter = filter, Sort = $"{field}:{order}" };
                                Assert.Equal(data.Single.Search(query, "bm25", k, sorted).Hits.Select(h => h.Id),
                                    (await index.SearchAsync(query, "bm25", k, sorted)).Hits.Select(h => h.Id));
                            }
                }
            Assert.Equal((await data.Single.TypedFieldsAsync())!.OrderBy(f => f.Key, StringComparer.Ordinal),
                (await index.TypedFieldsAsync())!.OrderBy(f => f.Key, StringComparer.Ordinal));
        }
    }

    [Fact]
    public async Task WritesThroughTheClusterAreCommittedAsOneVersion()
    {
        using var data = new ShardedPair(TestData.Dataset("scifact"));
        data.Close();
        await using var cluster = await StartCluster(data.ShardedDir);
        var (index, _) = Connect(cluster);
        using var _index = index;
        long before = ShardedManifest.Read(data.ShardedDir).Version;
        const string query = "zyzzogeton quokka";
        Assert.Empty((await index.SearchAsync(query)).Hits);

        var docs = new[]
        {
            new Document("new-1", "zyzzogeton", "a zyzzogeton is a tropical insect"),
            new Document("new-2", "quokka", "the quokka is a small marsupial"),
            new Document("new-3", "both", "zyzzogeton and quokka"),
        };
        long version = await index.AddAsync(docs);
        Assert.Equal(before + 1, version);
        var hits = (await index.SearchAsync(query)).Hits;
        Assert.Equal(["new-3", "new-1", "new-2"], hits.Take(1).Select(h => h.Id).Concat(hits.Skip(1).Select(h => h.Id).Order()));
        foreach (var d in docs)
        {
            // each document lives in the shard its id routes to, and nowhere else
            int owner = ShardRouter.ShardOf(d.Id, 4);
            var manifest = ShardedManifest.Read(data.ShardedDir);
            for (int s = 0; s < 4; s++)
            {
                using var r = IndexReader.Open(Path.Combine(data.ShardedDir, manifest.Shards[s].Folder), manifest.Shards[s].Commit);
                Assert.Equal(s == owner, r.GetDocument(d.Id) is not null);
            }
        }

        // replace and delete
        await index.AddAsync([new Document("new-2", "quokka", "renamed: no marsupial here")]);
        Assert.Equal("renamed: no marsupial here", (await index.GetDocumentAsync("new-2"))!.Text);
        var (deleted, v2) = await index.DeleteAsync("new-1");
        Assert.True(deleted);
        Assert.Equal(before + 3, v2);
        Assert.DoesNotContain((await index.SearchAsync(query)).Hits, h => h.Id == "new-1");
        var (again, v3) = await index.DeleteAsync("new-1");
        Assert.False(again);
        Assert.Equal(v2, v3);
        Assert.Equal(5183 + 2, (await index.StatusAsync(withSize: false)).Documents);
    }
}
