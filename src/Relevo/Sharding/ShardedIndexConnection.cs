using Relevo.Index;

namespace Relevo.Sharding;

/// <summary>Writes to a sharded index as a server makes them: each call routes the documents to their shards and
/// commits them as one cluster-wide version before it returns (a 200 means durable and visible).</summary>
public interface IClusterWriteService
{
    /// <summary>Adds or replaces (by id) the documents and commits; returns the new cluster-wide version.</summary>
    Task<long> AddAndCommitAsync(Document[] documents);

    /// <summary>Deletes a document and commits; false (and nothing committed) if no live document has the id.</summary>
    Task<(bool Deleted, long Version)> DeleteAndCommitAsync(string id);
}

/// <summary>A sharded index as something to serve: its shards (in this process or grains on a cluster), its
/// analyzer, and the way writes reach it.</summary>
public interface IShardedIndexConnection : IDisposable
{
    /// <summary>For logs and /api/stats, e.g. "4 shards in /data/idx" or "4 shards on cluster redis://localhost:6379".</summary>
    string Description { get; }
    string Analyzer { get; }
    IReadOnlyList<IShardService> Shards { get; }
    IClusterWriteService Writes { get; }
}

/// <summary>A sharded index folder served in this process (every shard a <see cref="ShardHost"/>).</summary>
public sealed class LocalShardedIndex : IShardedIndexConnection, IClusterWriteService
{
    private readonly ShardHost[] _hosts;
    private readonly ClusterWriter _writer;
    private readonly SemaphoreSlim _gate = new(1, 1);

    public LocalShardedIndex(string root)
    {
        var manifest = ClusterManifest.Read(root);
        Analyzer = manifest.Analyzer;
        _hosts = ShardedIndex.OpenLocal(root);
        _writer = new ClusterWriter(root, _hosts);
        Description = $"{_hosts.Length} shards in {root}";
    }

    public string Description { get; }
    public string Analyzer { get; }
    public IReadOnlyList<IShardService> Shards => _hosts;
    public IClusterWriteService Writes => this;

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
                return (false, ClusterManifestVersion());
            }
            return (true, await _writer.CommitAsync().ConfigureAwait(false));
        }
        finally { _gate.Release(); }
    }

    private long ClusterManifestVersion() => _hosts.Length == 0 ? 0 : _hosts[0].LiveDocsAsync(ClusterVersion.Latest).Result.Version;

    public void Dispose()
    {
        foreach (var h in _hosts) h.Dispose();
        _gate.Dispose();
    }
}
