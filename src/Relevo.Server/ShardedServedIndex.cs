using System.Collections.Concurrent;
using Relevo.Dense;
using Relevo.Index;
using Relevo.Search;
using Relevo.Sharding;

namespace Relevo.Server;

/// <summary>A sharded index, its shards in this process (<see cref="LocalShardedIndex"/>) or on a cluster: pipelines
/// run through <see cref="ClusterBackend"/> (every retriever scores all shards with global statistics and merges), the
/// hits' documents come from their shards, writes are committed cluster-wide by the connection's write service.
/// <para>Each search has its own <see cref="ClusterSearcher"/>, because a searcher remembers the one cluster version
/// its last search used and fetches documents at it: shared by concurrent requests, a commit between one request's
/// search and its document fetch could pair its document numbers with another version. Dense models are loaded once
/// and shared.</para>
/// <para>Explanations need one local index, so <c>explain=true</c> answers 400 here.</para></summary>
internal sealed class ShardedServedIndex : IServedIndex
{
    private readonly IShardedIndexConnection _connection;
    private readonly ClusterSearcher _lookups;
    // shared by the per-search searchers: a query whose terms were seen at the current version skips a round trip
    private readonly ClusterStatisticsCache _statistics = new();
    private readonly ConcurrentDictionary<string, Lazy<EmbeddingModel>> _models = new(StringComparer.Ordinal);

    public ShardedServedIndex(IShardedIndexConnection connection, bool writable)
    {
        _connection = connection;
        _lookups = new ClusterSearcher(connection.Shards, connection.Analyzer);
        Writable = writable;
    }

    public string Description => _connection.Description;
    public bool Writable { get; }
    public int ShardCount => _connection.Shards.Count;

    /// <summary>BM25 always; dense and hybrid for a model only when the shards are folders in this process and every
    /// segment of every shard's current commit holds its vectors. A remote cluster offers BM25 (clients may still send
    /// any pipeline text).</summary>
    public IReadOnlyList<PipelineChoice> Pipelines()
    {
        var choices = new List<PipelineChoice> { new("bm25", "BM25", "bm25") };
        if (LocalRoot() is not { } root) return choices;
        var segments = ClusterManifest.Read(root).Shards.SelectMany(s => s.Commit.Segments).ToList();
        if (segments.Count == 0) return choices;
        foreach (var model in segments[0].Vectors)
        {
            if (!segments.All(s => s.HasVectors(model))) continue;
            choices.Add(new($"dense-{model}", $"Dense ({model})", $"dense(model={model})"));
            choices.Add(new($"hybrid-{model}", $"Hybrid (BM25 + {model})", $"fuse(rrf,bm25,dense(model={model}))"));
        }
        return choices;
    }

    public async Task<ServedSearch> SearchAsync(string? pipeline, string query, int k, bool explain)
    {
        if (explain)
            throw new ApiException(400, "explain: explanations need a single local index; this server serves a sharded index " +
                                        "(search without explain=true)");
        string text = string.IsNullOrWhiteSpace(pipeline) ? "bm25" : pipeline;
        var searcher = new ClusterSearcher(_connection.Shards, _connection.Analyzer, _statistics);
        var backend = new ClusterBackend(searcher, Model); // not disposed: the models it loads are shared, and freed with this
        using var context = new SearchContext(backend);
        // The pipeline waits on the shards synchronously (Relevo.Search.ISearchBackend is synchronous).
        var result = PipelineBackend.Run(context, text, query, k, explain: false);
        var hits = new SearchHit[result.Hits.Count];
        for (int i = 0; i < hits.Length; i++)
        {
            var h = result.Hits[i];
            hits[i] = new SearchHit(h.Id, h.Score, h.Segment, h.Doc);
        }
        var docs = hits.Length == 0 ? [] : await searcher.DocumentsAsync(hits);
        long version = searcher.Version != ClusterVersion.Latest ? searcher.Version : (await CountAsync()).Version;
        return new ServedSearch(result, docs, version, _connection.Analyzer);
    }

    public Task<Document?> GetDocumentAsync(string id) => _lookups.GetDocumentAsync(id);

    public Task<long> AddAsync(IReadOnlyList<Document> documents, CancellationToken cancellation) =>
        _connection.Writes.AddAndCommitAsync([.. documents]);

    public Task<(bool Deleted, long Generation)> DeleteAsync(string id, CancellationToken cancellation) =>
        _connection.Writes.DeleteAndCommitAsync(id);

    public async Task<ServedStatus> StatusAsync(bool withSize)
    {
        var (version, live) = await CountAsync();
        long size = 0;
        if (withSize)
            foreach (var shard in _connection.Shards)
                if (shard is ShardHost host) size += LocalServedIndex.FolderSize(host.Folder);
        return new ServedStatus(version, checked((int)live), ShardCount, size, _connection.Analyzer, ShardCount);
    }

    /// <summary>The newest cluster version any shard answers at, and the live documents summed over the shards.</summary>
    private async Task<(long Version, long Live)> CountAsync()
    {
        var counts = await Task.WhenAll(_connection.Shards.Select(s => s.LiveDocsAsync(ClusterVersion.Latest)));
        long version = long.MinValue, live = 0;
        foreach (var (v, n) in counts)
        {
            version = Math.Max(version, v);
            live += n;
        }
        return (version, live);
    }

    /// <summary>The sharded index folder when every shard is served in this process from it, else null.</summary>
    private string? LocalRoot()
    {
        string? root = null;
        foreach (var shard in _connection.Shards)
        {
            if (shard is not ShardHost host) return null;
            string? parent = Path.GetDirectoryName(host.Folder);
            if (parent is null || (root is not null && root != parent)) return null;
            root = parent;
        }
        return root is not null && ClusterManifest.Exists(root) ? root : null;
    }

    private EmbeddingModel Model(string name) =>
        _models.GetOrAdd(EmbeddingModel.ResolveName(name), _ => new Lazy<EmbeddingModel>(() => EmbeddingModel.Load(name),
            LazyThreadSafetyMode.ExecutionAndPublication)).Value;

    public void Dispose()
    {
        try
        {
            _connection.Dispose();
        }
        finally
        {
            foreach (var m in _models.Values)
                if (m.IsValueCreated) m.Value.Dispose();
        }
    }
}
