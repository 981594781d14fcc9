using Relevo.Index;

namespace Relevo.Sharding;

/// <summary>Writes to a sharded index as a server makes them: each call routes the documents to their shards and
/// commits them as one cluster-wide version before it returns (a 200 means durable and visible).</summary>
internal interface IShardedWrites
{
    /// <summary>Adds or replaces (by id) the documents and commits; returns the new cluster-wide version.</summary>
    Task<long> AddAndCommitAsync(Document[] documents);

    /// <summary>Deletes a document and commits; false (and nothing committed) if no live document has the id.</summary>
    Task<(bool Deleted, long Version)> DeleteAndCommitAsync(string id);
}

/// <summary>A sharded index as something to serve: its shards (in this process or grains on a cluster), its
/// analyzer, and the way writes reach it.</summary>
internal interface IShardedConnection : IDisposable
{
    /// <summary>For logs and /api/stats, e.g. "4 shards in /data/idx" or "4 shards on cluster redis://localhost:6379".</summary>
    string Description { get; }
    string Analyzer { get; }
    IReadOnlyList<IShardService> Shards { get; }
    IShardedWrites Writes { get; }

    /// <summary>The shard commits of the current cluster-wide version when the shards' folders are readable here
    /// (which models have vectors, for the pipelines a page offers); null for a remote cluster.</summary>
    IReadOnlyList<Manifest>? LocalCommits();

    /// <summary>A writer that routes documents to the shards and commits cluster-wide (in-process shards only).</summary>
    DocumentWriter OpenWriter(WriterOptions options, Action? committed);
}

/// <summary>A sharded index folder served in this process (every shard a <see cref="ShardHost"/>).</summary>
internal sealed class LocalShards : IShardedConnection, IShardedWrites
{
    private readonly ShardHost[] _hosts;
    private readonly ShardedWriter _writer;
    private readonly SemaphoreSlim _gate = new(1, 1);

    private readonly string _root;

    public LocalShards(string root, ExtensionRegistry registry)
    {
        _root = root;
        var manifest = ShardedManifest.Read(root);
        Analyzer = manifest.Analyzer;
        _hosts = ShardedFolders.OpenLocal(root, registry);
        _writer = new ShardedWriter(root, _hosts);
        Description = $"{_hosts.Length} shards in {root}";
    }

    public string Description { get; }
    public string Analyzer { get; }
    public IReadOnlyList<IShardService> Shards => _hosts;
    public IShardedWrites Writes => this;

    public IReadOnlyList<Manifest>? LocalCommits() => ShardedManifest.Read(_root).Shards.Select(s => s.Commit).ToList();

    /// <summary>Holds the write gate until disposed: writes through <see cref="Writes"/> wait meanwhile.</summary>
    public DocumentWriter OpenWriter(WriterOptions options, Action? committed)
    {
        if (!_gate.Wait(TimeSpan.Zero)) throw new RelevoException($"{_root}: another writer is writing this sharded index");
        return new ShardedDocumentWriter(_hosts, _writer, options, () => _gate.Release(), committed);
    }

    public async Task<long> AddAndCommitAsync(Document[] documents)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            try
            {
                await _writer.AddAsync(documents, replace: true).ConfigureAwait(false);
                return await _writer.CommitAsync().ConfigureAwait(false);
            }
            catch
            {
                await _writer.RollbackAsync().ConfigureAwait(false);
                throw;
            }
        }
        finally { _gate.Release(); }
    }

    public async Task<(bool Deleted, long Version)> DeleteAndCommitAsync(string id)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            int n = await _writer.DeleteAsync([id]).ConfigureAwait(false);
            if (n == 0)
            {
                await _writer.RollbackAsync().ConfigureAwait(false);
                return (false, await ClusterManifestVersionAsync().ConfigureAwait(false));
            }
            return (true, await _writer.CommitAsync().ConfigureAwait(false));
        }
        finally { _gate.Release(); }
    }

    private async Task<long> ClusterManifestVersionAsync() =>
        _hosts.Length == 0 ? 0 : (await _hosts[0].LiveDocsAsync(ShardVersion.Latest).ConfigureAwait(false)).Version;

    public void Dispose()
    {
        foreach (var h in _hosts) h.Dispose();
        _gate.Dispose();
    }
}
