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
        if (writable) _writer = IndexWriter.Open(dir, WriterSettings(new WriterOptions { ReplaceExisting = true, MergeSegments = false }, registry));
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

    /// <summary>The index writer's settings for a <see cref="DocumentWriter"/>'s options, with the extensions'
    /// segment components.</summary>
    internal static IndexWriterOptions WriterSettings(WriterOptions o, ExtensionRegistry registry) => new()
    {
        Analyzer = o.Analyzer,
        ReplaceExisting = o.ReplaceExisting,
        RamBudgetBytes = o.RamBudgetBytes,
        CommitStage = o.CommitStage,
        Threads = o.Threads,
        Components = registry.Components,
        MergePolicy = o.MergeSegments ? MergePolicy.Default : null,
    };

    public override DocumentWriter OpenWriter(WriterOptions options)
    {
        if (_writer is not null) throw new RelevoException($"{_dir}: this index is open for writing already (its writer holds the lock)");
        return new LocalDocumentWriter(IndexWriter.Open(_dir, WriterSettings(options, _registry)), options, () => _readers.TryRefresh());
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
                AdoptFinishedMerge(writer); // a merge done meanwhile goes in with this commit
                writer.Commit();
            }
            catch
            {
                writer.Rollback();
                throw;
            }
            _readers.TryRefresh(); // the commit is durable: a reader that fails to open is retried, never reported as a failed write
            StartNextMerge(writer);
            return writer.LastCommit.Generation;
        }
        finally
        {
            _writeGate.Release();
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
                AdoptFinishedMerge(writer);
                writer.Commit();
            }
            catch
            {
                writer.Rollback();
                throw;
            }
            _readers.TryRefresh();
            StartNextMerge(writer);
            return (true, writer.LastCommit.Generation);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    // ---------------------------------------------------------------- background merges

    // One merge at a time (Lucene's log policy): chosen under the write gate after a commit, written without it, and
    // swapped in under it by whichever comes first: the next write, whose commit then carries the merged segment (so a
    // busy index merges at the pace of its writes without the merge queueing for the gate), or the merge itself when
    // no write comes.
    private IndexWriter.BackgroundMerge? _merge;
    private Task _mergeRun = Task.CompletedTask;
    private readonly CancellationTokenSource _closing = new();

    private readonly Action<string, Exception>? _problem;

    // a failed background merge leaves the index as it was; the next commit chooses a merge again
    private void MergeFailed(Exception e) => _problem?.Invoke($"{_dir}: a background merge failed (the index is unchanged)", e);

    /// <summary>Under the write gate, before a commit: the finished merge's segment replaces its sources.</summary>
    private void AdoptFinishedMerge(IndexWriter writer)
    {
        if (_merge is not { } merge || !_mergeRun.IsCompleted) return;
        _merge = null;
        if (_mergeRun.IsCompletedSuccessfully)
            writer.FinishMerge(merge);
        else
        {
            writer.AbandonMerge(merge);
            MergeFailed(_mergeRun.Exception?.GetBaseException() ?? new OperationCanceledException());
        }
    }

    /// <summary>Under the write gate, after a commit: starts the next merge the policy wants, unless one is running.</summary>
    private void StartNextMerge(IndexWriter writer)
    {
        if (_merge is not null || _closing.IsCancellationRequested) return;
        IndexWriter.BackgroundMerge? merge;
        try
        {
            merge = writer.StartMerge(MergePolicy.Default);
        }
        catch (Exception e) when (e is IOException or RelevoException)
        {
            MergeFailed(e);
            return;
        }
        if (merge is null) return;
        // half the cores, so that searches keep theirs while a merge builds a graph; cancelled when the server closes
        merge.Context = new MergeContext(Math.Max(1, Environment.ProcessorCount / 2), _closing.Token);
        _merge = merge;
        _mergeRun = Task.Run(merge.Run);
        _ = _mergeRun.ContinueWith(_ => FinishIfNoWriteDoes(merge), CancellationToken.None,
            TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
    }

    /// <summary>When a merge's files are written and no write has taken it in: swap it in and commit on its own.</summary>
    private async Task FinishIfNoWriteDoes(IndexWriter.BackgroundMerge merge)
    {
        try
        {
            await _writeGate.WaitAsync(_closing.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return; // closing: Dispose gives the merge up
        }
        var writer = RequireWriter();
        try
        {
            if (_merge != merge) return; // a write took it in
            AdoptFinishedMerge(writer);
            writer.Commit();
            _readers.TryRefresh();
            StartNextMerge(writer);
        }
        catch (Exception e)
        {
            writer.Rollback(); // the merged segment is in no commit: the index stays as the last commit left it
            MergeFailed(e);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private IndexWriter RequireWriter() =>
        _writer ?? throw new RelevoException($"{_dir}: opened read-only (open it writable to add or delete documents)");

    public override bool Refresh() => _readers.Refresh();

    private bool _disposed;

    public override void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _closing.Cancel();
        if (_writer is not null)
        {
            _writeGate.Wait();
            try
            {
                // a merge in flight finishes writing its files, which are then removed: it was in no commit
                try { _mergeRun.Wait(); }
                catch (AggregateException) { }
                if (_merge is { } merge) _writer.AbandonMerge(merge);
                _merge = null;
            }
            finally
            {
                _writeGate.Release();
            }
        }
        _readers.Dispose();
        _writer?.Dispose();
        _writeGate.Dispose();
        _closing.Dispose();
    }
}
