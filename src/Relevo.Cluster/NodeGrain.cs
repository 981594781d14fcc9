using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Relevo.Index;
using Relevo.Sharding;

namespace Relevo.Cluster;

/// <summary>A node's report to the writer: its id and its cluster manifest (null: it has none yet).</summary>
[GenerateSerializer]
internal sealed class NodeReport
{
    [Id(0)] public string Node = "";
    [Id(1)] public long Version = -1;
    [Id(2)] public string? Manifest;
}

/// <summary>The files of one shard commit (names and lengths).</summary>
[GenerateSerializer]
internal sealed class NodeFiles
{
    [Id(0)] public string[] Names = [];
    [Id(1)] public long[] Lengths = [];

    public static NodeFiles Of(IReadOnlyList<ShardFile> files) =>
        new() { Names = files.Select(f => f.Name).ToArray(), Lengths = files.Select(f => f.Length).ToArray() };

    public ShardFile[] ToFiles()
    {
        if (Names.Length != Lengths.Length) throw new RelevoException("shard copy: names and lengths differ in number");
        var files = new ShardFile[Names.Length];
        for (int i = 0; i < files.Length; i++) files[i] = new ShardFile(Names[i], Lengths[i]);
        return files;
    }
}

/// <summary>A node's answer to a published manifest: accepted, or why not (its version is not older, or it lacks files
/// of the commits it would be listed for).</summary>
[GenerateSerializer]
internal sealed class NodePublished
{
    [Id(0)] public bool Accepted;
    [Id(1)] public long Version;
    [Id(2)] public int[] Incomplete = [];
}

/// <summary>One silo's own folder as the cluster sees it (key: the node id, which is also the silo's name; placed only
/// on that silo, so it is never activated anywhere else): the files of its shard copies, copies from other nodes,
/// and its copy of the cluster manifest.</summary>
internal interface INodeGrain : IGrainWithStringKey
{
    Task<NodeReport> Report();
    /// <summary>The files of a commit of a shard this node holds (the source of a copy).</summary>
    Task<NodeFiles> Files(int shard, string commit);
    Task<byte[]> Read(int shard, string name, long offset, int count);
    /// <summary>Copies a commit of a shard from <paramref name="source"/> (a node holding it) into this node (a large
    /// shard takes long: its own time limit, past the cluster's 5 s default; the writer waits at most a minute).</summary>
    [ResponseTimeout("00:02:00")]
    Task Sync(int shard, string source, string commit);
    /// <summary>Receives a chunk of a file of a new cluster's shard (`relevo cluster create`).</summary>
    Task Write(int shard, string name, long offset, byte[] data);
    /// <summary>Completes a shard received by <see cref="Write"/> (fsyncs every file).</summary>
    [ResponseTimeout("00:05:00")]
    Task Install(int shard, NodeFiles files, string commit);
    Task<NodePublished> Publish(string manifest);

    /// <summary>The searches of several shards this node holds copies of, for one query (a coordinator sends each node
    /// one call for all the shards it reads there): each answer is the shard grain's, or null where this node does not
    /// serve that shard's copy at the version asked.</summary>
    Task<ShardHits?[]> Search(int[] shards, ShardRetrieval query);

    /// <summary>The statistics of several shards this node holds copies of, in one call.</summary>
    Task<ShardStatistics?[]> Statistics(int[] shards, long version, string[] terms);
}

[Reentrant]
[NodePlacement]
internal sealed class NodeGrain(NodeState node, NodeShards shardHosts, IGrainFactory grains, ILogger<NodeGrain> log) : Grain, INodeGrain
{
    // Reads run on the thread pool (on the grain's scheduler the node would serve one at a time), the searches of one
    // call side by side. A shard whose copy this node does not serve at the version asked answers null (the
    // coordinator reads it elsewhere); the other shards of the call still answer.
    public Task<ShardHits?[]> Search(int[] shards, ShardRetrieval query)
    {
        CheckCount(shards);
        if (shards.Length == 1) return Task.Run(() => new[] { Read(shards[0], host => host.Search(query)) });
        var searches = new Task<ShardHits?>[shards.Length];
        for (int i = 0; i < shards.Length; i++)
        {
            int shard = shards[i];
            searches[i] = Task.Run(() => Read(shard, host => host.Search(query)));
        }
        return Task.WhenAll(searches);
    }

    public Task<ShardStatistics?[]> Statistics(int[] shards, long version, string[] terms)
    {
        CheckCount(shards);
        return Task.Run(() =>
        {
            var result = new ShardStatistics?[shards.Length];
            for (int i = 0; i < shards.Length; i++) result[i] = Read(shards[i], host => host.Statistics(version, terms));
            return result;
        });
    }

    private T? Read<T>(int shard, Func<ShardHost, T> read) where T : class
    {
        try
        {
            try { return read(shardHosts.Get(shard)); }
            catch (ObjectDisposedException) { return read(shardHosts.Get(shard)); } // closed meanwhile (its copy was removed): once more
        }
        catch (Exception e) when (e is ShardCopyUnavailableException or ObjectDisposedException) { return null; }
    }

    private static void CheckCount(int[] shards)
    {
        if (shards.Length is 0 or > ShardedManifest.MaxShards) throw new RelevoException($"a node read names {shards.Length} shards (1 to {ShardedManifest.MaxShards})");
    }

    public Task<NodeReport> Report() => Task.Run(() =>
    {
        var report = new NodeReport { Node = node.Id };
        if (ShardedManifest.Exists(node.Root))
        {
            var m = ShardedManifest.Read(node.Root);
            report.Version = m.Version;
            report.Manifest = m.ToJson();
        }
        return report;
    });

    public Task<NodeFiles> Files(int shard, string commit) =>
        Task.Run(() => NodeFiles.Of(ShardCopy.FilesOf(node.Folder(NodeShards.Check(shard)), Manifest.FromJson(commit, "shard commit"))));

    public Task<byte[]> Read(int shard, string name, long offset, int count) =>
        Task.Run(() => ShardCopy.Read(node.Folder(NodeShards.Check(shard)), name, offset, count));

    public async Task Sync(int shard, string source, string commit)
    {
        NodeShards.Check(shard);
        var manifest = Manifest.FromJson(commit, "shard commit");
        var gate = node.ShardLock(shard);
        await gate.WaitAsync();
        try
        {
            if (node.IsComplete(shard, manifest)) return; // (which also checks that its files are still there)
            var from = grains.GetGrain<INodeGrain>(source);
            var files = (await from.Files(shard, commit)).ToFiles();
            string folder = node.Folder(shard);
            var started = DateTime.UtcNow;
            var needed = await Task.Run(() => ShardCopy.Plan(folder, files, node.PublishedCommit(shard)));
            await ShardCopy.CopyAsync(folder, needed, (name, offset, count) => from.Read(shard, name, offset, count));
            await Task.Run(() => ShardCopy.Finish(folder, files, manifest));
            node.MarkComplete(shard, manifest);
            log.LogInformation("node {Node}: copied commit {Generation} of shard {Shard} from {Source}: {Copied} of {Files} files, {Bytes} bytes, {Ms:0} ms",
                node.Id, manifest.Generation, shard, source, needed.Length, files.Length, needed.Sum(f => f.Length), (DateTime.UtcNow - started).TotalMilliseconds);
        }
        finally { gate.Release(); }
    }

    public Task Write(int shard, string name, long offset, byte[] data) => Task.Run(() =>
    {
        NodeShards.Check(shard);
        if (ShardedManifest.Exists(node.Root))
            throw new RelevoException($"node {node.Id}: already part of a cluster (it has {ShardedManifest.FileName}); a new cluster needs empty silos");
        string folder = node.Folder(shard);
        if (offset == 0) Directory.CreateDirectory(folder);
        ShardCopy.Write(folder, name, offset, data);
    });

    public Task Install(int shard, NodeFiles files, string commit) => Task.Run(() =>
    {
        NodeShards.Check(shard);
        var manifest = Manifest.FromJson(commit, "shard commit");
        var list = files.ToFiles();
        foreach (var f in list) ShardCopy.CheckName(f.Name);
        string folder = node.Folder(shard);
        Directory.CreateDirectory(folder);
        ShardCopy.Finish(folder, list, manifest);
        node.MarkComplete(shard, manifest);
    });

    public Task<NodePublished> Publish(string manifest) => Task.Run(() =>
    {
        var next = ShardedManifest.FromJson(manifest, "published cluster manifest");
        var refused = node.TryPublish(next);
        return new NodePublished { Accepted = refused is { Length: 0 }, Version = node.Version, Incomplete = refused ?? [] };
    });
}
