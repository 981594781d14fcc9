using System.Collections.Concurrent;
using Relevo.Analysis;
using Relevo.Index.Formats.V1;

namespace Relevo.Index;

/// <summary>A consistent, read-only view of one commit of an index: its segments and their deletions, its collection
/// statistics, and whatever per-commit state components and stages open over it (<see cref="Component{T}"/>, e.g.
/// memory-mapped vectors), which lives as long as the reader. Safe to share between threads; a later commit is seen
/// by opening a new reader.</summary>
internal sealed class IndexReader : IDisposable
{
    public string Directory { get; }
    public Manifest Manifest { get; }

    private Values.Schema? _schema;

    /// <summary>The commit's schema: its typed fields and the keys declared text (read once; not to be changed).</summary>
    internal Values.Schema Schema => _schema ??= Values.Schema.FromManifest(Manifest.Schema);
    public IReadOnlyList<SegmentReader> Segments { get; }
    /// <summary>First global document number of each segment.</summary>
    public IReadOnlyList<int> DocBase { get; }

    private IndexReader(string directory, Manifest manifest, List<SegmentReader> segments)
    {
        Directory = directory;
        Manifest = manifest;
        Segments = segments;
        var bases = new int[segments.Count];
        int b = 0;
        for (int i = 0; i < segments.Count; i++) { bases[i] = b; b += segments[i].MaxDoc; }
        DocBase = bases;
        Statistics = new IndexStatistics(this);
        AnalyzerInstance = Analysis.Analyzer.Create(manifest.Analyzer);
    }

    /// <summary>Collection statistics of this commit (deleted documents count until a merge removes them, as in Lucene).</summary>
    public IndexStatistics Statistics { get; }

    /// <summary>The analyzer the index was built with.</summary>
    public Analyzer AnalyzerInstance { get; }

    /// <summary>Opens the latest commit. If a writer commits and removes old files while we open, retry on the newer
    /// manifest. Segments that <paramref name="reuse"/> (an open reader of an earlier commit) has are shared with it,
    /// not opened again: a commit that adds one small segment to a large index costs that segment.</summary>
    public static IndexReader Open(string directory, IndexReader? reuse = null)
    {
        for (int attempt = 0; ; attempt++)
        {
            var manifest = Manifest.Read(directory);
            try
            {
                return new IndexReader(directory, manifest, OpenSegments(directory, manifest, reuse));
            }
            catch (RelevoException) when (attempt < 3 && Manifest.Read(directory).Generation != manifest.Generation)
            {
            }
        }
    }

    /// <summary>Opens a given commit of the index (e.g. the one a sharded index's cluster manifest names for this
    /// shard), which need not be the latest; its files must still exist.</summary>
    public static IndexReader Open(string directory, Manifest manifest, IndexReader? reuse = null) =>
        new(directory, manifest, OpenSegments(directory, manifest, reuse));

    internal static List<SegmentReader> OpenSegments(string directory, Manifest manifest, IndexReader? reuse = null)
    {
        var readers = new List<SegmentReader>();
        Dictionary<string, int>? previous = null;
        if (reuse is not null && string.Equals(Path.GetFullPath(reuse.Directory), Path.GetFullPath(directory), StringComparison.Ordinal))
        {
            previous = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < reuse.Segments.Count; i++) previous[reuse.Segments[i].Name] = i;
        }
        try
        {
            foreach (var s in manifest.Segments)
            {
                if (previous is not null && previous.TryGetValue(s.Name, out int p))
                {
                    // segment files never change; only the deletions may be newer
                    var old = reuse!.Segments[p];
                    var oldEntry = reuse.Manifest.Segments[p];
                    var shared = oldEntry.DeleteGeneration == s.DeleteGeneration ? old.Deletes : ReadDeletes(directory, s);
                    readers.Add(old.Share(shared));
                    continue;
                }
                readers.Add(new V1SegmentReader(directory, s.Name, ReadDeletes(directory, s)));
            }
            return readers;
        }
        catch
        {
            foreach (var r in readers) r.Dispose();
            throw;
        }
    }

    /// <summary>A committed segment's deletions (none when its entry names no deletions file).</summary>
    internal static DeletedDocs ReadDeletes(string directory, SegmentEntry s) =>
        s.DeletesFile is { } f ? DeletedDocs.Read(Path.Combine(directory, f), s.MaxDoc) : new DeletedDocs(s.MaxDoc);

    public string Analyzer => Manifest.Analyzer;

    /// <summary>The segment holding a global document number.</summary>
    public int SegmentOf(int globalDoc)
    {
        int lo = 0, hi = DocBase.Count - 1;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) >>> 1;
            if (DocBase[mid] <= globalDoc) lo = mid; else hi = mid - 1;
        }
        return lo;
    }
    public int MaxDoc => Segments.Count == 0 ? 0 : DocBase[^1] + Segments[^1].MaxDoc;

    public int LiveDocs
    {
        get { int n = 0; foreach (var s in Segments) n += s.LiveDocs; return n; }
    }

    /// <summary>The live document with this external id, or null.</summary>
    public Document? GetDocument(string id)
    {
        foreach (var s in Segments)
        {
            int doc = s.FindId(id);
            if (doc >= 0 && !s.IsDeleted(doc)) return s.GetDocument(doc);
        }
        return null;
    }

    public long SizeInBytes()
    {
        long total = 0;
        foreach (var f in new DirectoryInfo(Directory).EnumerateFiles()) total += f.Length;
        return total;
    }

    /// <summary>The top <paramref name="k"/> as hits, from a search that writes global document numbers and scores into
    /// the spans it is given (each min(k, MaxDoc) long) and returns how many.</summary>
    public Hit[] TopHits(int k, TopInto search)
    {
        if (k <= 0) throw new RelevoException("k must be at least 1");
        int cap = Math.Min(k, Math.Max(MaxDoc, 1));
        var docs = new int[cap];
        var scores = new float[cap];
        int n = search(docs, scores);
        return ToHits(docs.AsSpan(0, n), scores.AsSpan(0, n));
    }

    /// <summary>Hits from global document numbers and scores: each document's segment, local number and id.</summary>
    public Hit[] ToHits(ReadOnlySpan<int> docs, ReadOnlySpan<float> scores)
    {
        var hits = new Hit[docs.Length];
        for (int i = 0; i < hits.Length; i++)
        {
            int global = docs[i];
            int s = SegmentOf(global);
            int doc = global - DocBase[s];
            hits[i] = new Hit(Segments[s].GetId(doc), scores[i], s, doc);
        }
        return hits;
    }

    private readonly ConcurrentDictionary<string, Lazy<object>> _components = new(StringComparer.Ordinal);
    private int _disposed;

    /// <summary>Per-commit state opened once and shared by every search of this reader (e.g. a model's memory-mapped
    /// vectors), created by <paramref name="open"/> on first use under <paramref name="key"/>, and disposed with the
    /// reader. Keys come from the index's own contents (component names, model names), so their number is bounded.</summary>
    public T Component<T>(string key, Func<IndexReader, T> open) where T : class
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var lazy = _components.GetOrAdd(key, _ => new Lazy<object>(() => open(this), LazyThreadSafetyMode.ExecutionAndPublication));
        try
        {
            return (T)lazy.Value;
        }
        catch
        {
            _components.TryRemove(new KeyValuePair<string, Lazy<object>>(key, lazy)); // a failed open is retried next time
            throw;
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        foreach (var c in _components.Values)
            if (c.IsValueCreated && c.Value is IDisposable d) d.Dispose();
        foreach (var s in Segments) s.Dispose();
    }
}

/// <summary>A search writing its top documents (global numbers) and scores into the spans; returns how many.</summary>
internal delegate int TopInto(Span<int> docs, Span<float> scores);
