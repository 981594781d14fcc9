using Relevo.Index;
using Relevo.Rerank;
using Relevo.Search;
using Relevo.Sharding;

namespace Relevo.Cli;

/// <summary>An index opened for searching from the command line: an ordinary index folder, or a sharded one
/// (<c>cluster.json</c>), whose shards are then searched in this process exactly as a cluster would search them.</summary>
internal sealed class OpenedIndex : IDisposable
{
    private readonly IndexReader? _reader;
    private readonly ShardHost[] _shards = [];
    private readonly ClusterBackend? _backend;

    public SearchContext Context { get; }
    public bool Sharded => _backend is not null;

    private OpenedIndex(string dir, LlmClient? llm)
    {
        if (ClusterManifest.Exists(dir))
        {
            var manifest = ClusterManifest.Read(dir);
            _shards = ShardedIndex.OpenLocal(dir);
            _backend = new ClusterBackend(new ClusterSearcher(_shards, manifest.Analyzer));
            Context = new SearchContext(_backend) { Llm = llm };
        }
        else
        {
            _reader = IndexReader.Open(dir);
            Context = new SearchContext(_reader) { Llm = llm };
        }
    }

    public static OpenedIndex Open(string dir, LlmClient? llm = null) => new(dir, llm);

    /// <summary>The stored document of a hit.</summary>
    public Document GetDocument(SearchHit hit)
    {
        if (_reader is not null) return _reader.Segments[hit.Segment].GetDocument(hit.Doc);
        return _backend!.Searcher.DocumentsAsync([hit]).GetAwaiter().GetResult()[0]
               ?? throw new RelevoException($"document {hit.DocId} was deleted meanwhile");
    }

    public void Dispose()
    {
        Context.Dispose();
        _backend?.Dispose();
        foreach (var s in _shards) s.Dispose();
        _reader?.Dispose();
    }
}
