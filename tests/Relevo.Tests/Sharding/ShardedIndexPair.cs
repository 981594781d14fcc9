using System.Diagnostics;
using Relevo.Collections;
using Relevo.Dense;
using Relevo.Index;
using Relevo.Pipelines;
using Relevo.Search;
using Relevo.Sharding;

namespace Relevo.Tests.Sharding;

/// <summary>One corpus indexed twice through the library: as one ordinary index (IndexWriter + CorpusIndexer) and as
/// a sharded index (ShardedIndex + ClusterWriter, one cluster-wide commit), both optionally with a model's vectors;
/// and a search context over each, so that the same pipeline can run on both and the runs be compared.</summary>
internal sealed class ShardedIndexPair : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly IndexReader _reader;
    private readonly ShardHost[] _hosts;
    private readonly ClusterBackend _backend;

    public string SingleDir => _dir["single"];
    public string ShardedDir => _dir["sharded"];
    public int Shards { get; }
    public SearchContext Single { get; }
    public SearchContext Sharded { get; }
    public IReadOnlyList<ShardHost> Hosts => _hosts;
    public TimeSpan BuildTime { get; }

    /// <param name="corpus">A JSON-lines corpus (optionally gzipped).</param>
    /// <param name="denseModel">A model whose vectors both indexes store (null: none).</param>
    public ShardedIndexPair(string corpus, int shards = 4, EmbeddingModel? denseModel = null)
    {
        Shards = shards;
        var clock = Stopwatch.StartNew();
        string source = corpus;

        using (var w = IndexWriter.Open(SingleDir))
        {
            CorpusIndexer.AddCorpus(w, source);
            w.Commit();
            if (denseModel is not null) DenseIndexer.AddVectors(w, denseModel);
        }

        ShardedIndex.CreateOrOpen(ShardedDir, shards);
        _hosts = ShardedIndex.OpenLocal(ShardedDir);
        var writer = new ClusterWriter(ShardedDir, _hosts);
        writer.AddAsync(JsonlReader.ReadCorpus(source), replace: false).GetAwaiter().GetResult();
        writer.CommitAsync().GetAwaiter().GetResult();
        if (denseModel is not null)
        {
            foreach (var h in _hosts) h.AddVectors(denseModel);
            writer.CommitAsync().GetAwaiter().GetResult();
        }
        BuildTime = clock.Elapsed;

        _reader = IndexReader.Open(SingleDir);
        Single = new SearchContext(_reader);
        var manifest = ClusterManifest.Read(ShardedDir);
        _backend = new ClusterBackend(new ClusterSearcher(_hosts, manifest.Analyzer));
        Sharded = new SearchContext(_backend);
    }

    /// <summary>Runs <paramref name="pipeline"/> over both indexes (the way `relevo run` does) and returns every
    /// difference of the sharded run from the single-index run (empty: equal). Beyond <see cref="RankingComparison"/>
    /// (scores rank by rank, the same documents up to ties), the order must be the same too, ties included: shards break
    /// ties by cluster-wide ordinal, as one index breaks them by document number.</summary>
    public IReadOnlyList<string> Compare(string pipeline, IReadOnlyList<(string Id, string Text)> queries, int k, int threads = 2)
    {
        var p = Pipeline.Parse(pipeline);
        var expected = ByQuery(p.Run(queries, k, Single, threads));
        var actual = ByQuery(p.Run(queries, k, Sharded, threads));
        var diffs = new List<string>(RankingComparison.CompareRuns(expected, actual, k));
        foreach (var (qid, e) in expected)
        {
            if (!actual.TryGetValue(qid, out var a)) continue;
            for (int i = 0; i < Math.Min(e.Count, a.Count) && diffs.Count <= RankingComparison.MaxListed; i++)
                if (e[i].Id != a[i].Id) { diffs.Add($"query {qid}: rank {i + 1}: {a[i].Id}, expected {e[i].Id} (order of equal scores)"); break; }
        }
        return diffs;
    }

    /// <summary>For a reciprocal-rank-fusion pipeline (fuse(rrf, A, B, ...) with the default k = 60 and depth 1000):
    /// runs it over both indexes and its inputs over the single index, and returns every difference that the order
    /// of tied input scores cannot explain (<see cref="RrfComparison"/>).</summary>
    public IReadOnlyList<string> CompareRrf(string pipeline, IReadOnlyList<(string Id, string Text)> queries, int k, int threads = 2)
    {
        var p = Pipeline.Parse(pipeline);
        var fuse = Assert.IsType<FuseStage>(p.Root);
        Assert.Equal(FusionMethod.Rrf, fuse.Method);
        Assert.Equal($"fuse(rrf,{string.Join(",", fuse.Inputs.Select(i => i.Text))})", p.Text); // default k and depth
        var inputs = fuse.Inputs.Select(i => ByQuery(new Pipeline(i).Run(queries, Math.Max(k, 1000), Single, threads))).ToArray();
        var expected = ByQuery(p.Run(queries, k, Single, threads));
        var actual = ByQuery(p.Run(queries, k, Sharded, threads));
        var diffs = new List<string>();
        foreach (var (qid, _) in queries)
        {
            IReadOnlyList<(string Id, double Score)> Of(Dictionary<string, IReadOnlyList<(string Id, double Score)>> run) =>
                run.TryGetValue(qid, out var r) ? r : [];
            foreach (var d in RrfComparison.Compare(inputs.Select(Of).ToArray(), Of(expected), Of(actual), k))
                diffs.Add($"query {qid}: {d}");
            if (diffs.Count > RankingComparison.MaxListed) break;
        }
        return diffs;
    }

    /// <summary>How many of the queries returned at least one hit on the single index (a sanity check that the
    /// comparison compared something).</summary>
    public int QueriesWithHits(string pipeline, IReadOnlyList<(string Id, string Text)> queries, int k)
    {
        var run = Pipeline.Parse(pipeline).Run(queries, k, Single, threads: 2);
        return queries.Count(q => run.ForQuery(q.Id).Count > 0);
    }

    private static Dictionary<string, IReadOnlyList<(string Id, double Score)>> ByQuery(Relevo.Evaluation.TrecRun run)
    {
        var d = new Dictionary<string, IReadOnlyList<(string Id, double Score)>>(StringComparer.Ordinal);
        foreach (var q in run.QueryIds) d[q] = [.. run.ForQuery(q)];
        return d;
    }

    public void Dispose()
    {
        Sharded.Dispose();
        _backend.Dispose();
        foreach (var h in _hosts) h.Dispose();
        Single.Dispose();
        _reader.Dispose();
        _dir.Dispose();
    }
}
