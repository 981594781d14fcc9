using System.Security.Cryptography;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Relevo.Index.Formats;
using Relevo.Sharding;

namespace Relevo.Cluster;

/// <summary>A silo's own data folder in a cluster whose silos keep their own copies of the shards (docs/cluster.md,
/// "Replicas on each silo's disk"): <c>node.json</c> (the node's id, made when the folder is first used), the node's
/// copy of the cluster manifest (<c>cluster.json</c>, every version the cluster published while the node was in it)
/// and one folder per shard it holds a copy of (<c>shard-000</c> …). A wiped folder is a new node.</summary>
internal static class NodeFolder
{
    public const string FileName = "node.json";
    private const string Kind = "relevo node";

    private sealed record Identity(string Kind, string Id);

    public static bool Exists(string directory) => File.Exists(Path.Combine(directory, FileName));

    /// <summary>The node id of <paramref name="directory"/>, creating the folder and a new id when it is missing or
    /// empty. A folder holding anything else is refused (nothing in it is touched).</summary>
    public static string OpenOrCreate(string directory)
    {
        string path = Path.Combine(directory, FileName);
        if (File.Exists(path))
        {
            var id = ChecksummedJson.Read<Identity>(path);
            if (id.Kind != Kind || string.IsNullOrEmpty(id.Id)) throw new CorruptIndexException(path, "not a Relevo node identity");
            return id.Id;
        }
        if (Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).FirstOrDefault() is { } first)
            throw new RelevoException($"{directory}: --data must be an empty folder, a node folder (node.json) or a sharded index " +
                                      $"(cluster.json); found '{Path.GetFileName(first)}'");
        Directory.CreateDirectory(directory);
        string node = "n" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(5));
        ChecksummedJson.Write(directory, FileName, new Identity(Kind, node), null, "node-");
        return node;
    }
}

/// <summary>What a node silo knows of its own copies: for each shard, the commits whose every file it holds (copied, or
/// written as primary), so that it accepts a cluster manifest naming it as a copy only of a commit it can serve. The
/// commits its own <c>cluster.json</c> names for it count (it accepted them); anything copied since this process started
/// is remembered in memory (a restarted node copies again what it lacks, which is only what changed).</summary>
internal sealed class NodeState
{
    // per shard, the commits (by a hash of their manifest: a generation number alone can be reused after an aborted
    // commit and a failover) whose every file the node holds
    private readonly Dictionary<int, List<ulong>> _complete = [];
    private readonly Dictionary<int, SemaphoreSlim> _locks = [];
    private readonly object _gate = new();

    public string Id { get; }
    public string Root { get; }

    /// <summary>The version of the node's cluster manifest (-1: none yet).</summary>
    public long Version { get; private set; } = -1;

    private readonly ILogger? _log;

    public NodeState(string root, string id, ILogger? log = null)
    {
        Root = root;
        Id = id;
        _log = log;
        if (!ShardedManifest.Exists(root)) return;
        var m = ShardedManifest.Read(root);
        Version = m.Version;
        for (int s = 0; s < m.ShardCount; s++)
            if (m.Shards[s].Copies?.Contains(id) == true) MarkComplete(s, m.Shards[s].Commit);
    }

    public string Folder(int shard) => Path.Combine(Root, ShardedManifest.FolderName(shard));

    /// <summary>What identifies a commit among a shard's: a hash of its manifest (segments, deletions, components).</summary>
    public static ulong KeyOf(Relevo.Index.Manifest commit) =>
        System.IO.Hashing.XxHash64.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(commit.ToJson()));

    /// <summary>Called with a shard number before the node removes its copy of it (<see cref="NodeShards"/> closes its
    /// host).</summary>
    public Action<int>? Removing { get; set; }

    public void MarkComplete(int shard, Relevo.Index.Manifest commit)
    {
        ulong key = KeyOf(commit);
        lock (_gate)
        {
            if (!_complete.TryGetValue(shard, out var list)) _complete[shard] = list = [];
            if (!list.Contains(key)) list.Add(key);
            if (list.Count > 8) list.RemoveAt(0);
        }
    }

    /// <summary>Whether the node copied (or wrote) every file of <paramref name="commit"/> and still has them.</summary>
    public bool IsComplete(int shard, Relevo.Index.Manifest commit)
    {
        ulong key = KeyOf(commit);
        lock (_gate)
        {
            if (!_complete.TryGetValue(shard, out var list) || !list.Contains(key)) return false;
            if (ShardCopy.FirstMissing(Folder(shard), commit) is null) return true;
            list.Remove(key); // its files went since (a copy that was removed, or cleaned up for another commit)
            return false;
        }
    }

    /// <summary>One copy into a shard folder at a time.</summary>
    public SemaphoreSlim ShardLock(int shard)
    {
        lock (_gate)
        {
            if (!_locks.TryGetValue(shard, out var l)) _locks[shard] = l = new SemaphoreSlim(1, 1);
            return l;
        }
    }

    /// <summary>The commit of <paramref name="shard"/> the node's manifest names (what it may be serving), or null.</summary>
    public Relevo.Index.Manifest? PublishedCommit(int shard)
    {
        if (!ShardedManifest.Exists(Root)) return null;
        var m = ShardedManifest.Read(Root);
        return shard < m.ShardCount ? m.Shards[shard].Commit : null;
    }

    /// <summary>Makes <paramref name="next"/> the node's cluster manifest if it is newer than the node's and names the
    /// node only as a copy of commits it holds; returns the shards it refused for (empty: accepted) or null when its
    /// own version is not older.</summary>
    public int[]? TryPublish(ShardedManifest next)
    {
        lock (_gate)
        {
            if (next.Version <= Version) return null;
            var incomplete = new List<int>();
            for (int s = 0; s < next.ShardCount; s++)
                if (next.Shards[s].Copies?.Contains(Id) == true && !IsComplete(s, next.Shards[s].Commit))
                    incomplete.Add(s);
            if (incomplete.Count > 0) return [.. incomplete];
            var previous = ShardedManifest.Exists(Root) ? ShardedManifest.Read(Root) : null;
            next.Commit(Root);
            Version = next.Version;
            // a copy moved elsewhere: once neither this version nor the one before lists the node (reads that started on
            // the one before have it still), its files go
            for (int s = 0; s < next.ShardCount; s++)
            {
                bool listed = next.Shards[s].Copies?.Contains(Id) == true
                              || (previous is not null && s < previous.ShardCount && previous.Shards[s].Copies?.Contains(Id) == true);
                // (not while a copy into it runs: the writer may be about to list the node again)
                if (!listed && Directory.Exists(Folder(s)) && ShardLock(s) is var copying && copying.Wait(0))
                {
                    try
                    {
                        _complete.Remove(s);
                        try { Removing?.Invoke(s); }
                        catch (Exception e) { _log?.LogWarning(e, "node {Node}: closing shard {Shard} before removing its copy failed", Id, s); }
                        ShardCopy.Remove(Folder(s));
                        _log?.LogInformation("node {Node}: removed its copy of shard {Shard} (not listed at versions {Previous} and {Version})",
                            Id, s, previous?.Version, next.Version);
                    }
                    catch (IOException) { } // tried again at the next version
                    finally { copying.Release(); }
                }
            }
            return [];
        }
    }
}

/// <summary>The shard hosts of a node silo, one per shard, opened on first use and closed with the silo. Its shard
/// grains (one per shard: writes, and reads one shard at a time), the node grain (a coordinator's reads of several
/// shards in one call, <see cref="INodeGrain.Search"/>) and a coordinator in the silo's own process (its own copies,
/// read without a message) all read through the same host, so a shard's files are open once per silo.</summary>
internal sealed class NodeShards : IDisposable
{
    private readonly Dictionary<int, ShardHost> _hosts = [];
    private readonly object _gate = new();
    private readonly Microsoft.Extensions.Options.IOptions<RelevoSiloOptions> options;
    private bool _disposed;

    /// <param name="node">Its copies' folders: a copy it removes closes the host first (files, writer, models).</param>
    public NodeShards(Microsoft.Extensions.Options.IOptions<RelevoSiloOptions> options, NodeState? node = null)
    {
        this.options = options;
        if (node is not null) node.Removing = Close;
    }

    /// <summary>Closes <paramref name="shard"/>'s host (its copy is being removed); the next read opens a new one.</summary>
    public void Close(int shard)
    {
        ShardHost? host;
        lock (_gate)
        {
            if (!_hosts.Remove(shard, out host)) return;
        }
        host.Dispose();
    }

    /// <summary>The host of <paramref name="shard"/>'s copy on this node (it answers only versions that list the node
    /// as a copy; <see cref="ShardCopyUnavailableException"/> otherwise).</summary>
    public ShardHost Get(int shard)
    {
        Check(shard);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_hosts.TryGetValue(shard, out var host)) return host;
            var o = options.Value;
            host = new ShardHost(o.DataDirectory, shard, o.Registry, o.Node ?? throw new InvalidOperationException("not a node silo"));
            _hosts[shard] = host;
            return host;
        }
    }

    /// <summary><paramref name="shard"/>, if a sharded index may have it (a shard number from another process).</summary>
    public static int Check(int shard) =>
        shard is >= 0 and < ShardedManifest.MaxShards ? shard : throw new RelevoException($"shard {shard}: out of range");

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var host in _hosts.Values) host.Dispose();
            _hosts.Clear();
        }
    }
}

/// <summary>Every second, tells the cluster's writer grain that this node lives and which manifest version it has; the
/// writer then promotes, re-replicates and balances copies (<see cref="ReplicatedCluster"/>). Keeps the writer active
/// after the silo that hosted it died.</summary>
internal sealed class NodeHeartbeat(IGrainFactory grains, NodeState node, ILogger<NodeHeartbeat> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        await Task.Delay(TimeSpan.FromSeconds(1), stopping).ConfigureAwait(false);
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await grains.GetGrain<IClusterWriterGrain>(0).Heartbeat(node.Id, node.Version).ConfigureAwait(false);
            }
            catch (Exception e) when (!stopping.IsCancellationRequested)
            {
                log.LogDebug(e, "heartbeat of node {Node} failed", node.Id);
            }
            try { await Task.Delay(TimeSpan.FromSeconds(1), stopping).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
        }
    }
}
