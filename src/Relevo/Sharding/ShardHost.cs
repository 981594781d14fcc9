using System.Collections.Concurrent;
using Relevo.Index;
using Relevo.Pipelines;
using Relevo.Index.Values;
using Relevo.Search;
using Relevo.Search.Filters;

namespace Relevo.Sharding;

/// <summary>Serves one shard of a sharded index from its folder: reads at the cluster-wide version a request names
/// (the shard commit <c>cluster.json</c> records for it, not the shard's own latest commit), and applies writes that
/// a coordinator routes here. Every process that can read the folder can host it (an Orleans grain wraps one; tests
/// and the CLI use it in process). Retrievers and document operations come from the host's
/// <see cref="ExtensionRegistry"/> (so a silo with the dense extension serves dense retrieval). Thread-safe.</summary>
internal sealed class ShardHost : IShardService, IDisposable
{
    private readonly string _root;
    private readonly ExtensionRegistry _registry;
    private readonly ConcurrentDictionary<string, RetrieverStage> _retrievers = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private readonly object _writeGate = new();
    // The last two versions opened: a query that started on the older one finishes on it.
    private readonly List<Snapshot> _snapshots = [];
    private (DateTime Written, long Length) _manifestStamp;
    private IndexWriter? _writer;
    private ServiceSet? _services; // for completing new segments' component data (the dense models that embed them)
    private long _changes;
    // Ordinals of documents added since the last prepare, by id (the latest wins for a replaced document).
    private readonly Dictionary<string, long> _pending = new(StringComparer.Ordinal);
    private bool _disposed;

    public int Shard { get; }
    public string Folder { get; }
    // on a node of a cluster whose silos keep their own copies: the node's id (it serves only versions that list it)
    private readonly string? _node;

    /// <param name="node">The node this host runs on when <paramref name="root"/> is a node's own folder
    /// (docs/cluster.md, "Replicas"): a version of the cluster manifest that does not list the node as a copy of
    /// the shard is answered with <see cref="ShardCopyUnavailableException"/>, so the caller asks another copy.</param>
    public ShardHost(string root, int shard, ExtensionRegistry registry, string? node = null)
    {
        _root = root;
        _registry = registry;
        _node = node;
        Shard = shard;
        if (node is not null && !ShardedManifest.Exists(root))
            throw new ShardCopyUnavailableException($"node {node} holds no copy of shard {shard} (it has no cluster manifest yet)");
        var manifest = ShardedManifest.Read(root);
        if (shard < 0 || shard >= manifest.ShardCount)
            throw new RelevoException($"{Path.Combine(root, ShardedManifest.FileName)}: there is no shard {shard} (the index has {manifest.ShardCount})");
        Folder = Path.Combine(root, manifest.Shards[shard].Folder);
    }

    // ---------------------------------------------------------------- reads

    public Task<ShardStatistics> StatisticsAsync(long version, string[] terms) => Task.FromResult(Statistics(version, terms));

    public ShardStatistics Statistics(long version, string[] terms)
    {
        using var lease = Acquire(version);
        var s = lease.Snapshot;
        var stats = s.Statistics;
        var df = new long[terms.Length];
        var ttf = new long[terms.Length];
        for (int i = 0; i < terms.Length; i++)
        {
            if (FieldStatisticsKeys.TryParse(terms[i], out string field, out string? term))
            {
                // a text field's statistics (the shard's field postings; an empty shard has none)
                // (a coordinator asks for every fielded clause's; a typed field's are zero)
                if (s.Reader.Manifest.Segments.Count == 0 || !Relevo.Index.Fields.TextFields.IsField(field, s.Reader.Schema)) continue;
                var view = Relevo.Index.Fields.FieldView.Of(s.Reader, field);
                if (term is null) (df[i], ttf[i]) = (view.DocCount, view.SumTotalTermFreq);
                else (df[i], ttf[i]) = (view.DocFreq(term), view.TotalTermFreq(term));
                continue;
            }
            df[i] = stats.DocFreq(terms[i]);
            ttf[i] = stats.TotalTermFreq(terms[i]);
        }
        return new ShardStatistics(s.Version, stats.DocCount, stats.SumTotalTermFreq, df, ttf) { LiveDocs = s.Reader.LiveDocs };
    }

    public Task<ShardHits> SearchAsync(ShardRetrieval query) => Task.FromResult(Search(query));

    /// <summary>The shard's top k for a retrieval, scored with the collection-wide statistics the coordinator sent,
    /// pruned with the floor and with the k-th scores of the same query's other shards in this process.</summary>
    public ShardHits Search(ShardRetrieval q)
    {
        using var lease = Acquire(q.Version);
        var s = lease.Snapshot;
        if (IsStale(s, q.Version)) return Stale(s.Version);
        if (q.Terms.Length != q.Weights.Length) throw new RelevoException("shard query: terms and weights differ in number");
        var retriever = Retriever(q.Retriever);
        Query? terms = q.Terms.Length > 0 ? Query.FromArrays(q.Terms, q.Weights) : null;
        var reader = s.Reader;
        if (q.K <= 0) throw new RelevoException("k must be at least 1");
        int cap = Math.Min(q.K, Math.Max(reader.MaxDoc, 1));
        var docs = new int[cap];
        var scores = new float[cap];
        int n;
        var bound = SharedBounds.Enter(q.QueryId);
        try
        {
            if (q.Structured is { } text) terms = RetrieverStage.ReadStructured(text, reader);
            n = reader.MaxDoc == 0 ? 0 : retriever.Search(reader, new RetrievalRequest(terms, q.Vector) { Filter = q.Filter }, q.Statistics, q.K, docs, scores, q.Floor, bound);
        }
        finally { SharedBounds.Leave(q.QueryId); }
        return ToShardHits(s, reader.ToHits(docs.AsSpan(0, n), scores.AsSpan(0, n)));
    }

    public Task<ShardMatched> MatchAsync(ShardMatch request, CancellationToken cancellation) => Task.FromResult(Match(request, cancellation));

    /// <summary>The shard's part of facets and a sort by field: the documents the query matches within the filter, as
    /// one index matches them (<see cref="MatchSet"/>); per facet field its most frequent values (at most the cap),
    /// and the first k documents by the sort field, ties by cluster-wide ordinal.</summary>
    public ShardMatched Match(ShardMatch q, CancellationToken cancellation)
    {
        using var lease = Acquire(q.Version);
        var s = lease.Snapshot;
        if (IsStale(s, q.Version)) return new ShardMatched(s.Version, 0, [], null);
        if (q.Terms.Length != q.Weights.Length) throw new RelevoException("shard query: terms and weights differ in number");
        if (q.FacetCap < 1) throw new RelevoException("shard query: the facet cap must be at least 1");
        cancellation.ThrowIfCancellationRequested();
        var reader = s.Reader;
        // a Lucene-syntax query's tree (an empty text: every clause analysed to nothing, which matches nothing), else the bag
        var query = q.Structured is null ? Query.FromArrays(q.Terms, q.Weights)
            : q.Structured.Length > 0 ? RetrieverStage.ReadStructured(q.Structured, reader)
            : new Query("", []);
        var set = MatchSet.Of(reader, query, DocFilter.For(reader, q.Filter), cancellation);
        var schema = set.Schema;
        var facets = new ShardFacet[q.Facets.Length];
        for (int i = 0; i < facets.Length; i++)
        {
            string field = q.Facets[i];
            if (schema.ValueTypeOf(field) is not { } type)
            {
                facets[i] = new ShardFacet(field, null, null, null, [], false);
                continue;
            }
            var counts = set.CountValues(field, type, cancellation);
            var (words, numbers, top) = counts.Top(q.FacetCap);
            facets[i] = new ShardFacet(field, Schema.Name(type), words, numbers, top, counts.Distinct > q.FacetCap);
        }
        ShardSorted? sorted = null;
        if (q.Sort is { } sortField)
        {
            cancellation.ThrowIfCancellationRequested();
            var sortType = schema.ValueTypeOf(sortField);
            var entries = set.SortedEntries(sortField, sortType, q.Descending, q.K, s.Ordinal);
            var ids = new string[entries.Length];
            var docs = new int[entries.Length];
            var ordinals = new long[entries.Length];
            int valued = 0;
            for (int i = 0; i < entries.Length; i++)
            {
                var e = entries[i];
                ids[i] = reader.Segments[e.Segment].GetId(e.Doc);
                docs[i] = reader.DocBase[e.Segment] + e.Doc;
                ordinals[i] = e.Tie;
                if (e.Has) valued++;
            }
            long[]? keys = sortType is { } t0 && t0 != FieldType.Keyword ? new long[valued] : null;
            string[]? words = sortType == FieldType.Keyword ? new string[valued] : null;
            for (int i = 0; i < valued; i++)
            {
                if (keys is not null) keys[i] = entries[i].Key;
                if (words is not null) words[i] = entries[i].Word!;
            }
            sorted = new ShardSorted(sortType is { } t ? Schema.Name(t) : null, ids, docs, ordinals, valued, keys, words);
        }
        return new ShardMatched(s.Version, set.Count, facets, sorted);
    }

    public Task<(long Version, Dictionary<string, string>? Schema)> SchemaAsync(long version)
    {
        using var lease = Acquire(version);
        var s = lease.Snapshot;
        return Task.FromResult((s.Version, s.Reader.Manifest.Schema is { } recorded ? new Dictionary<string, string>(recorded, StringComparer.Ordinal) : null));
    }

    /// <summary>The retriever a coordinator names by its canonical text, parsed with this host's extensions (kept:
    /// at most a few hundred distinct texts).</summary>
    private RetrieverStage Retriever(string text)
    {
        if (_retrievers.TryGetValue(text, out var r)) return r;
        var stage = PipelineParser.Parse(text, _registry) as RetrieverStage
            ?? throw new RelevoException($"shard query: '{text}' is not a retriever");
        if (_retrievers.Count < 256) _retrievers.TryAdd(text, stage);
        return stage;
    }

    public Task<Document?[]> DocumentsAsync(long version, int[] docs)
    {
        using var lease = Acquire(version, allowOlder: true);
        var r = lease.Snapshot.Reader;
        var result = new Document?[docs.Length];
        for (int i = 0; i < docs.Length; i++)
        {
            int d = docs[i];
            if (d < 0 || d >= r.MaxDoc) continue;
            int seg = r.SegmentOf(d);
            int local = d - r.DocBase[seg];
            if (!r.Segments[seg].IsDeleted(local)) result[i] = r.Segments[seg].GetDocument(local);
        }
        return Task.FromResult(result);
    }

    public Task<Document?> DocumentAsync(long version, string id)
    {
        using var lease = Acquire(version);
        return Task.FromResult(lease.Snapshot.Reader.GetDocument(id));
    }

    public Task<ShardFetched> FetchAsync(ShardFetch fetch)
    {
        using var lease = Acquire(fetch.Version, allowOlder: true);
        var s = lease.Snapshot;
        var r = s.Reader;
        var operation = _registry.DocumentOperation(fetch.Operation);
        var results = new byte[]?[fetch.Docs.Length];
        for (int i = 0; i < results.Length; i++)
        {
            int d = fetch.Docs[i];
            if (d < 0 || d >= r.MaxDoc) continue;
            int seg = r.SegmentOf(d);
            int local = d - r.DocBase[seg];
            if (!r.Segments[seg].IsDeleted(local)) results[i] = operation(r, fetch.Argument, seg, local);
        }
        return Task.FromResult(new ShardFetched(s.Version, results));
    }

    public Task<(long Version, int LiveDocs)> LiveDocsAsync(long version)
    {
        using var lease = Acquire(version);
        return Task.FromResult((lease.Snapshot.Version, lease.Snapshot.Reader.LiveDocs));
    }

    /// <summary>A request for a version other than the newest is answered "stale" (with the newest version, so the
    /// coordinator starts over there); one for <see cref="ShardVersion.Latest"/> is answered from the newest.</summary>
    private static bool IsStale(Snapshot s, long version) => version != ShardVersion.Latest && s.Version != version;

    private static ShardHits Stale(long version) => new(version, [], [], [], []);

    private static ShardHits ToShardHits(Snapshot s, Hit[] hits)
    {
        var ids = new string[hits.Length];
        var scores = new float[hits.Length];
        var docs = new int[hits.Length];
        var ordinals = new long[hits.Length];
        for (int i = 0; i < hits.Length; i++)
        {
            ids[i] = hits[i].Id;
            scores[i] = hits[i].Score;
            docs[i] = s.Reader.DocBase[hits[i].Segment] + hits[i].Doc;
            ordinals[i] = s.Ordinal(hits[i].Segment, hits[i].Doc);
        }
        return new ShardHits(s.Version, ids, scores, docs, ordinals);
    }

    /// <summary>The snapshot for a version. Searches and statistics (<paramref name="allowOlder"/> false) run only on
    /// the newest cluster-wide version, so that a commit becomes visible at once: asked for an older one they get the
    /// newest and the caller answers "stale" with its version. Fetching documents or vectors of hits may use the
    /// previous version too (the one the hits came from).</summary>
    private Lease Acquire(long version, bool allowOlder = false)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Reload(force: version != ShardVersion.Latest && (_snapshots.Count == 0 || version > _snapshots[^1].Version));
            // a node's copy that the newest cluster manifest has not reached yet: another copy answers
            if (_node is not null && version != ShardVersion.Latest && version > _snapshots[^1].Version)
                throw new ShardCopyUnavailableException($"shard {Shard}: cluster version {version} has not reached node {_node} yet (it has {_snapshots[^1].Version})");
            if (allowOlder && version != ShardVersion.Latest)
            {
                foreach (var s in _snapshots)
                    if (s.Version == version) return new Lease(s);
                // document numbers belong to one version: never answer a fetch from another
                throw new RelevoException($"shard {Shard}: cluster version {version} is no longer open (the shard keeps the " +
                                          $"two newest, {_snapshots[0].Version}–{_snapshots[^1].Version}); search again");
            }
            return new Lease(_snapshots[^1]);
        }
    }

    private bool ManifestChanged()
    {
        var info = new FileInfo(Path.Combine(_root, ShardedManifest.FileName));
        return (info.LastWriteTimeUtc, info.Exists ? info.Length : -1) != _manifestStamp;
    }

    /// <summary>Opens the cluster manifest's current commit of this shard if it is newer than what is open (called under _gate).</summary>
    private void Reload(bool force)
    {
        if (!force && _snapshots.Count > 0 && !ManifestChanged()) return;
        var info = new FileInfo(Path.Combine(_root, ShardedManifest.FileName));
        var stamp = (info.LastWriteTimeUtc, info.Length);
        var manifest = ShardedManifest.Read(_root);
        if (_snapshots.Count > 0 && manifest.Version <= _snapshots[^1].Version)
        {
            _manifestStamp = stamp;
            return;
        }
        if (_node is not null && manifest.Shards[Shard].Copies is { } copies && !copies.Contains(_node))
            throw new ShardCopyUnavailableException($"node {_node} holds no copy of shard {Shard} at cluster version {manifest.Version}");
        var commit = manifest.Shards[Shard].Commit;
        Snapshot snapshot;
        try
        {
            snapshot = new Snapshot(manifest.Version, IndexReader.Open(Folder, commit));
        }
        catch (RelevoException e) when (_node is not null)
        {
            // a node's copy that cannot be read (damaged, or files gone): other copies serve meanwhile
            throw new ShardCopyUnavailableException($"node {_node}: its copy of shard {Shard} cannot be read at cluster version {manifest.Version}: {e.Message}");
        }
        _snapshots.Add(snapshot);
        _manifestStamp = stamp;
        while (_snapshots.Count > 2)
        {
            _snapshots[0].Release();
            _snapshots.RemoveAt(0);
        }
    }

    // ---------------------------------------------------------------- writes

    public Task AddAsync(Document[] documents, long[] ordinals, bool replace)
    {
        if (ordinals.Length != documents.Length) throw new RelevoException("shard add: documents and ordinals differ in number");
        lock (_writeGate)
        {
            var writer = Writer();
            if (!replace)
            {
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var d in documents)
                    if (!seen.Add(d.Id) || writer.Contains(d.Id)) throw new DuplicateDocumentIdException(d.Id);
            }
            writer.AddRange(documents);
            for (int i = 0; i < documents.Length; i++) _pending[documents[i].Id] = ordinals[i];
            _changes += documents.Length;
        }
        return Task.CompletedTask;
    }

    public Task<Dictionary<string, string>?> DeclareTypesAsync(Dictionary<string, string> types)
    {
        lock (_writeGate)
        {
            var writer = Writer();
            if (types.Count > 0) writer.DeclareTypes(types);
            return Task.FromResult(writer.Schema.ToManifest() is { } all ? new Dictionary<string, string>(all, StringComparer.Ordinal) : null);
        }
    }

    public Task<int> DeleteAsync(string[] ids)
    {
        int n = 0;
        lock (_writeGate)
        {
            var writer = Writer();
            foreach (var id in ids)
                if (writer.Delete(id)) n++;
            _changes += ids.Length;
        }
        return Task.FromResult(n);
    }

    /// <summary>Runs <paramref name="action"/> on this shard's writer under the write lock (in-process indexing only,
    /// e.g. adding vectors as a shard commit that the next cluster-wide commit publishes; not part of
    /// <see cref="IShardService"/>).</summary>
    public T WithWriter<T>(Func<IndexWriter, T> action)
    {
        lock (_writeGate) return action(Writer());
    }

    /// <summary>For a shard that never held documents: the per-segment data every live segment of another shard has
    /// (in the cluster's current commit), and that shard's folder, so that its first documents get the same (vectors,
    /// embedded; their graphs). Null when no other shard has any.</summary>
    private (string Directory, List<ComponentData> Data)? SiblingComponents()
    {
        var cluster = ShardedManifest.Read(_root);
        for (int i = 0; i < cluster.Shards.Count; i++)
        {
            if (i == Shard || !Directory.Exists(Path.Combine(_root, cluster.Shards[i].Folder))) continue; // a node holds some shards only
            if (SegmentEntry.CommonComponents(cluster.Shards[i].Commit.Segments.Where(e => !e.IsEmptied)) is { Count: > 0 } all)
                return (Path.Combine(_root, cluster.Shards[i].Folder), all);
        }
        return null;
    }

    /// <summary>Gives the segments written since the writer opened the per-segment data the shard's other segments
    /// have (vectors, embedded; their graphs), then merges them into one and commits the shard (not the cluster: the
    /// next cluster-wide commit publishes it), as <see cref="PrepareAsync"/> completes them.</summary>
    public void MergeNewSegments()
    {
        lock (_writeGate)
        {
            var writer = Writer();
            writer.CompleteComponents(_services ??= _registry.CreateServices(), SiblingComponents);
            writer.MergeNewSegments();
        }
    }

    public Task<ShardPrepared> PrepareAsync()
    {
        lock (_writeGate)
        {
            var writer = Writer();
            // new documents get the per-segment data the shard's other segments have (vectors, embedded)
            writer.CompleteComponents(_services ??= _registry.CreateServices(), SiblingComponents);
            writer.Commit();
            ShardOrdinals.WriteMissing(Folder, writer.LastCommit, _pending, ShardedManifest.Read(_root).Shards[Shard].Commit);
            ShardOrdinals.RemoveUnreferenced(Folder, [writer.LastCommit, ShardedManifest.Read(_root).Shards[Shard].Commit]);
            var prepared = new ShardPrepared(writer.LastCommit, _changes);
            _changes = 0;
            _pending.Clear();
            return Task.FromResult(prepared);
        }
    }

    public Task AbortAsync()
    {
        lock (_writeGate)
        {
            var writer = Writer();
            writer.RestoreCommit(ShardedManifest.Read(_root).Shards[Shard].Commit);
            _changes = 0;
            _pending.Clear();
        }
        return Task.CompletedTask;
    }

    /// <summary>The shard's writer, opened on first use. Opening returns the shard to the commit the cluster manifest
    /// names if the shard's own latest commit is a prepared one that never became cluster-wide.</summary>
    private IndexWriter Writer()
    {
        if (_writer is not null && _node is not null && _changes == 0 && _pending.Count == 0
            && Manifest.Exists(Folder) && _writer.LastCommit.Generation != Manifest.Read(Folder).Generation)
        {
            // a node's copy that stopped being primary and was copied to since (the folder's commit is not the one this
            // writer made): start from what the folder holds now
            _writer.Dispose();
            _writer = null;
        }
        if (_writer is not null) return _writer;
        var writer = IndexWriter.Open(Folder, new IndexWriterOptions
        {
            ReplaceExisting = true,
            Components = _registry.Components,
            MergePolicy = MergePolicy.Default, // a server's small commits merge as they pile up
            ProtectedCommits = () => [ShardedManifest.Read(_root).Shards[Shard].Commit],
        });
        var named = ShardedManifest.Read(_root).Shards[Shard].Commit;
        if (writer.LastCommit.Generation != named.Generation) writer.RestoreCommit(named);
        _changes = 0;
        _pending.Clear();
        return _writer = writer;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var s in _snapshots) s.Release();
            _snapshots.Clear();
        }
        lock (_writeGate)
        {
            _writer?.Dispose();
            _writer = null;
            _services?.Dispose();
            _services = null;
        }
    }

    /// <summary>One opened cluster-wide version of this shard, reference-counted so that the reader closes only after
    /// the last query on it.</summary>
    private sealed class Snapshot(long version, IndexReader reader)
    {
        private int _refs = 1;

        public long Version { get; } = version;
        public IndexReader Reader { get; } = reader;
        public IndexStatistics Statistics => Reader.Statistics;
        private readonly long[]?[] _ordinals = LoadOrdinals(reader);

        private static long[]?[] LoadOrdinals(IndexReader reader)
        {
            var result = new long[]?[reader.Segments.Count];
            for (int s = 0; s < result.Length; s++)
                result[s] = ShardOrdinals.TryRead(reader.Directory, reader.Segments[s].Name, reader.Segments[s].MaxDoc);
            return result;
        }

        /// <summary>A document's cluster-wide ordinal; a segment without ordinals (written before they existed) falls
        /// back to the document's number in the shard.</summary>
        public long Ordinal(int segment, int doc) => _ordinals[segment] is { } o ? o[doc] : Reader.DocBase[segment] + doc;

        public void AddRef() => Interlocked.Increment(ref _refs);

        public void Release()
        {
            if (Interlocked.Decrement(ref _refs) != 0) return;
            Reader.Dispose();
        }
    }

    private readonly struct Lease : IDisposable
    {
        public Snapshot Snapshot { get; }
        public Lease(Snapshot s) { s.AddRef(); Snapshot = s; }
        public void Dispose() => Snapshot.Release();
    }
}

/// <summary>Per process, the <see cref="SharedBound"/> of each query that shards are searching, so that shards of one
/// query hosted in the same process prune with each other's k-th scores, whether they run at once (grains on one
/// silo) or one after another (shards searched in process, as one index searches its segments). A bound lives two
/// seconds after its last use.</summary>
internal static class SharedBounds
{
    private static readonly ConcurrentDictionary<Guid, Entry> s_bounds = new();
    private static int s_calls;
    private static readonly long s_lifetime = 2 * System.Diagnostics.Stopwatch.Frequency;

    private sealed class Entry
    {
        public readonly SharedBound Bound = new();
        public long LastUse = System.Diagnostics.Stopwatch.GetTimestamp();
    }

    public static SharedBound? Enter(Guid query)
    {
        if (query == Guid.Empty) return null;
        if ((Interlocked.Increment(ref s_calls) & 1023) == 0) Sweep();
        var e = s_bounds.GetOrAdd(query, static _ => new Entry());
        Volatile.Write(ref e.LastUse, System.Diagnostics.Stopwatch.GetTimestamp());
        return e.Bound;
    }

    public static void Leave(Guid query)
    {
        if (query != Guid.Empty && s_bounds.TryGetValue(query, out var e))
            Volatile.Write(ref e.LastUse, System.Diagnostics.Stopwatch.GetTimestamp());
    }

    private static void Sweep()
    {
        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        foreach (var (id, e) in s_bounds)
            if (now - Volatile.Read(ref e.LastUse) > s_lifetime) s_bounds.TryRemove(id, out _);
    }
}
