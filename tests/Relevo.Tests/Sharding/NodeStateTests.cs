using Relevo.Cluster;
using Relevo.Index;
using Relevo.Sharding;

namespace Relevo.Tests.Sharding;

/// <summary>A node takes a cluster manifest that lists it as a copy only of a commit whose files are on its disk — not
/// merely one it remembers copying (a later clean-up may have removed them) — and removes a copy once two versions no
/// longer list it, leaving files it did not write.</summary>
public sealed class NodeStateTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "relevo-nodestate-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static ShardedManifest Cluster(long version, Manifest commit, params string[] copies) =>
        new(ShardedManifest.CurrentFormat, version, "english", ShardedManifest.XxHash32Routing,
            [new ShardSnapshot(ShardedManifest.FolderName(0), commit) { Copies = copies }]);

    /// <summary>Node n1 holding a commit of shard 0 (30 documents) that it copied, with no cluster manifest yet.</summary>
    private (string Folder, Manifest Commit, NodeState Node) NodeWithShard0()
    {
        string folder = Path.Combine(_root, ShardedManifest.FolderName(0));
        using var writer = IndexWriter.Open(folder, new IndexWriterOptions());
        writer.AddRange(Enumerable.Range(0, 30).Select(i => new Document($"d{i}", "t", $"word{i % 4} text")));
        writer.Commit();
        var node = new NodeState(_root, "n1");
        node.MarkComplete(0, writer.LastCommit);
        return (folder, writer.LastCommit, node);
    }

    [Fact]
    public void ACopyWhoseFilesWentIsNotTakenAndAMovedCopyIsRemovedAfterTwoVersions()
    {
        var (folder, commit, node) = NodeWithShard0();
        Assert.True(node.IsComplete(0, commit));

        // a clean-up removed a file of the commit the node remembers copying: it is not complete any more
        string post = Path.Combine(folder, "_0.post");
        byte[] saved = File.ReadAllBytes(post);
        File.Delete(post);
        Assert.False(node.IsComplete(0, commit));
        Assert.Equal([0], node.TryPublish(Cluster(1, commit, "n1"))!);
        Assert.False(ShardedManifest.Exists(_root));

        // copied again: taken
        File.WriteAllBytes(post, saved);
        node.MarkComplete(0, commit);
        Assert.Empty(node.TryPublish(Cluster(1, commit, "n1"))!);
        Assert.Equal(1, ShardedManifest.Read(_root).Version);
        Assert.Null(node.TryPublish(Cluster(1, commit, "n1"))); // not newer

        // moved elsewhere: kept while the version before still lists the node, removed after; a foreign file stays
        File.WriteAllText(Path.Combine(folder, "notes.txt"), "mine");
        Assert.Empty(node.TryPublish(Cluster(2, commit, "n2"))!);
        Assert.True(File.Exists(post));
        Assert.Empty(node.TryPublish(Cluster(3, commit, "n2"))!);
        Assert.False(File.Exists(post));
        Assert.Equal(["notes.txt"], Directory.GetFiles(folder).Select(Path.GetFileName));
        Assert.False(node.IsComplete(0, commit));
    }

    /// <summary>The node's open host of a shard (shared by its grains) is closed before the node removes the copy, so
    /// the removed files are not held open; the next read of the shard opens a new host.</summary>
    [Fact]
    public void RemovingACopyClosesTheNodesHostOfIt()
    {
        var (folder, commit, node) = NodeWithShard0();
        using var hosts = new NodeShards(Microsoft.Extensions.Options.Options.Create(
            new RelevoSiloOptions { DataDirectory = _root, Node = "n1" }), node);
        Assert.Empty(node.TryPublish(Cluster(1, commit, "n1"))!);
        var first = hosts.Get(0);
        Assert.Same(first, hosts.Get(0));
        Assert.Equal(30, first.Statistics(1, ["word1"]).DocCount);

        Assert.Empty(node.TryPublish(Cluster(2, commit, "n2"))!);
        Assert.Same(first, hosts.Get(0)); // still listed at the version before
        Assert.Empty(node.TryPublish(Cluster(3, commit, "n2"))!);
        Assert.False(File.Exists(Path.Combine(folder, "_0.post")));
        Assert.NotSame(first, hosts.Get(0));
        Assert.ThrowsAny<ObjectDisposedException>(() => first.Statistics(1, ["word1"]));
    }
}
