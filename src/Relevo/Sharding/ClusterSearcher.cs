using System.Collections.Concurrent;
using Relevo.Analysis;
using Relevo.Index;
using Relevo.Search;

namespace Relevo.Sharding;

/// <summary>The coordinator of a sharded search: gathers collection statistics from every shard, has every shard
/// score with the global values, and merges the shards' top k into the global top k (best first; ties by the
/// documents' cluster-wide ordinals, as one index breaks them by document number). All shards answer at one cluster-wide version: if a commit lands
/// between the phases, the search starts over at the newer version.
/// <para>A hit's <see cref="SearchHit.Segment"/> is its shard and <see cref="SearchHit.Doc"/> its document number within
/// the shard.</para></summary>
public sealed class ClusterSearcher
{
    private const int MaxAttempts = 5;
    private readonly IReadOnlyList<IShardService> _shards;

    private readonly ClusterStatisticsCache _cache;

    /// <param name="cache">Global statistics already gathered (share one between searchers of the same shards, e.g.
    /// one searcher per request); a new one if null.</param>
    public ClusterSearcher(IReadOnlyList<IShardService> shards, string analyzer, ClusterStatisticsCache? cache = null)
    {
        if (shards.Count == 0) throw new RelevoException("a sharded search needs at least one shard");
        _shards = shards;
        Analyzer = Analyzer.Create(analyzer);
        _cache = cache ?? new ClusterStatisticsCache();
    }

    public Analyzer Analyzer { get; }
    public int ShardCount => _shards.Count;
    public IShardService Shard(int i) => _shards[i];

    /// <summary>The cluster-wide version the last search used. <see cref="DocumentsAsync"/> fetches at this version, so
    /// a searcher that runs searches concurrently must not fetch documents (the server uses one searcher per request,
    /// sharing a <see cref="ClusterStatisticsCache"/>).</summary>
    public long Version { get; private set; } = ClusterVersion.Latest;

    public Task<IReadOnlyList<SearchHit>> SearchBm25Async(Query query, int k, Bm25Parameters? parameters = null)
    {
        var p = parameters ?? new Bm25Parameters();
        return SearchSparseAsync(query, k, SparseModel.Bm25, p.K1, p.B, 0);
    }

    public Task<IReadOnlyList<SearchHit>> SearchQueryLikelihoodAsync(Query query, int k, float mu = 1000f)
    {
        if (mu <= 0) throw new RelevoException("ql: mu must be positive");
        return SearchSparseAsync(query, k, SparseModel.QueryLikelihood, 0, 0, mu);
    }

    private async Task<IReadOnlyList<SearchHit>> SearchSparseAsync(Query query, int k, SparseModel model, float k1, float b, float mu)
    {
        if (k <= 0) throw new RelevoException("k must be at least 1");
        var terms = new string[query.Terms.Count];
        var weights = new float[query.Terms.Count];
        for (int i = 0; i < terms.Length; i++) (terms[i], weights[i]) = query.Terms[i];
        if (terms.Length == 0) return [];

        long version = ClusterVersion.Latest;
        for (int attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var global = _cache.Get(terms, version, out long cachedVersion);
            if (global is null)
            {
                var stats = await Task.WhenAll(Each(s => s.StatisticsAsync(version, terms))).ConfigureAwait(false);
                long newest = MaxVersion(stats.Select(s => s.Version));
                if (stats.Any(s => s.Version != newest)) { version = newest; continue; }
                global = GlobalStatistics.Sum(terms, stats);
                _cache.Remember(newest, global);
                version = newest;
            }
            else version = cachedVersion;

            var request = new SparseShardQuery(version, Guid.NewGuid(), model, terms, weights, k1, b, mu, global, k, float.NegativeInfinity);
            var results = await Task.WhenAll(Each(s => s.SearchSparseAsync(request))).ConfigureAwait(false);
            long answered = MaxVersion(results.Select(r => r.Version));
            if (results.Any(r => r.Version != version)) { version = answered; continue; }
            Version = version;
            return Merge(results, k);
        }
        throw new RelevoException($"the sharded index kept changing during the search ({MaxAttempts} attempts); try again");
    }

    public async Task<IReadOnlyList<SearchHit>> SearchDenseAsync(DenseSpec spec, float[] vector, int k)
    {
        if (k <= 0) throw new RelevoException("k must be at least 1");
        long version = Version;
        for (int attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var request = new DenseShardQuery(version, spec.Model, spec.Int8, spec.Oversample, vector, k);
            var results = await Task.WhenAll(Each(s => s.SearchDenseAsync(request))).ConfigureAwait(false);
            long newest = MaxVersion(results.Select(r => r.Version));
            if (results.Any(r => r.Version != newest) || (version != ClusterVersion.Latest && newest != version))
            {
                version = newest;
                continue;
            }
            Version = newest;
            return Merge(results, k);
        }
        throw new RelevoException($"the sharded index kept changing during the search ({MaxAttempts} attempts); try again");
    }

    /// <summary>The live document with this id, from the shard that owns it.</summary>
    public Task<Document?> GetDocumentAsync(string id) =>
        _shards[ShardRouter.ShardOf(id, _shards.Count)].DocumentAsync(ClusterVersion.Latest, id);

    /// <summary>The stored documents of hits (null for a document deleted since), one request per shard.</summary>
    public async Task<Document?[]> DocumentsAsync(IReadOnlyList<SearchHit> hits)
    {
        var result = new Document?[hits.Count];
        var tasks = new List<Task>();
        for (int s = 0; s < _shards.Count; s++)
        {
            var positions = new List<int>();
            for (int i = 0; i < hits.Count; i++) if (hits[i].Segment == s) positions.Add(i);
            if (positions.Count == 0) continue;
            var docs = positions.ConvertAll(i => hits[i].Doc).ToArray();
            var shard = _shards[s];
            tasks.Add(Task.Run(async () =>
            {
                var found = await shard.DocumentsAsync(Version, docs).ConfigureAwait(false);
                for (int j = 0; j < positions.Count; j++) result[positions[j]] = found[j];
            }));
        }
        await Task.WhenAll(tasks).ConfigureAwait(false);
        return result;
    }

    /// <summary>Live documents over all shards at the current version.</summary>
    public async Task<long> LiveDocsAsync()
    {
        var counts = await Task.WhenAll(Each(s => s.LiveDocsAsync(ClusterVersion.Latest))).ConfigureAwait(false);
        long n = 0;
        foreach (var (_, live) in counts) n += live;
        return n;
    }

    private IEnumerable<Task<T>> Each<T>(Func<IShardService, Task<T>> call)
    {
        var tasks = new Task<T>[_shards.Count];
        for (int i = 0; i < tasks.Length; i++) tasks[i] = call(_shards[i]);
        return tasks;
    }

    private static long MaxVersion(IEnumerable<long> versions)
    {
        long m = long.MinValue;
        foreach (var v in versions) m = Math.Max(m, v);
        return m;
    }

    /// <summary>The global top k from the shards' top k lists: score descending, then cluster-wide ordinal (the order
    /// documents were added, which is how one index breaks ties: by document number), then shard and document.</summary>
    internal static IReadOnlyList<SearchHit> Merge(IReadOnlyList<ShardHits> shards, int k)
    {
        int total = 0;
        foreach (var s in shards) total += s.Count;
        var all = new (SearchHit Hit, long Ordinal)[total];
        int n = 0;
        for (int s = 0; s < shards.Count; s++)
        {
            var r = shards[s];
            for (int i = 0; i < r.Count; i++) all[n++] = (new SearchHit(r.Ids[i], r.Scores[i], s, r.Docs[i]), r.Ordinals[i]);
        }
        Array.Sort(all, static (x, y) =>
        {
            int c = y.Hit.Score.CompareTo(x.Hit.Score);
            if (c != 0) return c;
            c = x.Ordinal.CompareTo(y.Ordinal);
            if (c != 0) return c;
            c = x.Hit.Segment.CompareTo(y.Hit.Segment);
            return c != 0 ? c : x.Hit.Doc.CompareTo(y.Hit.Doc);
        });
        var result = new SearchHit[Math.Min(k, total)];
        for (int i = 0; i < result.Length; i++) result[i] = all[i].Hit;
        return result;
    }
}

/// <summary>Collection statistics of the newest cluster version seen, per term: a query whose terms are all here skips
/// the statistics round trip. Thread-safe; shared by the searchers of one set of shards.</summary>
public sealed class ClusterStatisticsCache
{
    private readonly object _gate = new();
    private long _version = long.MinValue;
    private long _docCount, _sumTotalTermFreq;
    private ConcurrentDictionary<string, (long Df, long Ttf)> _terms = new(StringComparer.Ordinal);

    /// <summary>The statistics of <paramref name="terms"/> at <paramref name="version"/> (or at the newest cached version
    /// for <see cref="ClusterVersion.Latest"/>), or null if some term is not cached.</summary>
    public GlobalStatistics? Get(string[] terms, long version, out long cachedVersion)
    {
        lock (_gate)
        {
            cachedVersion = _version;
            if (_version == long.MinValue || (version != ClusterVersion.Latest && version != _version)) return null;
            var df = new long[terms.Length];
            var ttf = new long[terms.Length];
            for (int i = 0; i < terms.Length; i++)
            {
                if (!_terms.TryGetValue(terms[i], out var t)) return null;
                (df[i], ttf[i]) = t;
            }
            return new GlobalStatistics(_docCount, _sumTotalTermFreq, terms, df, ttf);
        }
    }

    public void Remember(long version, GlobalStatistics global)
    {
        lock (_gate)
        {
            if (version < _version) return;
            if (version != _version || _terms.Count > 1_000_000)
            {
                _terms = new ConcurrentDictionary<string, (long, long)>(StringComparer.Ordinal);
                _version = version;
                _docCount = global.DocCount;
                _sumTotalTermFreq = global.SumTotalTermFreq;
            }
            for (int i = 0; i < global.Terms.Length; i++) _terms[global.Terms[i]] = (global.DocFreqs[i], global.TotalTermFreqs[i]);
        }
    }
}
