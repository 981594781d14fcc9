namespace Relevo.Index;

/// <summary>Shares the latest committed <see cref="IndexReader"/> between threads and swaps in a newer one after a
/// commit, without closing a reader that a search still uses (Lucene's SearcherManager idea). Every reader is
/// reference-counted: the manager holds one reference to the current reader, and each <see cref="Acquire"/> adds
/// one until its lease is disposed. A replaced reader is disposed when its last lease is.</summary>
internal sealed class ReaderManager : IDisposable
{
    private readonly object _gate = new();
    private readonly object _refreshGate = new();
    private Counted _current;
    private bool _disposed;

    public string Directory { get; }

    public ReaderManager(string directory)
    {
        Directory = directory;
        _current = new Counted(IndexReader.Open(directory));
    }

    /// <summary>The commit generation of the current reader.</summary>
    public long Generation
    {
        get { lock (_gate) return _current.Reader.Manifest.Generation; }
    }

    /// <summary>Set when a refresh after a commit failed: the next <see cref="Acquire"/> tries again, so a commit that
    /// was acknowledged becomes visible as soon as the index can be opened.</summary>
    private volatile bool _stale;

    /// <summary>Hears a refresh that failed (the current reader stays in use and the refresh is retried).</summary>
    public Action<Exception>? RefreshFailed { get; init; }

    /// <summary>A lease on the current reader: one commit's consistent snapshot. Dispose it when done.</summary>
    public ReaderLease Acquire()
    {
        if (_stale) TryRefresh();
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _current.AddRef();
            return new ReaderLease(_current);
        }
    }

    /// <summary>Opens the latest commit if it is newer than the current reader's; true if a new reader was swapped in.
    /// Searches that hold the old reader finish on it; it is closed when the last of them releases it.</summary>
    public bool Refresh()
    {
        lock (_refreshGate)
        {
            long current;
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                current = _current.Reader.Manifest.Generation;
            }
            if (Manifest.Read(Directory).Generation == current)
            {
                _stale = false;
                return false;
            }
            Counted fresh;
            var reuse = AcquireCurrent();
            try
            {
                fresh = new Counted(IndexReader.Open(Directory, reuse.Reader)); // unchanged segments are shared, not reopened
            }
            finally
            {
                reuse.Release();
            }
            Counted old;
            lock (_gate)
            {
                if (_disposed)
                {
                    fresh.Release();
                    throw new ObjectDisposedException(nameof(ReaderManager));
                }
                old = _current;
                _current = fresh;
            }
            old.Release();
            _stale = false;
            return true;
        }
    }

    /// <summary>Refreshes without throwing (after a commit that is already durable): a failure is reported to
    /// <see cref="RefreshFailed"/>, the current reader stays, and the next <see cref="Acquire"/> tries again.</summary>
    public bool TryRefresh()
    {
        try
        {
            return Refresh();
        }
        catch (Exception e) when (e is not ObjectDisposedException)
        {
            _stale = true;
            RefreshFailed?.Invoke(e);
            return false;
        }
    }

    private Counted AcquireCurrent()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _current.AddRef();
            return _current;
        }
    }

    public void Dispose()
    {
        Counted old;
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            old = _current;
        }
        old.Release();
    }

    internal sealed class Counted(IndexReader reader)
    {
        private int _refs = 1;
        public IndexReader Reader { get; } = reader;

        public void AddRef() => Interlocked.Increment(ref _refs);

        public void Release()
        {
            int left = Interlocked.Decrement(ref _refs);
            if (left == 0) Reader.Dispose();
            else if (left < 0) throw new InvalidOperationException("reader released more often than acquired");
        }
    }
}

/// <summary>One holder's reference to a reader of a <see cref="ReaderManager"/>; disposing it releases the reference
/// (once, however often it is called).</summary>
internal sealed class ReaderLease : IDisposable
{
    private ReaderManager.Counted? _counted;
    private readonly IndexReader _reader;

    internal ReaderLease(ReaderManager.Counted counted)
    {
        _counted = counted;
        _reader = counted.Reader;
    }

    public IndexReader Reader
    {
        get
        {
            ObjectDisposedException.ThrowIf(_counted is null, this);
            return _reader;
        }
    }

    public void Dispose() => Interlocked.Exchange(ref _counted, null)?.Release();
}
