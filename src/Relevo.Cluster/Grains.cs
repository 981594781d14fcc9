using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Placement;
using Relevo.Index;
using Relevo.Sharding;

namespace Relevo.Cluster;

/// <summary>One shard of the sharded index, hosted by whichever silo Orleans places it on (key: the shard number).
/// Its state is only the opened folder, which every silo can read, so when a silo dies the next call re-activates the
/// shard on a survivor.</summary>
internal interface IShardGrain : IGrainWithIntegerKey
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
    Task<long> AddAndCommit(Document[] documents);
    Task<(bool Deleted, long Version)> DeleteAndCommit(string id);
    /// <summary>The sharded index's shard count, analyzer and current cluster-wide version (what a client needs to
    /// address the shards).</summary>
    Task<(int Shards, string Analyzer, long Version)> Describe();
}

/// <summary>Where the silo finds the sharded index (a folder every silo can read and write), and the extensions its
/// shards serve retrievers and document operations with (e.g. dense retrieval).</summary>
internal sealed class RelevoSiloOptions
{
    public string DataDirectory { get; set; } = "";
    public ExtensionRegistry Registry { get; set; } = ExtensionRegistry.Core;
}

[Reentrant]
[ShardPlacement]
internal sealed class ShardGrain(IOptions<RelevoSiloOptions> options, ILogger<ShardGrain> log) : Grain, IShardGrain
{
    private ShardHost? _host;

    private ShardHost Host => _host ?? throw new InvalidOperationException("shard grain is not active");

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        int shard = (int)this.GetPrimaryKeyLong();
        _host = new ShardHost(options.Value.DataDirectory, shard, options.Value.Registry);
        log.LogInformation("shard {Shard} activated on {Silo} from {Folder}", shard, RuntimeIdentity, _host.Folder);
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _host?.Dispose();
        _host = null;
        return Task.CompletedTask;
    }

    // Searches run on the thread pool so that one shard serves several queries at once (the grain is reentrant and
    // ShardHost is thread-safe); Orleans' scheduler would otherwise run them one at a time.
    public Task<ShardStatistics> Statistics(long version, string[] terms) => Task.Run(() => Host.Statistics(version, terms));
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
    public Task<ShardPrepared> Prepare() => Task.Run(() => Host.PrepareAsync());
    public Task Abort() => Task.Run(() => Host.AbortAsync());
    public Task<string> Silo() => Task.FromResult(RuntimeIdentity);
}

internal sealed class ClusterWriterGrain(IOptions<RelevoSiloOptions> options, IGrainFactory grains, ILogger<ClusterWriterGrain> log)
    : Grain, IClusterWriterGrain
{
    private ShardedWriter? _writer;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        string root = options.Value.DataDirectory;
        var manifest = ShardedManifest.Read(root);
        var shards = new IShardService[manifest.ShardCount];
        for (int i = 0; i < shards.Length; i++) shards[i] = new GrainShard(grains.GetGrain<IShardGrain>(i), retry: false);
        _writer = new ShardedWriter(root, shards);
        return Task.CompletedTask;
    }

    private ShardedWriter Writer => _writer ?? throw new InvalidOperationException("writer grain is not active");

    public async Task<long> AddAndCommit(Document[] documents)
    {
        try
        {
            await Writer.AddAsync(documents, replace: true);
            long version = await Writer.CommitAsync();
            log.LogInformation("committed {Count} documents as cluster version {Version}", documents.Length, version);
            return version;
        }
        catch
        {
            await TryRollback();
            throw;
        }
    }

    public async Task<(bool Deleted, long Version)> DeleteAndCommit(string id)
    {
        try
        {
            int n = await Writer.DeleteAsync([id]);
            if (n == 0)
            {
                await Writer.RollbackAsync();
                return (false, ShardedManifest.Read(options.Value.DataDirectory).Version);
            }
            long version = await Writer.CommitAsync();
            log.LogInformation("deleted {Id}, cluster version {Version}", id, version);
            return (true, version);
        }
        catch
        {
            await TryRollback();
            throw;
        }
    }

    public Task<(int Shards, string Analyzer, long Version)> Describe()
    {
        var m = ShardedManifest.Read(options.Value.DataDirectory);
        return Task.FromResult((m.ShardCount, m.Analyzer, m.Version));
    }

    private async Task TryRollback()
    {
        try { await Writer.RollbackAsync(); }
        catch (Exception e) { log.LogWarning(e, "rolling the shards back to the last cluster-wide commit failed"); }
    }
}
