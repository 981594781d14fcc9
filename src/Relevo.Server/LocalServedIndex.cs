using Relevo.Index;

namespace Relevo.Server;

/// <summary>One ordinary index folder: searches lease a commit's snapshot from <see cref="IndexService"/> and run the
/// pipeline language through <see cref="PipelineBackend"/>; writes go through the index's one writer.</summary>
internal sealed class LocalServedIndex(ServerOptions options) : IServedIndex
{
    private readonly IndexService _index = new(options);
    private readonly PipelineBackend _backend = new();

    public string Description => _index.Directory;
    public bool Writable => _index.Writable;

    public IReadOnlyList<PipelineChoice> Pipelines()
    {
        using var lease = _index.Acquire();
        return _backend.Pipelines(lease.Reader);
    }

    public Task<ServedSearch> SearchAsync(string? pipeline, string query, int k, bool explain)
    {
        using var lease = _index.Acquire();
        var reader = lease.Reader;
        string text = string.IsNullOrWhiteSpace(pipeline) ? _backend.Pipelines(reader)[0].Pipeline : pipeline;
        var result = _backend.Search(reader, text, query, k, explain);
        var docs = new Document?[result.Hits.Count];
        for (int i = 0; i < docs.Length; i++) docs[i] = reader.Segments[result.Hits[i].Segment].GetDocument(result.Hits[i].Doc);
        return Task.FromResult(new ServedSearch(result, docs, reader.Manifest.Generation, reader.Analyzer));
    }

    public Task<Document?> GetDocumentAsync(string id)
    {
        using var lease = _index.Acquire();
        return Task.FromResult(lease.Reader.GetDocument(id));
    }

    public Task<long> AddAsync(IReadOnlyList<Document> documents, CancellationToken cancellation) =>
        _index.AddAsync(documents, cancellation);

    public async Task<(bool Deleted, long Generation)> DeleteAsync(string id, CancellationToken cancellation)
    {
        bool deleted = await _index.DeleteAsync(id, cancellation);
        using var lease = _index.Acquire();
        return (deleted, lease.Reader.Manifest.Generation);
    }

    public Task<ServedStatus> StatusAsync(bool withSize)
    {
        using var lease = _index.Acquire();
        var r = lease.Reader;
        return Task.FromResult(new ServedStatus(r.Manifest.Generation, r.LiveDocs, r.Segments.Count,
            withSize ? FolderSize(r.Directory) : 0, r.Analyzer, null));
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

    public void Dispose() => _index.Dispose();
}
