using Relevo.Index;

namespace Relevo.Server;

/// <summary>The served index: readers for searches (each request leases one commit's snapshot) and, when the server
/// has an API key, the index's one writer. Writes are serialized; each is committed and the new commit swapped in
/// for searches before the request is answered, so a 200 means durable and visible.</summary>
internal sealed class IndexService : IDisposable
{
    private readonly ReaderManager _readers;
    private readonly IndexWriter? _writer;
    private readonly SemaphoreSlim _writeGate = new(1, 1);

    public string Directory { get; }
    public bool Writable => _writer is not null;

    public IndexService(ServerOptions options)
    {
        Directory = Path.GetFullPath(options.IndexDirectory);
        if (!System.IO.Directory.Exists(Directory)) throw new RelevoException($"{Directory}: no such index folder");
        if (!Manifest.Exists(Directory))
            throw new RelevoException($"{Directory}: not an index (no manifest); create one with `relevo index`");
        if (options.ApiKey is not null)
            _writer = IndexWriter.Open(Directory, new IndexWriterOptions { ReplaceExisting = true });
        try
        {
            _readers = new ReaderManager(Directory);
        }
        catch
        {
            _writer?.Dispose();
            throw;
        }
    }

    public ReaderLease Acquire() => _readers.Acquire();

    /// <summary>Adds or replaces the documents (by id) and commits. Returns the new commit generation.</summary>
    public async Task<long> AddAsync(IReadOnlyList<Document> documents, CancellationToken cancellation)
    {
        var writer = RequireWriter();
        await _writeGate.WaitAsync(cancellation);
        try
        {
            try
            {
                foreach (var d in documents) writer.Add(d);
                writer.Commit();
            }
            catch
            {
                writer.Rollback();
                throw;
            }
            _readers.Refresh();
            return _readers.Generation;
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>Deletes a document and commits; false (and nothing written) if no live document has the id.</summary>
    public async Task<bool> DeleteAsync(string id, CancellationToken cancellation)
    {
        var writer = RequireWriter();
        await _writeGate.WaitAsync(cancellation);
        try
        {
            try
            {
                if (!writer.Delete(id)) return false;
                writer.Commit();
            }
            catch
            {
                writer.Rollback();
                throw;
            }
            _readers.Refresh();
            return true;
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private IndexWriter RequireWriter() =>
        _writer ?? throw new ApiException(403, "this server is read-only: start it with --api-key to allow writes");

    public void Dispose()
    {
        _readers.Dispose();
        _writer?.Dispose();
        _writeGate.Dispose();
    }
}
