using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Placement;
using Relevo.Index;
using Relevo.Sharding;

namespace Relevo.Cluster;

/// <summary>One shard of the sharded index (key: the shard number). With key extension <see cref="ShardPlacement.Shared"/>
/// it is hosted by whichever silo Orleans places it on and reads the folder every silo can read, so when a silo dies
/// the next call re-activates the shard on a survivor. With a node id as key extension it is that node's copy of the
/// shard, on the node's own disk, activated only on the node's silo.</summary>
internal interface IShardGrain : IGrainWithIntegerCompoundKey
{
    Task<ShardStatistics> Statistics(long version, string[] terms);
    Task<ShardHits> Search(ShardRetrieval query);
    Task<Document?[]> Documents(long version, int[] docs);
    Task<Document?> Document(long version, string id);
    Task<ShardFetched> Fetch(ShardFetch fetch);
    Task<(long Version, int LiveDocs)> LiveDocs(long version);
    /// <summary>The shard's part of facets and a sort by field; the caller's cancellation reaches the shard.</summary>
    Task<ShardMatched> Match(ShardMatch request, CancellationToken cancellation);
    Task<(long Version, Dictionary<string, string>? Schema)> Schema(long version);
    Task Add(Document[] documents, long[] ordinals, bool replace);
    Task<int> Delete(string[] ids);
    Task<Dictionary<string, string>?> DeclareTypes(Dictionary<string, string> types);
    Task<ShardPrepared> Prepare();
    Task Abort();
    /// <summary>The silo this activation runs on (for tests and `relevo cluster status`-style reports).</summary>
    Task<string> Silo();
}

/// <summary>The cluster's one writer (key 0): routes adds, replaces and deletes to the owning shards and commits them
/// as one cluster-wide version. Calls are serialized (not reentrant).</summary>
internal interface IClusterWriterGrain : IGrainWithIntegerKey
{
    // (the cluster's 5 s call timeout holds here: a longer one would keep a client waiting that long on a writer whose
    // silo died; a commit that takes longer is reported as failed to the client although it may land — adds replace
    // by id, so sending it again is safe)
    Task<long> AddAndCommit(Document[] documents);
    Task<(bool Deleted, long Version)> DeleteAndCommit(string id);
    /// <summary>The sharded index's shard count, analyzer and current cluster-wide version (what a client needs to
    /// address the shards).</summary>
    [Orleans.Concurrency.AlwaysInterleave]
    Task<(int Shards, string Analyzer, long Version)> Describe();

    /// <summary>Where each shard's copies are (node ids, primary first) at the current version; null copies when the
    /// silos share one folder.</summary>
    [Orleans.Concurrency.AlwaysInterleave]
    Task<ClusterRouting> Routing();

    /// <summary>A node silo lives and has cluster manifest <paramref name="version"/> (every second); the writer drops,
    /// restores and balances copies meanwhile.</summary>
    Task Heartbeat(string node, long version);

    /// <summary>`relevo cluster create`: which nodes get each shard's copies.</summary>
    Task<string[][]> PlanCreate(int shards, int replicas);

    /// <summary>`relevo cluster create`, after every copy is installed: publishes the first manifest.</summary>
    Task<long> FinishCreate(string manifest);

    [Orleans.Concurrency.AlwaysInterleave]
    Task<string> Status();
}

/// <summary>The current version and, on a cluster of node silos, each shard's copies (primary first).</summary>
[GenerateSerializer]
internal sealed class ClusterRouting
{
    [Id(0)] public long Version;
    [Id(1)] public string[][]? Copies;
    [Id(2)] public int Shards;
    [Id(3)] public string Analyzer = "";
}

/// <summary>Where the silo finds the sharded index (a folder every silo can read and write, or the node's own folder),
/// and the extensions its shards serve retrievers and document operations with (e.g. dense retrieval).</summary>
internal sealed class RelevoSiloOptions
{
    public string DataDirectory { get; set; } = "";
    /// <summary>The node id when <see cref="DataDirectory"/> is this silo's own folder (node.json); null when every
    /// silo reads one sharded folder.</summary>
    public string? Node { get; set; }
    public ExtensionRegistry Registry { get; set; } = ExtensionRegistry.Core;
}

[Reentrant]
[ShardPlacement]
internal sealed class ShardGrain(IOptions<RelevoSiloOptions> options, ILogger<ShardGrain> log) : Grain, IShardGrain
{
    private ShardHost? _host;
    // a node's copy: the node's host of the shard, looked up per call (the node closes it when it removes the copy)
    private NodeShards? _nodeShards;
    private int _shard;

    private ShardHost Host => _nodeShards?.Get(_shard) ?? _host ?? throw new InvalidOperationException("shard grain is not active");

    private string? _node;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        int shard = (int)this.GetPrimaryKeyLong(out string? key);
        var o = options.Value;
        if (key == ShardPlacement.Shared)
        {
            if (o.Node is not null) throw new RelevoException($"silo of node {o.Node}: its shards are copies on its own disk, not a shared folder");
            _host = new ShardHost(o.DataDirectory, shard, o.Registry);
        }
        else
        {
            if (o.Node is null || key != o.Node) throw new ShardCopyUnavailableException($"copy of shard {shard} on node {key}: this silo is {o.Node ?? "not a node"}");
            _node = o.Node;
            _shard = shard;
            // the node's host of the shard, which the node grain's batched reads share
            _nodeShards = ServiceProvider.GetRequiredService<NodeShards>();
            _nodeShards.Get(shard);
        }
        log.LogInformation("shard {Shard} activated on {Silo} from {Folder}", shard, RuntimeIdentity, Host.Folder);
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _host?.Dispose(); // (a node's hosts close with the silo, or when it removes a copy)
        _host = null;
        return Task.CompletedTask;
    }

    // Statistics (a few dictionary lookups) run on the grain's own scheduler. Searches and everything else run on the
    // thread pool so that one shard serves several at once (the grain is reentrant and ShardHost is thread-safe);
    // Orleans' scheduler would otherwise run them one at a time. Running searches inline too was measured and not
    // clearly faster on 2 shared cores (docs/benchmarks.md, "Scale-out"), and it would serialize a shard's searches.
    public Task<ShardStatistics> Statistics(long version, string[] terms) => Task.FromResult(Host.Statistics(version, terms));
    public Task<ShardHits> Search(ShardRetrieval query) => Task.Run(() => Host.Search(query));
    public Task<Document?[]> Documents(long version, int[] docs) => Task.Run(() => Host.DocumentsAsync(version, docs));
    public Task<Document?> Document(long version, string id) => Task.Run(() => Host.DocumentAsync(version, id));
    public Task<ShardFetched> Fetch(ShardFetch fetch) => Task.Run(() => Host.FetchAsync(fetch));
    public Task<(long Version, int LiveDocs)> LiveDocs(long version) => Host.LiveDocsAsync(version);
    public Task<ShardMatched> Match(ShardMatch request, CancellationToken cancellation) => Task.Run(() => Host.Match(request, cancellation), cancellation);
    public Task<(long Version, Dictionary<string, string>? Schema)> Schema(long version) => Host.SchemaAsync(version);
    public Task Add(Document[] documents, long[] ordinals, bool replace) => Task.Run(() => Host.AddAsync(documents, ordinals, replace));
    public Task<int> Delete(string[] ids) => Task.Run(() => Host.DeleteAsync(ids));
    public Task<Dictionary<string, string>?> DeclareTypes(Dictionary<string, string> types) => Task.Run(() => Host.DeclareTypesAsync(types));
    public Task<ShardPrepared> Prepare() => Task.Run(async () =>
    {
        var prepared = await Host.PrepareAsync();
        // the node holds every file of the commit it wrote (so it may be published as a copy of it)
        if (_node is not null) ServiceProvider.GetRequiredService<NodeState>().MarkComplete(Host.Shard, prepared.Commit);
        return prepared;
    });
    public Task Abort() => Task.Run(() => Host.AbortAsync());
    public Task<string> Silo() => Task.FromResult(RuntimeIdentity);
}

internal sealed class ClusterWriterGrain(IOptions<RelevoSiloOptions> options, IGrainFactory grains, IClusterMembershipService membership,
    ILogger<ClusterWriterGrain> log) : Grain, IClusterWriterGrain
{
    private ShardedWriter? _writer;
    // a cluster of node silos (each its own folder); null when every silo reads one sharded folder
    private ReplicatedCluster? _replicated;
    // where the cluster manifest is: the nodes' (_replicated), or the shared folder's cluster.json
    private IClusterManifestStore? _store;
    private string[]? _primaries;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (options.Value.Node is not null)
        {
            _store = _replicated = new ReplicatedCluster(grains, membership, log);
            await _replicated.LoadAsync();
            return;
        }
        _store = new FolderManifestStore(options.Value.DataDirectory);
        var shards = new IShardService[_store.Read().ShardCount];
        for (int i = 0; i < shards.Length; i++) shards[i] = new GrainShard(grains.GetGrain<IShardGrain>(i, ShardPlacement.Shared), retry: false);
        _writer = new ShardedWriter(_store, shards);
    }

    /// <summary>The writer over the shards' primaries (made again when a primary changed).</summary>
    private ShardedWriter Writer()
    {
        if (_replicated is null) return _writer ?? throw new InvalidOperationException("writer grain is not active");
        var m = _replicated.Read();
        var primaries = m.Shards.Select((s, i) => s.Copies is { Count: > 0 } c ? c[0] : throw new RelevoException($"shard {i} has no copy")).ToArray();
        if (_writer is null || _primaries is null || !_primaries.SequenceEqual(primaries))
        {
            var shards = new IShardService[primaries.Length];
            for (int i = 0; i < shards.Length; i++) shards[i] = new GrainShard(grains.GetGrain<IShardGrain>(i, primaries[i]), retry: false);
            _writer = new ShardedWriter(_replicated, shards);
            _primaries = primaries;
        }
        return _writer;
    }

    private ShardedManifest Current() => (_store ?? throw new InvalidOperationException("writer grain is not active")).Read();

    public async Task<long> AddAndCommit(Document[] documents)
    {
        var writer = Writer();
        try
        {
            await writer.AddAsync(documents, replace: true);
            long version = await writer.CommitAsync();
            log.LogInformation("committed {Count} documents as cluster version {Version}", documents.Length, version);
            return version;
        }
        catch
        {
            await TryRollback(writer);
            throw;
        }
    }

    public async Task<(bool Deleted, long Version)> DeleteAndCommit(string id)
    {
        var writer = Writer();
        try
        {
            int n = await writer.DeleteAsync([id]);
            if (n == 0)
            {
                await writer.RollbackAsync();
                return (false, Current().Version);
            }
            long version = await writer.CommitAsync();
            log.LogInformation("deleted {Id}, cluster version {Version}", id, version);
            return (true, version);
        }
        catch
        {
            await TryRollback(writer);
            throw;
        }
    }

    public Task<(int Shards, string Analyzer, long Version)> Describe()
    {
        var m = Current();
        return Task.FromResult((m.ShardCount, m.Analyzer, m.Version));
    }

    public Task<ClusterRouting> Routing()
    {
        var m = Current();
        return Task.FromResult(new ClusterRouting
        {
            Version = m.Version, Shards = m.ShardCount, Analyzer = m.Analyzer,
            Copies = _replicated is null ? null : m.Shards.Select(s => (s.Copies ?? []).ToArray()).ToArray(),
        });
    }

    public async Task Heartbeat(string node, long version)
    {
        if (_replicated is null) return;
        _replicated.Reported(node, version);
        try { await _replicated.MaintainAsync(); }
        catch (Exception e) { log.LogWarning(e, "writer: maintenance of the copies failed"); }
    }

    public Task<string[][]> PlanCreate(int shards, int replicas) =>
        Task.FromResult((_replicated ?? throw NotNodes()).PlanCreate(shards, replicas));

    public Task<long> FinishCreate(string manifest) =>
        (_replicated ?? throw NotNodes()).FinishCreateAsync(ShardedManifest.FromJson(manifest, "relevo cluster create"));

    public Task<string> Status() => Task.FromResult(_replicated?.Status() ?? $"shared folder {options.Value.DataDirectory}, version {Current().Version}");

    private static RelevoException NotNodes() =>
        new("this cluster's silos share one sharded folder (--data); `relevo cluster create` needs silos with their own empty folders");

    private async Task TryRollback(ShardedWriter writer)
    {
        try { await writer.RollbackAsync(); }
        catch (Exception e) { log.LogWarning(e, "rolling the shards back to the last cluster-wide commit failed"); }
    }
}
