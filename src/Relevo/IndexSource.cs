using Relevo.Index;
using Relevo.Pipelines;

namespace Relevo;

/// <summary>What a <see cref="SearchIndex"/> searches and writes: one index folder (<see cref="LocalIndexSource"/>) or
/// a sharded index, its shards in this process or on a cluster (<see cref="Sharding.ShardedIndexSource"/>). The one
/// place that knows which.</summary>
internal abstract class IndexSource : IDisposable
{
    public abstract string Description { get; }
    public abstract string AnalyzerName { get; }
    public abstract bool IsSharded { get; }

    /// <summary>A target for one query (a leased commit of a local index, or a per-query view of the shards);
    /// dispose it when the query is done.</summary>
    public abstract TargetLease AcquireTarget();

    public abstract Task<Document?> GetDocumentAsync(string id);
    public abstract Task<IndexStatus> StatusAsync(bool withSize);

    /// <summary>The segments of the current commit (every shard's, on a sharded index) when they can be read here; null
    /// for a remote cluster.</summary>
    public abstract IReadOnlyList<SegmentEntry>? CurrentSegments();

    public abstract DocumentWriter OpenWriter(WriterOptions options);

    /// <summary>Adds or replaces documents and commits them; returns the new generation.</summary>
    public abstract Task<long> AddAndCommitAsync(IReadOnlyList<Document> documents, CancellationToken cancellation);

    /// <summary>Deletes one document and commits; Deleted is false (and nothing written) when no live document has the id.</summary>
    public abstract Task<(bool Deleted, long Generation)> DeleteAndCommitAsync(string id, CancellationToken cancellation);

    /// <summary>Makes the latest commit the one searches see; true if it changed.</summary>
    public abstract bool Refresh();

    /// <summary>The index's services (set by <see cref="SearchIndex"/>): writes use them to give new documents the
    /// per-segment data the index holds (vectors, embedded with the index's model).</summary>
    internal ServiceSet? Services { get; set; }

    public abstract void Dispose();
}

/// <summary>A search target held for one query; disposing releases it (a local commit stays open until released).</summary>
internal readonly struct TargetLease(ISearchTarget target, IDisposable? release) : IDisposable
{
    public ISearchTarget Target => target;
    public void Dispose() => release?.Dispose();
}

/// <summary>One ordinary index folder: searches lease the current commit (<see cref="ReaderManager"/>), and writes go
/// through the index's one writer, opened at start when the index is writable.</summary>
internal sealed class LocalIndexSource : IndexSource
{
    private readonly string _dir;
    private readonly ExtensionRegistry _registry;
    private readonly ReaderManager _readers;
    private readonly IndexWriter? _writer;
    private readonly SemaphoreSlim _writeGate = new(1, 1);

    public LocalIndexSource(string dir, ExtensionRegistry registry, bool writable, Action<string, Exception>? problem = null)
    {
        _problem = problem;
        _dir = dir;
        _registry = registry;
        // a served index merges in the background (MergeInBackground), not inside the commits that writes wait for
        if (writable) _writer = IndexWriter.Open(dir, WriterSettings(new WriterOptions { ReplaceExisting = true, MergeSegments = false }));
        try
        {
            _readers = new ReaderManager(dir) { RefreshFailed = e => problem?.Invoke($"{dir}: a committed change is not visible yet (opening its reader failed; retried at the next search)", e) };
        }
        catch
        {
            _writer?.Dispose();
            throw;
        }
    }

    public override string Description => _dir;
    public override bool IsSharded => false;

    public override string AnalyzerName
    {
        get { using var lease = _readers.Acquire(); return lease.Reader.Analyzer; }
    }

    public override TargetLease AcquireTarget()
    {
        var lease = _readers.Acquire();
        return new TargetLease(new LocalTarget(lease.Reader, _registry), lease);
    }

    public override Task<Document?> GetDocumentAsync(string id)
    {
        using var lease = _readers.Acquire();
        return Task.FromResult(lease.Reader.GetDocument(id));
    }

    public override Task<IndexStatus> StatusAsync(bool withSize)
    {
        using var lease = _readers.Acquire();
        var r = lease.Reader;
        return Task.FromResult(new IndexStatus(r.Manifest.Generation, r.LiveDocs, r.Segments.Count, withSize ? FolderSize(_dir) : 0, r.Analyzer, null));
    }

    /// <summary>The bytes of the files directly in a folder (an index folder has no subfolders).</summary>
    internal static long FolderSize(string directory)
    {
        long total = 0;
        foreach (var f in new DirectoryInfo(directory).EnumerateFiles())
        {
            try { total += f.Length; }
            catch (FileNotFoundException) { } // removed by a commit meanwhile
        }
        return total;
    }

    public override IReadOnlyList<SegmentEntry> CurrentSegments()
    {
        using var lease = _readers.Acquire();
        return lease.Reader.Manifest.Segments;
    }

    private IndexWriterOptions WriterSettings(WriterOptions o) => new()
    {
        Analyzer = o.Analyzer,
        ReplaceExisting = o.ReplaceExisting,
        RamBudgetBytes = o.RamBudgetBytes,
        CommitStage = o.CommitStage,
        Components = _registry.Components,
        MergePolicy = o.MergeSegments ? MergePolicy.Default : null,
    };

    public override DocumentWriter OpenWriter(WriterOptions options)
    {
        if (_writer is not null) throw new RelevoException($"{_dir}: this index is open for writing already (its writer holds the lock)");
        return new LocalDocumentWriter(IndexWriter.Open(_dir, WriterSettings(options)), options, () => _readers.TryRefresh());
    }

    public override async Task<long> AddAndCommitAsync(IReadOnlyList<Document> documents, CancellationToken cancellation)
    {
        var writer = RequireWriter();
        await _writeGate.WaitAsync(cancellation).ConfigureAwait(false);
        try
        {
            try
            {
                foreach (var d in documents) writer.Add(d);
                if (Services is { } services) writer.CompleteComponents(services); // e.g. embed them for the index's vectors
                writer.Commit();
            }
            catch
            {
                writer.Rollback();
                throw;
            }
            _readers.TryRefresh(); // the commit is durable: a reader that fails to open is retried, never reported as a failed write
            return writer.LastCommit.Generation;
        }
        finally
        {
            _writeGate.Release();
            StartMerging();
        }
    }

    public override async Task<(bool Deleted, long Generation)> DeleteAndCommitAsync(string id, CancellationToken cancellation)
    {
        var writer = RequireWriter();
        await _writeGate.WaitAsync(cancellation).ConfigureAwait(false);
        try
        {
            try
            {
                if (!writer.Delete(id)) return (false, _readers.Generation);
                writer.Commit();
            }
            catch
            {
                writer.Rollback();
                throw;
            }
            _readers.TryRefresh();
            return (true, writer.LastCommit.Generation);
        }
        finally
        {
            _writeGate.Release();
            StartMerging();
        }
    }

    // ---------------------------------------------------------------- background merges

    private Task _merges = Task.CompletedTask;
    private readonly object _mergeGate = new();
    private readonly CancellationTokenSource _closing = new();

    /// <summary>Merges done in the background since the index opened, and their time (for logs and stats).</summary>
    public int MergesDone => Volatile.Read(ref _mergesDone);
    private int _mergesDone;

    private readonly Action<string, Exception>? _problem;

    // a failed background merge leaves the index as it was; the next write starts merging again
    private void MergeFailed(Exception e) => _problem?.Invoke($"{_dir}: a background merge failed (the index is unchanged)", e);

    /// <summary>Starts merging segments in the background (Lucene's log policy) unless merges are running already.
    /// A merge reads a snapshot of its segments while writes go on, then takes the write gate only to swap the merged
    /// segment in and commit.</summary>
    private void StartMerging()
    {
        lock (_mergeGate)
        {
            if (!_merges.IsCompleted || _closing.IsCancellationRequested) return;
            _merges = Task.Run(MergeInBackground);
        }
    }

    private async Task MergeInBackground()
    {
        var writer = RequireWriter();
        while (!_closing.IsCancellationRequested)
        {
            IndexWriter.BackgroundMerge? merge;
            await _writeGate.WaitAsync().ConfigureAwait(false);
            try { merge = writer.StartMerge(MergePolicy.Default); }
            finally { _writeGate.Release(); }
            if (merge is null) return;
            try
            {
                merge.Run();
            }
            catch (Exception e)
            {
                await _writeGate.WaitAsync().ConfigureAwait(false);
                try { writer.AbandonMerge(merge); }
                finally { _writeGate.Release(); }
                MergeFailed(e);
                return;
            }
            await _writeGate.WaitAsync().ConfigureAwait(false);
            try
            {
                if (_closing.IsCancellationRequested)
                {
                    writer.AbandonMerge(merge);
                    return;
                }
                writer.FinishMerge(merge);
                writer.Commit();
                Interlocked.Increment(ref _mergesDone);
            }
            catch (Exception e)
            {
                writer.Rollback(); // the merged segment is in no commit: the index stays as the last commit left it
                MergeFailed(e);
                return;
            }
            finally
            {
                _writeGate.Release();
            }
            _readers.TryRefresh();
        }
    }

    private IndexWriter RequireWriter() =>
        _writer ?? throw new RelevoException($"{_dir}: opened read-only (open it writable to add or delete documents)");

    public override bool Refresh() => _readers.Refresh();

    private bool _disposed;

    public override void Dispose()
    {
        Task merges;
        lock (_mergeGate)
        {
            if (_disposed) return;
            _disposed = true;
            _closing.Cancel();
            merges = _merges;
        }
        try { merges.Wait(); } // a merge in flight finishes writing and is then given up (its files removed)
        catch (AggregateException) { }
        _readers.Dispose();
        _writer?.Dispose();
        _writeGate.Dispose();
        _closing.Dispose();
    }
}
