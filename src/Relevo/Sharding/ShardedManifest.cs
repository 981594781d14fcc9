using Relevo.Index;

namespace Relevo.Sharding;

/// <summary>One shard as a cluster-wide commit records it: its folder (relative to the sharded index) and the exact
/// shard commit readers must open.</summary>
internal sealed record ShardSnapshot(string Folder, Manifest Commit)
{
    /// <summary>On a cluster whose silos keep their own copies (<see cref="ShardedManifest.Replicas"/> &gt; 0): the nodes
    /// that hold this commit of the shard, every file of it, primary first (writes go there). Null when the silos share
    /// one folder.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Copies { get; init; }
}

/// <summary>The file that makes a sharded index: <c>cluster.json</c> in its root, naming every shard folder and,
/// for each, the shard commit that belongs to this cluster-wide version. Readers open each shard at exactly that
/// commit, so a cluster-wide commit is seen whole or not at all; it is replaced atomically (temp file, fsync,
/// rename, fsync of the folder) like a shard's own manifest.</summary>
internal sealed record ShardedManifest(int Format, long Version, string Analyzer, string Routing, IReadOnlyList<ShardSnapshot> Shards)
{
    /// <summary>The ordinal the next added document gets (see <see cref="ShardHits.Ordinals"/>).</summary>
    public long NextOrdinal { get; init; }

    /// <summary>How many copies of each shard a cluster of silos with their own disks keeps (primary included); 0 for
    /// a sharded index in one folder (every silo reads it).</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public int Replicas { get; init; }

    /// <summary>With <see cref="Replicas"/>: how many copies of every changed shard must hold a commit before it is
    /// acknowledged; 0: every in-sync copy, and at least min(2, <see cref="Replicas"/>).</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public int Acks { get; init; }

    /// <summary>The copies every changed shard needs for a commit to be acknowledged.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int RequiredCopies => Acks > 0 ? Acks : Math.Min(2, Replicas);

    public const string FileName = "cluster.json";
    public const int CurrentFormat = 1;

    /// <summary>Most shards a sharded index may have.</summary>
    public const int MaxShards = 1024;
    /// <summary>Documents go to shard xxHash32(UTF-8 of _id) mod N (<see cref="ShardRouter"/>).</summary>
    public const string XxHash32Routing = "xxhash32-mod";
    public int ShardCount => Shards.Count;

    public static string FolderName(int shard) => $"shard-{shard:D3}";

    /// <summary>True if <paramref name="directory"/> is a sharded index.</summary>
    public static bool Exists(string directory) => File.Exists(Path.Combine(directory, FileName));

    public static ShardedManifest Read(string directory)
    {
        string path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
            throw new RelevoException($"{path}: no sharded index here (the cluster manifest is missing)");
        return Checked(Index.Formats.ChecksummedJson.Read<ShardedManifest>(path), path);
    }

    /// <summary>The manifest as the JSON a node of a cluster receives (the body of its <c>cluster.json</c>).</summary>
    public string ToJson() => System.Text.Json.JsonSerializer.Serialize(this, Index.Formats.ChecksummedJson.Options);

    /// <summary>A manifest sent as <see cref="ToJson"/>, checked as <see cref="Read"/> checks a file; <paramref name="from"/>
    /// names the sender for errors.</summary>
    public static ShardedManifest FromJson(string json, string from) =>
        Checked(System.Text.Json.JsonSerializer.Deserialize<ShardedManifest>(json, Index.Formats.ChecksummedJson.Options), from);

    /// <summary>Refuses a manifest without shards, analyzer or routing, or of another format or routing, and upgrades
    /// its shard commits; <paramref name="where"/> names it (a path, or a sender).</summary>
    private static ShardedManifest Checked(ShardedManifest? m, string where)
    {
        if (m?.Shards is null || m.Analyzer is null || m.Routing is null || m.Shards.Count == 0)
            throw new Index.Formats.CorruptIndexException(where, "unreadable: no shards");
        if (m.Format != CurrentFormat)
            throw new Index.Formats.CorruptIndexException(where, $"cluster manifest format {m.Format} is not supported (this build reads {CurrentFormat})");
        if (m.Routing != XxHash32Routing)
            throw new Index.Formats.CorruptIndexException(where, $"routing '{m.Routing}' is not supported (this build routes by {XxHash32Routing})");
        var shards = new List<ShardSnapshot>(m.Shards.Count);
        foreach (var s in m.Shards) shards.Add(s with { Commit = s.Commit.Upgrade(where) });
        return m with { Shards = shards };
    }

    /// <summary>Atomically makes this the sharded index's current cluster-wide commit.</summary>
    public void Commit(string directory, Action<string>? stage = null) =>
        Index.Formats.ChecksummedJson.Write(directory, FileName, this, stage, "cluster-manifest-");
}
