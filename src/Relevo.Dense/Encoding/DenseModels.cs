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
    private (EmbeddingModel Model, QueryVectorCache Queries) Entry(string nameOrFolder) =>
        GetOrLoad(_models, catalog.Key(nameOrFolder), () =>
        {
            var model = load is null ? catalog.LoadEmbedding(nameOrFolder) : load(nameOrFolder);
            return (model, new QueryVectorCache(() => model));
        });

    /// <summary>The value loaded once under <paramref name="key"/>; a load that fails is not kept, so the next call tries
    /// again (and a name that never loads takes no room).</summary>
    private static T GetOrLoad<T>(ConcurrentDictionary<string, Lazy<T>> cache, string key, Func<T> create)
    {
        var lazy = cache.GetOrAdd(key, _ => new Lazy<T>(create, LazyThreadSafetyMode.ExecutionAndPublication));
        try
        {
            return lazy.Value;
        }
        catch
        {
            cache.TryRemove(new KeyValuePair<string, Lazy<T>>(key, lazy));
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
        return GetOrLoad(_native, catalog.Key(nameOrFolder), () => new NativeEncoder(BertWeights.Read(model.OnnxFile)));
    }

    /// <summary>A cross-encoder by what a pipeline named (loaded once per folder per process).</summary>
    public CrossEncoder CrossEncoder(string requested) => catalog.LoadCrossEncoder(requested);

    private readonly ConcurrentDictionary<string, Lazy<SparseEncoder>> _sparse = new(StringComparer.Ordinal);

    /// <summary>A sparse (SPLADE) query encoder by what a pipeline named, loaded once per index; one that does not
    /// load is not kept.</summary>
    public SparseEncoder Sparse(string requested) => GetOrLoad(_sparse, requested, () => catalog.LoadSparse(requested));

    public void Dispose()
    {
        foreach (var s in _sparse.Values)
            if (s.IsValueCreated) s.Value.Dispose();
        if (load is not null) return;
        foreach (var m in _models.Values)
            if (m.IsValueCreated) m.Value.Model.Dispose();
    }
}
