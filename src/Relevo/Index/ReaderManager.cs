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

    /// <summary>A lease on the current reader: one commit's consistent snapshot. Dispose it when done.</summary>
    public ReaderLease Acquire()
    {
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
            if (Manifest.Read(Directory).Generation == current) return false;
            var fresh = new Counted(IndexReader.Open(Directory));
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
            return true;
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
