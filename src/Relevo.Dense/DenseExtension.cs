using Relevo.Index;

namespace Relevo.Dense;

/// <summary>Dense retrieval for Relevo: the <c>dense(model=...)</c> retriever over vectors stored with the index,
/// <c>vprf</c> (vector pseudo-relevance feedback), <c>rerank(dense(...))</c>, <c>rerank(cross(model=FOLDER))</c> and
/// <c>sparse(model=FOLDER)</c> (SPLADE-style query encoding over an impact index);
/// sentence-embedding models run in-process by ONNX Runtime (arctic-xs and minilm come with the package).
/// Pass it in <see cref="SearchIndexOptions.Extensions"/>.</summary>
public sealed class DenseExtension : IRelevoExtension
{
    private readonly Func<string, EmbeddingModel>? _load;
    private readonly ModelCatalog _catalog = ModelCatalog.Local;

    /// <summary>Dense retrieval with the models loaded by name (arctic-xs, minilm) or from a model folder.</summary>
    public DenseExtension() { }

    /// <summary>With a model loader of the host's (e.g. to share loaded models between indexes).</summary>
    internal DenseExtension(Func<string, EmbeddingModel> load) => _load = load;

    /// <summary>For a server: pipelines name models from <paramref name="catalog"/> (built-ins, or the subfolders of the
    /// operator's models folder), never paths.</summary>
    internal DenseExtension(ModelCatalog catalog) => _catalog = catalog;

    /// <inheritdoc/>
    public void Register(ExtensionRegistry registry)
    {
        var catalog = _catalog;
        registry.AddStage("dense", "dense(model,int8,oversample,ef,exact)", s => DenseStage.Build(s, catalog));
        registry.AddStage("vprf", "vprf(docs,alpha,beta,model)", s => VectorPrfStage.Build(s, catalog));
        registry.AddStage("rerank", "rerank(dense(model)|cross(model), depth)", s => RerankStages.Build(s, catalog));
        registry.AddStage("sparse", "sparse(model,terms)", s => SparseStage.Build(s, catalog));
        registry.AddService(() => new DenseModels(catalog, _load));
        registry.AddServiceAlias<Pipelines.IQueryEmbedder, DenseModels>();
        registry.AddComponent(VectorComponent.Instance);
        registry.AddDocumentOperation(StoredVectors.Operation, StoredVectors.Read);
        registry.AddPipelineChoices(Choices);
    }

    /// <summary>Dense and hybrid (RRF of BM25 and dense) for every model whose vectors every segment holds.</summary>
    private static IEnumerable<PipelineChoice> Choices(IReadOnlyList<SegmentEntry> segments)
    {
        foreach (var c in segments[0].Components)
        {
            if (c.Component != VectorComponent.ComponentName || !VectorComponent.Everywhere(segments, c.Key)) continue;
            string model = c.Key;
            yield return new($"dense-{model}", $"Dense ({model})", $"dense(model={model})");
            yield return new($"hybrid-{model}", $"Hybrid (BM25 + {model})", $"fuse(rrf,bm25,dense(model={model}))");
        }
    }
}
