using Relevo.Index;

namespace Relevo.Sharding;

/// <summary>Creating and opening sharded indexes in this process.</summary>
internal static class ShardedFolders
{
    /// <summary>Creates an empty sharded index of <paramref name="shards"/> shards in <paramref name="root"/> (each an
    /// ordinary, empty index folder) and commits cluster-wide version 0; or, if one exists, checks that it has that
    /// many shards. A folder that holds an ordinary index is refused.</summary>
    public static ShardedManifest CreateOrOpen(string root, int shards, string analyzer = "english")
    {
        if (shards < 1 || shards > ShardedManifest.MaxShards)
            throw new RelevoException($"--shards must be between 1 and {ShardedManifest.MaxShards} (got {shards})");
        if (ShardedManifest.Exists(root))
        {
            var existing = ShardedManifest.Read(root);
            if (existing.ShardCount != shards)
                throw new RelevoException($"{Path.Combine(root, ShardedManifest.FileName)}: the index has {existing.ShardCount} shards, not {shards} " +
                                          "(documents are routed by shard count, so it cannot change)");
            return existing;
        }
        if (Manifest.Exists(root))
            throw new RelevoException($"{root}: holds an ordinary (unsharded) index; shard into a new folder");
        IndexFolder.PrepareForShardedRoot(root);
        var snapshots = new List<ShardSnapshot>();
        for (int i = 0; i < shards; i++)
        {
            string folder = ShardedManifest.FolderName(i);
            using var writer = IndexWriter.Open(Path.Combine(root, folder), new IndexWriterOptions { Analyzer = analyzer });
            writer.Commit();
            snapshots.Add(new ShardSnapshot(folder, writer.LastCommit));
        }
        var manifest = new ShardedManifest(ShardedManifest.CurrentFormat, 0, snapshots[0].Commit.Analyzer, ShardedManifest.XxHash32Routing, snapshots);
        manifest.Commit(root);
        return manifest;
    }

    /// <summary>Every shard of the sharded index in <paramref name="root"/>, served in this process.</summary>
    public static ShardHost[] OpenLocal(string root, ExtensionRegistry registry)
    {
        var manifest = ShardedManifest.Read(root);
        var hosts = new ShardHost[manifest.ShardCount];
        for (int i = 0; i < hosts.Length; i++) hosts[i] = new ShardHost(root, i, registry);
        return hosts;
    }
}

/// <summary>Writes to a sharded index through its shards: each add, replace or delete goes to the shard that owns the
/// document's _id, and <see cref="CommitAsync"/> makes everything since the last commit visible as one cluster-wide
/// version. The commit is two-phase: every shard first commits its changes as a shard commit nobody reads yet, then
/// the cluster manifest naming all those commits replaces the old one atomically. If a shard fails, or reports fewer
/// changes than were sent to it (its host restarted and lost them), every shard returns to the commit the cluster
/// manifest still names and the commit fails: readers never see part of a batch. One writer per sharded index.</summary>
internal sealed class ShardedWriter(IClusterManifestStore store, IReadOnlyList<IShardService> shards)
{
    private readonly long[] _sent = new long[shards.Count];
    private readonly SemaphoreSlim _gate = new(1, 1);
    private long _nextOrdinal = store.Read().NextOrdinal;

    /// <summary>A writer of the sharded index in the folder <paramref name="root"/> (its <c>cluster.json</c>).</summary>
    public ShardedWriter(string root, IReadOnlyList<IShardService> shards) : this(new FolderManifestStore(root), shards) { }

    public int ShardCount => shards.Count;

    /// <summary>Sends documents to their shards in batches; <paramref name="replace"/>: an existing _id is replaced
    /// (otherwise it is an error). A document's other keys are checked against one schema for every shard first: a key
    /// first seen here is typed by its first value and declared to every shard, so shards never type a key
    /// differently by the documents each happens to get. <paramref name="where"/> names a document for errors
    /// ("file:line"; default "document id").</summary>
    public async Task<long> AddAsync(IEnumerable<Document> documents, bool replace, int batchSize = 4096, Action<long>? added = null,
        Func<Document, string>? where = null)
    {
        var batches = new List<(Document, long)>[shards.Count];
        for (int i = 0; i < batches.Length; i++) batches[i] = [];
        long n = 0;
        foreach (var d in documents)
        {
            if (string.IsNullOrEmpty(d.Id)) throw new RelevoException("document has an empty _id");
            if (d.Fields is not null) await TypeAsync(d, where).ConfigureAwait(false);
            int s = ShardRouter.ShardOf(d.Id, shards.Count);
            batches[s].Add((d, _nextOrdinal++));
            n++;
            if (batches[s].Count >= batchSize) await SendAsync(s, batches[s], replace).ConfigureAwait(false);
            if ((n & 1023) == 0) added?.Invoke(n);
        }
        for (int s = 0; s < batches.Length; s++)
            if (batches[s].Count > 0) await SendAsync(s, batches[s], replace).ConfigureAwait(false);
        added?.Invoke(n);
        return n;
    }

    // the shards' common schema as their writers have it (pending declarations included); null: not read yet
    private Relevo.Index.Values.Schema? _schema;

    private async Task TypeAsync(Document d, Func<Document, string>? where)
    {
        if (_schema is null)
        {
            // the shards' writers' schemas (committed, and declared since by --schema), which agree
            var all = await Task.WhenAll(shards.Select(s => s.DeclareTypesAsync([]))).ConfigureAwait(false);
            var schema = new Relevo.Index.Values.Schema();
            foreach (var types in all) if (types is not null) schema.DeclareTypes(types);
            _schema = schema;
        }
        int before = _schema.Count;
        try
        {
            _schema.Check(d.Fields, where?.Invoke(d) ?? $"document {d.Id}");
        }
        catch
        {
            _schema = null; // a failed document may have typed a key before it failed: read the shards' again
            throw;
        }
        if (_schema.Count != before)
        {
            var declared = new Dictionary<string, string>(_schema.ToManifest()!, StringComparer.Ordinal);
            await Task.WhenAll(shards.Select(s => s.DeclareTypesAsync(declared))).ConfigureAwait(false);
        }
    }

    private async Task SendAsync(int shard, List<(Document Doc, long Ordinal)> batch, bool replace)
    {
        var docs = new Document[batch.Count];
        var ordinals = new long[batch.Count];
        for (int i = 0; i < docs.Length; i++) (docs[i], ordinals[i]) = batch[i];
        batch.Clear();
        await shards[shard].AddAsync(docs, ordinals, replace).ConfigureAwait(false);
        Interlocked.Add(ref _sent[shard], docs.Length);
    }

    /// <summary>Deletes documents by id; returns how many existed.</summary>
    public async Task<int> DeleteAsync(IReadOnlyList<string> ids)
    {
        var byShard = new List<string>[shards.Count];
        for (int i = 0; i < byShard.Length; i++) byShard[i] = [];
        foreach (var id in ids) byShard[ShardRouter.ShardOf(id, shards.Count)].Add(id);
        int deleted = 0;
        for (int s = 0; s < byShard.Length; s++)
        {
            if (byShard[s].Count == 0) continue;
            deleted += await shards[s].DeleteAsync([.. byShard[s]]).ConfigureAwait(false);
            Interlocked.Add(ref _sent[s], byShard[s].Count);
        }
        return deleted;
    }

    /// <summary>Makes every change since the last commit visible at once, as a new cluster-wide version; returns it.</summary>
    public async Task<long> CommitAsync(Action<string>? stage = null)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var current = store.Read();
            if (current.ShardCount != shards.Count)
                throw new RelevoException($"{store.Where}: {current.ShardCount} shards, but the writer has {shards.Count}");
            ShardPrepared[] prepared;
            try
            {
                prepared = await Task.WhenAll(shards.Select(s => s.PrepareAsync())).ConfigureAwait(false);
                for (int i = 0; i < prepared.Length; i++)
                    if (prepared[i].Changes != Interlocked.Read(ref _sent[i]))
                        throw new RelevoException($"commit aborted: shard {i} applied {prepared[i].Changes} of the {Interlocked.Read(ref _sent[i])} changes " +
                                                  "sent to it since the last commit (its host restarted?); nothing was committed — send the changes again");
                // every shard holds the types the coordinator decided (a host that restarted before it got a document of
                // the batch would have lost them and typed a key on its own)
                if (_schema?.ToManifest() is { } decided)
                    for (int i = 0; i < prepared.Length; i++)
                        foreach (var (field, type) in decided)
                        {
                            string? had = prepared[i].Commit.Schema?.GetValueOrDefault(field);
                            if (had != type)
                                throw new RelevoException($"commit aborted: shard {i} has field {field} as {had ?? "nothing"}, not {type} " +
                                                          "(its host restarted?); nothing was committed — send the changes again");
                        }
                stage?.Invoke("shards-prepared");
            }
            catch
            {
                await AbortAllAsync().ConfigureAwait(false);
                throw;
            }
            var snapshots = new List<ShardSnapshot>(shards.Count);
            for (int i = 0; i < prepared.Length; i++) snapshots.Add(current.Shards[i] with { Commit = prepared[i].Commit });
            var next = current with { Version = current.Version + 1, Shards = snapshots, NextOrdinal = _nextOrdinal };
            long version;
            try
            {
                version = await store.PublishAsync(next, stage).ConfigureAwait(false);
            }
            catch (Exception) when (store.Read().Version == current.Version)
            {
                // nothing was published: every shard returns to the commit the manifest still names
                await AbortAllAsync().ConfigureAwait(false);
                throw;
            }
            Array.Clear(_sent);
            return version;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Discards every change since the last commit, on every shard.</summary>
    public async Task RollbackAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try { await AbortAllAsync().ConfigureAwait(false); }
        finally { _gate.Release(); }
    }

    private async Task AbortAllAsync()
    {
        Array.Clear(_sent);
        _schema = null; // the shards forget the types the aborted changes declared
        _nextOrdinal = store.Read().NextOrdinal;
        var errors = new List<Exception>();
        foreach (var s in shards)
        {
            try { await s.AbortAsync().ConfigureAwait(false); }
            catch (Exception e) { errors.Add(e); }
        }
        if (errors.Count > 0) throw new AggregateException("returning the shards to the last cluster-wide commit failed", errors);
    }
}

/// <summary>Where a sharded index's cluster-wide commits live: <c>cluster.json</c> in one folder, or (a cluster whose
/// silos keep their own copies) every node's.</summary>
internal interface IClusterManifestStore
{
    /// <summary>The current cluster-wide commit.</summary>
    ShardedManifest Read();

    /// <summary>Makes <paramref name="next"/> (every shard's prepared commit) the current one and returns its version.
    /// If it throws and <see cref="Read"/> still gives the old version, nothing was published.</summary>
    Task<long> PublishAsync(ShardedManifest next, Action<string>? stage);

    /// <summary>For messages: where the manifest is.</summary>
    string Where { get; }
}

/// <summary>The cluster manifest in a folder every process serving the index reads.</summary>
internal sealed class FolderManifestStore(string root) : IClusterManifestStore
{
    public ShardedManifest Read() => ShardedManifest.Read(root);

    public Task<long> PublishAsync(ShardedManifest next, Action<string>? stage)
    {
        next.Commit(root, stage);
        return Task.FromResult(next.Version);
    }

    public string Where => Path.Combine(root, ShardedManifest.FileName);
}
