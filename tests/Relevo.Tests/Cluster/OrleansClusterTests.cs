using Orleans.TestingHost;
using Relevo.Cluster;
using Relevo.Index;
using Relevo.Pipelines;
using Relevo.Search;
using Relevo.Sharding;

namespace Relevo.Tests.Cluster;

/// <summary>Three in-process silos (Orleans' test host) serving a 4-shard SciFact index: every SciFact query ranks
/// as on the single index, for bm25, ql and fused pipelines; writes through the cluster become visible whole.</summary>
public sealed class OrleansClusterTests
{
    private static async Task<InProcessTestCluster> StartCluster(string data, short silos = 3)
    {
        var builder = new InProcessTestClusterBuilder(silos);
        builder.ConfigureSilo((_, silo) => ClusterHosting.ConfigureServices(silo.Services, data));
        builder.ConfigureClient(client => ClusterHosting.AddRelevoSerialization(client.Services));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    [Fact]
    public async Task FourShardsOnThreeSilosRankExactlyAsOneIndex()
    {
        using var data = new ShardedSciFact();
        await using var cluster = await StartCluster(data.ShardedDir);
        var index = new OrleansShardedIndex(cluster.Client, 4, "english", "test cluster");
        using var backend = new ClusterBackend(new ClusterSearcher(index.Shards, index.Analyzer));
        using var ctx = new SearchContext(backend);

        foreach (var (pipeline, k) in new[] { ("bm25", 100), ("ql", 100), ("fuse(rrf,bm25,ql)", 100), ("fuse(minmax,bm25,ql)", 10), ("bm25", 1000) })
        {
            var expected = data.Expected(pipeline, k);
            var parsed = Pipeline.Parse(pipeline);
            int compared = 0;
            foreach (var (id, text) in data.Queries)
            {
                var actual = parsed.Search(text, k, ctx).Hits;
                var problems = ShardedSciFact.Compare(expected[id], actual);
                Assert.True(problems.Count == 0, $"{pipeline} k={k} query {id}: {string.Join("; ", problems)}");
                compared++;
            }
            Assert.Equal(300, compared);
        }

        // the shards are spread over the silos (activation-count placement)
        var silos = await index.ShardSilosAsync();
        Assert.True(silos.Distinct().Count() >= 2, "all shards on one silo: " + string.Join(", ", silos));
    }

    /// <summary>Runs every query of <paramref name="data"/> through the cluster and the single index for each pipeline
    /// and demands the same rankings.</summary>
    private static async Task AssertSameRankings(ShardedSciFact data, IEnumerable<(string Pipeline, int K)> runs)
    {
        await using var cluster = await StartCluster(data.ShardedDir);
        var index = new OrleansShardedIndex(cluster.Client, 4, "english", "test cluster");
        using var backend = new ClusterBackend(new ClusterSearcher(index.Shards, index.Analyzer));
        using var ctx = new SearchContext(backend);
        foreach (var (pipeline, k) in runs)
        {
            var expected = data.Expected(pipeline, k);
            var parsed = Pipeline.Parse(pipeline);
            var texts = data.Queries.Select(q => q.Text).ToList();
            foreach (var d in parsed.Root.Descendants().OfType<DenseStage>()) ctx.Dense(d.Spec).PrepareQueries(texts);
            foreach (var (id, text) in data.Queries)
            {
                var problems = ShardedSciFact.Compare(expected[id], parsed.Search(text, k, ctx).Hits);
                Assert.True(problems.Count == 0, $"{pipeline} k={k} query {id}: {string.Join("; ", problems)}");
            }
        }
        var silos = await index.ShardSilosAsync();
        Assert.True(silos.Distinct().Count() >= 2, "all shards on one silo: " + string.Join(", ", silos));
    }

    /// <summary>The 100,000-document synthetic corpus of the benchmarks with 2,000 queries (make-bench-corpus, seed 11).</summary>
    [Fact]
    public async Task SyntheticCorpusOf100kDocumentsRanksExactlyAsOneIndex()
    {
        using var dir = new TempDir();
        var dataset = SyntheticCorpus(dir, 100_000, 2000);
        using var data = new ShardedSciFact(dataset);
        Assert.Equal(2000, data.Queries.Count);
        await AssertSameRankings(data, [("bm25", 10), ("bm25", 100), ("fuse(rrf,bm25,ql,depth=100)", 10)]);

        // dense: 64-dimensional vectors seeded by document id (no CPU model embeds 100,000 passages in a test)
        data.AddSyntheticVectors("synthetic-64", 64);
        await using var cluster = await StartCluster(data.ShardedDir);
        var index = new OrleansShardedIndex(cluster.Client, 4, "english", "test cluster");
        var searcher = new ClusterSearcher(index.Shards, index.Analyzer);
        using var single = new Relevo.Dense.DenseSearcher(data.Single, "synthetic-64");
        foreach (var (id, _) in data.Queries)
        {
            var vector = ShardedSciFact.SyntheticVector("query " + id, 64);
            var expected = single.Search(vector, 10);
            var actual = await searcher.SearchDenseAsync(new DenseSpec("synthetic-64"), vector, 10);
            var problems = ShardedSciFact.Compare(expected, actual);
            Assert.True(problems.Count == 0, $"dense query {id}: {string.Join("; ", problems)}");
        }
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
        using var data = new ShardedSciFact(dataset, maxDocs: docs);
        data.AddVectors("arctic-xs");
        await AssertSameRankings(data, [("dense(model=arctic-xs)", 10), ("fuse(rrf,bm25,dense(model=arctic-xs))", 10)]);
    }

    private static Relevo.Collections.BeirDataset SyntheticCorpus(TempDir dir, int docs, int queries)
    {
        Sharding.BenchCorpus.Generate(dir["syn"], docs, queries, seed: 11);
        return new Relevo.Collections.BeirDataset("synthetic", Path.Combine(dir["syn"], "corpus.jsonl"), Path.Combine(dir["syn"], "queries.jsonl"), dir["no-qrels"]);
    }

    /// <summary>Dense and hybrid retrieval across shards, CI-sized: ADI (82 short documents, 35 queries) with arctic-xs.</summary>
    [Fact]
    public async Task DenseAndHybridRankExactlyAsOneIndexOnAdi()
    {
        using var data = new ShardedSciFact(TestData.Dataset("adi"));
        data.AddVectors("arctic-xs");
        await AssertSameRankings(data, [("dense(model=arctic-xs)", 10), ("dense(model=arctic-xs)", 82), ("fuse(rrf,bm25,dense(model=arctic-xs))", 10),
            ("fuse(minmax,bm25,dense(model=arctic-xs))", 20)]);
    }

    /// <summary>Dense and hybrid retrieval across shards on all of SciFact (heavy: embeds 5,183 passages on the CPU
    /// unless the embedding cache has them).</summary>
    [HeavyFact]
    public async Task DenseAndHybridRankExactlyAsOneIndexOnSciFact()
    {
        using var data = new ShardedSciFact();
        data.AddVectors("arctic-xs");
        await AssertSameRankings(data, [("dense(model=arctic-xs)", 100), ("fuse(rrf,bm25,dense(model=arctic-xs))", 100),
            ("fuse(minmax,bm25,dense(model=arctic-xs))", 10)]);
    }

    [Fact]
    public async Task WritesThroughTheClusterAreCommittedAsOneVersion()
    {
        using var data = new ShardedSciFact();
        await using var cluster = await StartCluster(data.ShardedDir);
        var index = new OrleansShardedIndex(cluster.Client, 4, "english", "test cluster");
        var searcher = new ClusterSearcher(index.Shards, index.Analyzer);
        long before = ClusterManifest.Read(data.ShardedDir).Version;
        var query = Query.Parse("zyzzogeton quokka", searcher.Analyzer);
        Assert.Empty(await searcher.SearchBm25Async(query, 10));

        var docs = new[]
        {
            new Document("new-1", "zyzzogeton", "a zyzzogeton is a tropical insect"),
            new Document("new-2", "quokka", "the quokka is a small marsupial"),
            new Document("new-3", "both", "zyzzogeton and quokka"),
        };
        long version = await index.Writes.AddAndCommitAsync(docs);
        Assert.Equal(before + 1, version);
        var hits = await searcher.SearchBm25Async(query, 10);
        Assert.Equal(["new-3", "new-1", "new-2"], hits.Take(1).Select(h => h.DocId).Concat(hits.Skip(1).Select(h => h.DocId).Order()));
        foreach (var d in docs)
        {
            // each document lives in the shard its id routes to, and nowhere else
            int owner = ShardRouter.ShardOf(d.Id, 4);
            var manifest = ClusterManifest.Read(data.ShardedDir);
            for (int s = 0; s < 4; s++)
            {
                using var r = IndexReader.Open(Path.Combine(data.ShardedDir, manifest.Shards[s].Folder), manifest.Shards[s].Commit);
                Assert.Equal(s == owner, r.GetDocument(d.Id) is not null);
            }
        }

        // replace and delete
        await index.Writes.AddAndCommitAsync([new Document("new-2", "quokka", "renamed: no marsupial here")]);
        Assert.Equal("renamed: no marsupial here", (await searcher.GetDocumentAsync("new-2"))!.Text);
        var (deleted, v2) = await index.Writes.DeleteAndCommitAsync("new-1");
        Assert.True(deleted);
        Assert.Equal(before + 3, v2);
        Assert.DoesNotContain(await searcher.SearchBm25Async(query, 10), h => h.DocId == "new-1");
        var (again, v3) = await index.Writes.DeleteAndCommitAsync("new-1");
        Assert.False(again);
        Assert.Equal(v2, v3);
        Assert.Equal(5183 + 2, await searcher.LiveDocsAsync());
    }
}
