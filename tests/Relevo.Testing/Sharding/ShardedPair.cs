using System.Diagnostics;
using Relevo.Collections;
using Relevo.Dense;
using Relevo.Evaluation;
using Relevo.Index;
using Relevo.Pipelines;

namespace Relevo.Testing;

/// <summary>One corpus indexed twice through the public API, in the same order: as one ordinary index and as a sharded
/// index (one cluster-wide commit), both optionally with a model's vectors; and a <see cref="SearchIndex"/> over each,
/// so that the same pipeline runs on both and the runs can be compared. The one fixture the sharding, cluster and server
/// tests build their "single index and the same corpus sharded" from.</summary>
internal sealed class ShardedPair : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly IReadOnlyList<IRelevoExtension> _extensions;

    public string SingleDir => _dir["single"];
    public string ShardedDir => _dir["sharded"];
    public int Shards { get; }
    public SearchIndex Single { get; private set; }
    public SearchIndex Sharded { get; private set; }
    public TimeSpan BuildTime { get; }

    /// <summary>The corpus's queries (only those its qrels judge, when there are qrels), when built from a dataset.</summary>
    public IReadOnlyList<(string Id, string Text)> Queries { get; } = [];

    /// <param name="corpus">A JSON-lines corpus (optionally gzipped).</param>
    /// <param name="denseModel">A model whose vectors both indexes store (null: none).</param>
    /// <param name="maxDocs">Only the first documents of the corpus.</param>
    public ShardedPair(string corpus, int shards = 4, EmbeddingModel? denseModel = null, int maxDocs = int.MaxValue)
    {
        Shards = shards;
        _extensions = [new DenseExtension(), new Relevo.Llm.LlmExtension(null)];
        var clock = Stopwatch.StartNew();
        IEnumerable<Document> Corpus() => JsonlReader.ReadCorpus(corpus).Take(maxDocs);
        using (var w = SearchIndex.OpenWriter(SingleDir, new WriterOptions(), _extensions))
        {
            w.AddRange(Corpus());
            w.Commit();
            if (denseModel is not null) DenseIndexer.AddVectors(w, denseModel);
        }
        using (var w = SearchIndex.OpenWriter(ShardedDir, new WriterOptions { Shards = shards }, _extensions))
        {
            w.AddRange(Corpus());
            w.Commit();
            if (denseModel is not null) DenseIndexer.AddVectors(w, denseModel);
        }
        BuildTime = clock.Elapsed;
        Single = Open(SingleDir);
        Sharded = Open(ShardedDir);
    }

    /// <summary>A dataset's corpus, with its (judged) test queries.</summary>
    public ShardedPair(BeirDataset data, int shards = 4, int maxDocs = int.MaxValue) : this(data.CorpusPath, shards, null, maxDocs)
    {
        var all = JsonlReader.ReadQueries(data.QueriesPath);
        if (File.Exists(data.QrelsPath))
        {
            var judged = Qrels.Load(data.QrelsPath).QueryIds.ToHashSet();
            all = all.Where(q => judged.Contains(q.Id)).ToList();
        }
        Queries = all;
    }

    private SearchIndex Open(string dir) => SearchIndex.Open(dir, new SearchIndexOptions { Extensions = _extensions });

    /// <summary>A new <see cref="SearchIndex"/> over the sharded folder (a coordinator that has not searched yet).</summary>
    public SearchIndex OpenSharded() => Open(ShardedDir);

    /// <summary>Closes both indexes (e.g. for a server or a cluster to open the folders), or reopens them.</summary>
    public void Close()
    {
        Single.Dispose();
        Sharded.Dispose();
    }

    public void Reopen()
    {
        Single = Open(SingleDir);
        Sharded = Open(ShardedDir);
    }

    /// <summary>Adds a model's vectors to both indexes (the sharded one through every shard and a cluster-wide commit).</summary>
    public void AddVectors(EmbeddingModel model)
    {
        Close();
        foreach (var (dir, shards) in new[] { (SingleDir, (int?)null), (ShardedDir, Shards) })
        {
            using var w = SearchIndex.OpenWriter(dir, new WriterOptions { Shards = shards }, _extensions);
            DenseIndexer.AddVectors(w, model);
        }
        Reopen();
    }

    /// <summary>Gives both indexes 8-bit quantized BM25 impacts (over the collection-wide statistics: every shard's
    /// segments for the sharded one), so that bm25 scores by them.</summary>
    public void AddImpacts()
    {
        Close();
        foreach (var (dir, shards) in new[] { (SingleDir, (int?)null), (ShardedDir, Shards) })
        {
            using var w = SearchIndex.OpenWriter(dir, new WriterOptions { Shards = shards }, _extensions);
            var writers = new List<Relevo.Index.IndexWriter>();
            w.ForEachIndexWriter((iw, _) => writers.Add(iw));
            Relevo.Search.Impacts.ImpactBuilder.Build(writers, Relevo.Index.Impacts.ImpactModel.Bm25, 8);
            w.Commit();
        }
        Reopen();
    }

    /// <summary>Stores, for both indexes, vectors of a synthetic "model": each document's vector is a pseudo-random unit
    /// vector seeded by its id (<see cref="SyntheticVector"/>). Exercises dense search over shards at a scale no CPU
    /// embedding model reaches in a test (the real models are checked on ADI and SciFact). With <paramref name="graph"/>,
    /// every segment also gets its HNSW graph, built with those parameters on every core (the time it took, per index,
    /// is <see cref="GraphBuildTime"/>).</summary>
    public void AddSyntheticVectors(string model, int dims, HnswParameters? graph = null)
    {
        Close();
        var graphTime = new List<TimeSpan>(2);
        foreach (var (dir, shards) in new[] { (SingleDir, (int?)null), (ShardedDir, Shards) })
        {
            var clock = new Stopwatch();
            using var w = SearchIndex.OpenWriter(dir, new WriterOptions { Shards = shards }, _extensions);
            w.ForEachIndexWriter((iw, _) =>
            {
                foreach (var (entry, reader) in iw.Segments())
                {
                    var rows = new float[reader.MaxDoc * dims];
                    for (int d = 0; d < reader.MaxDoc; d++) SyntheticVector(reader.GetId(d), dims).CopyTo(rows.AsSpan(d * dims));
                    VectorFiles.Write(iw.Directory, entry.Name, model, dims, rows);
                    if (graph is { } parameters)
                    {
                        clock.Start();
                        SegmentGraphs.Build(iw.Directory, entry.Name, model, reader.MaxDoc, parameters, include: d => !reader.IsDeleted(d),
                            Environment.ProcessorCount, progress: null);
                        clock.Stop();
                    }
                    iw.AddComponentData(entry.Name, VectorComponent.Data(entry.Name, model, graph: graph is not null));
                }
            });
            w.Commit();
            graphTime.Add(clock.Elapsed);
        }
        GraphBuildTime = (graphTime[0], graphTime[1]);
        Reopen();
    }

    /// <summary>How long the last <see cref="AddSyntheticVectors"/> took to build the graphs of the single index and
    /// of all the shards (zero without graphs).</summary>
    public (TimeSpan Single, TimeSpan Sharded) GraphBuildTime { get; private set; }

    /// <summary>A pseudo-random unit vector determined by <paramref name="key"/>.</summary>
    public static float[] SyntheticVector(string key, int dims)
    {
        var rng = new Random((int)System.IO.Hashing.XxHash32.HashToUInt32(System.Text.Encoding.UTF8.GetBytes(key)));
        var v = new float[dims];
        double norm = 0;
        for (int i = 0; i < dims; i++) { v[i] = (float)(rng.NextDouble() * 2 - 1); norm += v[i] * v[i]; }
        float inv = (float)(1 / Math.Sqrt(norm));
        for (int i = 0; i < dims; i++) v[i] *= inv;
        return v;
    }

    /// <summary>Runs <paramref name="pipeline"/> over both indexes (the way `relevo run` does) and returns every
    /// difference of the sharded run from the single-index run (empty: equal). Beyond <see cref="RankingComparison"/>
    /// (scores rank by rank, the same documents up to ties), the order must be the same too, ties included: shards break
    /// ties by cluster-wide ordinal, as one index breaks them by document number.</summary>
    public IReadOnlyList<string> Compare(string pipeline, IReadOnlyList<(string Id, string Text)> queries, int k, int threads = 2) =>
        CompareRuns(Single.Run(queries, pipeline, k, new RunOptions { Threads = threads }),
            Sharded.Run(queries, pipeline, k, new RunOptions { Threads = threads }), k);

    /// <summary>The differences of <paramref name="actualRun"/> from <paramref name="expectedRun"/>: scores, members and
    /// order (ties included).</summary>
    public static IReadOnlyList<string> CompareRuns(TrecRun expectedRun, TrecRun actualRun, int k)
    {
        var expected = ByQuery(expectedRun);
        var actual = ByQuery(actualRun);
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
        var p = Pipeline.Parse(pipeline, Single.Registry);
        var fuse = Assert.IsType<FuseStage>(p.Root);
        Assert.Equal(FusionMethod.Rrf, fuse.Method);
        Assert.Equal($"fuse(rrf,{string.Join(",", fuse.Inputs.Select(i => i.Text))})", p.Text); // default k and depth
        var options = new RunOptions { Threads = threads };
        var inputs = fuse.Inputs.Select(i => ByQuery(Single.Run(queries, i.Text, Math.Max(k, 1000), options))).ToArray();
        var expected = ByQuery(Single.Run(queries, pipeline, k, options));
        var actual = ByQuery(Sharded.Run(queries, pipeline, k, options));
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
        var run = Single.Run(queries, pipeline, k, new RunOptions { Threads = 2 });
        return queries.Count(q => run.ForQuery(q.Id).Count > 0);
    }

    public static Dictionary<string, IReadOnlyList<(string Id, double Score)>> ByQuery(TrecRun run)
    {
        var d = new Dictionary<string, IReadOnlyList<(string Id, double Score)>>(StringComparer.Ordinal);
        foreach (var q in run.QueryIds) d[q] = [.. run.ForQuery(q)];
        return d;
    }

    public void Dispose()
    {
        Close();
        _dir.Dispose();
    }
}
