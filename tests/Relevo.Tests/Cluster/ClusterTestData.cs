using Relevo.Collections;
using Relevo.Evaluation;
using Relevo.Index;
using Relevo.Pipelines;
using Relevo.Search;
using Relevo.Sharding;

namespace Relevo.Tests.Cluster;

/// <summary>A collection (SciFact by default) as one ordinary index and as a 4-shard index of the same corpus, added in
/// the same order, and its test queries; and the comparison of a sharded ranking with the single index's.</summary>
internal sealed class ShardedSciFact : IDisposable
{
    private readonly TempDir _dir = new();

    public string SingleDir => _dir["single"];
    public string ShardedDir => _dir["sharded"];
    public IReadOnlyList<(string Id, string Text)> Queries { get; }
    public IndexReader Single { get; private set; }

    public ShardedSciFact(int shards = 4) : this(TestData.Dataset("scifact"), shards) { }

    /// <summary>Any BEIR-layout collection (only the queries judged in its qrels, if it has qrels).</summary>
    public ShardedSciFact(BeirDataset data, int shards = 4, int maxDocs = int.MaxValue)
    {
        IEnumerable<Document> Corpus() => JsonlReader.ReadCorpus(data.CorpusPath).Take(maxDocs);
        using (var w = IndexWriter.Open(SingleDir))
        {
            w.AddRange(Corpus());
            w.Commit();
        }
        ShardedIndex.CreateOrOpen(ShardedDir, shards);
        var hosts = ShardedIndex.OpenLocal(ShardedDir);
        try
        {
            var writer = new ClusterWriter(ShardedDir, hosts);
            writer.AddAsync(Corpus(), replace: false).GetAwaiter().GetResult();
            writer.CommitAsync().GetAwaiter().GetResult();
        }
        finally
        {
            foreach (var h in hosts) h.Dispose();
        }
        var all = JsonlReader.ReadQueries(data.QueriesPath);
        if (File.Exists(data.QrelsPath))
        {
            var test = Qrels.Load(data.QrelsPath).QueryIds.ToHashSet();
            all = all.Where(q => test.Contains(q.Id)).ToList();
        }
        Queries = all;
        Single = IndexReader.Open(SingleDir);
    }

    /// <summary>The single index's ranking for every query.</summary>
    /// <summary>Adds the model's vectors to both indexes (the sharded one through each shard and a cluster-wide commit).</summary>
    public void AddVectors(string model)
    {
        using var m = Relevo.Dense.EmbeddingModel.Load(model);
        Relevo.Dense.DenseIndexer.AddVectors(SingleDir, m);
        Single.Dispose();
        Single = IndexReader.Open(SingleDir);
        var hosts = ShardedIndex.OpenLocal(ShardedDir);
        try
        {
            foreach (var h in hosts) h.AddVectors(m);
            new ClusterWriter(ShardedDir, hosts).CommitAsync().GetAwaiter().GetResult();
        }
        finally
        {
            foreach (var h in hosts) h.Dispose();
        }
    }

    /// <summary>Stores, for both indexes, vectors of a synthetic "model": each document's vector is a pseudo-random unit
    /// vector seeded by its id (<see cref="SyntheticVector"/>). Exercises dense search over shards at a scale no CPU
    /// embedding model reaches in a test (the real models are checked on ADI and SciFact).</summary>
    public void AddSyntheticVectors(string model, int dims)
    {
        static void AddTo(IndexWriter w, string model, int dims)
        {
            foreach (var (entry, reader) in w.SegmentsForVectors())
            {
                var rows = new float[reader.MaxDoc * dims];
                for (int d = 0; d < reader.MaxDoc; d++) SyntheticVector(reader.GetId(d), dims).CopyTo(rows.AsSpan(d * dims));
                Relevo.Dense.VectorFiles.Write(w.Directory, entry.Name, model, dims, rows);
                w.AddVectors(entry.Name, model);
            }
            w.Commit();
        }
        Single.Dispose();
        using (var w = IndexWriter.Open(SingleDir)) AddTo(w, model, dims);
        Single = IndexReader.Open(SingleDir);
        var manifest = ClusterManifest.Read(ShardedDir);
        var shards = new List<ShardSnapshot>();
        foreach (var shard in manifest.Shards)
        {
            using var w = IndexWriter.Open(Path.Combine(ShardedDir, shard.Folder));
            AddTo(w, model, dims);
            shards.Add(shard with { Commit = w.LastCommit });
        }
        (manifest with { Version = manifest.Version + 1, Shards = shards }).Commit(ShardedDir);
    }

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

    public Dictionary<string, IReadOnlyList<SearchHit>> Expected(string pipeline, int k)
    {
        using var ctx = new SearchContext(Single);
        var p = Pipeline.Parse(pipeline);
        var result = new Dictionary<string, IReadOnlyList<SearchHit>>();
        foreach (var (id, text) in Queries) result[id] = p.Search(text, k, ctx).Hits;
        return result;
    }

    public void Dispose()
    {
        Single.Dispose();
        _dir.Dispose();
    }

    /// <summary>Differences between a sharded ranking and the single index's (empty: the same): the same documents
    /// in the same order, scores within 1e-5. (Ties break by cluster-wide ordinal, as one index breaks them by document
    /// number, so equal scores come in the same order too.)</summary>
    public static List<string> Compare(IReadOnlyList<SearchHit> expected, IReadOnlyList<SearchHit> actual, int max = 5)
    {
        var problems = new List<string>();
        if (expected.Count != actual.Count) problems.Add($"{actual.Count} hits, expected {expected.Count}");
        int n = Math.Min(expected.Count, actual.Count);
        for (int i = 0; i < n && problems.Count < max; i++)
            if (expected[i].DocId != actual[i].DocId || Math.Abs(expected[i].Score - actual[i].Score) > 1e-5f)
                problems.Add($"rank {i + 1}: {actual[i].DocId} {actual[i].Score}, expected {expected[i].DocId} {expected[i].Score}");
        return problems;
    }
}
