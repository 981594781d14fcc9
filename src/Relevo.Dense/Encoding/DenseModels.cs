using System.Collections.Concurrent;
using Relevo.Pipelines;

namespace Relevo.Dense;

/// <summary>The embedding models one <see cref="SearchIndex"/>'s dense stages use, each loaded once (on first use) with
/// its query-vector cache, and disposed with the index (unless a loader of the host's gave them: the host owns those).</summary>
internal sealed class DenseModels(ModelCatalog catalog, Func<string, EmbeddingModel>? load = null) : IQueryEmbedder, IDisposable
{
    public ModelCatalog Catalog => catalog;

    private readonly ConcurrentDictionary<string, Lazy<(EmbeddingModel Model, QueryVectorCache Queries)>> _models = new(StringComparer.Ordinal);

    /// <summary>Models a user may name are bounded by what loads (on a server: by the catalog's names): a name that does
    /// not load is not kept.</summary>
    private (EmbeddingModel Model, QueryVectorCache Queries) Entry(string nameOrFolder)
    {
        string key = catalog.Key(nameOrFolder);
        var lazy = _models.GetOrAdd(key, _ => new Lazy<(EmbeddingModel, QueryVectorCache)>(() =>
        {
            var model = load is null ? catalog.LoadEmbedding(nameOrFolder) : load(nameOrFolder);
            return (model, new QueryVectorCache(() => model));
        }, LazyThreadSafetyMode.ExecutionAndPublication));
        try
        {
            return lazy.Value;
        }
        catch
        {
            _models.TryRemove(new KeyValuePair<string, Lazy<(EmbeddingModel, QueryVectorCache)>>(key, lazy));
            throw;
        }
    }

    public EmbeddingModel Model(string nameOrFolder) => Entry(nameOrFolder).Model;

    /// <summary>A query's vector (cached by text).</summary>
    public float[] EmbedQuery(string nameOrFolder, string text) => Entry(nameOrFolder).Queries.Get(text);

    /// <summary>Embeds query texts ahead, in length-sorted batches.</summary>
    public void Prepare(string nameOrFolder, IReadOnlyList<string> texts) => Entry(nameOrFolder).Queries.Prepare(texts);

    private readonly ConcurrentDictionary<string, Lazy<NativeEncoder>> _native = new(StringComparer.Ordinal);

    /// <summary>The C# encoder over a model's ONNX weights (what explanations propagate relevance through), read once
    /// per model; a model that is not a BERT export is refused, and not kept.</summary>
    public NativeEncoder Native(string nameOrFolder)
    {
        var model = Model(nameOrFolder);
        var lazy = _native.GetOrAdd(catalog.Key(nameOrFolder),
            _ => new Lazy<NativeEncoder>(() => new NativeEncoder(BertWeights.Read(model.OnnxFile)), LazyThreadSafetyMode.ExecutionAndPublication));
        try
        {
            return lazy.Value;
        }
        catch
        {
            _native.TryRemove(new KeyValuePair<string, Lazy<NativeEncoder>>(catalog.Key(nameOrFolder), lazy));
            throw;
        }
    }

    /// <summary>A cross-encoder by what a pipeline named (loaded once per folder per process).</summary>
    public CrossEncoder CrossEncoder(string requested) => catalog.LoadCrossEncoder(requested);

    private readonly ConcurrentDictionary<string, Lazy<SparseEncoder>> _sparse = new(StringComparer.Ordinal);

    /// <summary>A sparse (SPLADE) query encoder by what a pipeline named, loaded once per index; one that does not
    /// load is not kept.</summary>
    public SparseEncoder Sparse(string requested)
    {
        var lazy = _sparse.GetOrAdd(requested, r => new Lazy<SparseEncoder>(() => catalog.LoadSparse(r), LazyThreadSafetyMode.ExecutionAndPublication));
        try
        {
            return lazy.Value;
        }
        catch
        {
            _sparse.TryRemove(new KeyValuePair<string, Lazy<SparseEncoder>>(requested, lazy));
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var s in _sparse.Values)
            if (s.IsValueCreated) s.Value.Dispose();
        if (load is not null) return;
        foreach (var m in _models.Values)
            if (m.IsValueCreated) m.Value.Model.Dispose();
    }
}
