using Relevo.Pipelines;
using Relevo.Search;

namespace Relevo.Dense;

/// <summary>sparse(model=DIR, terms=256): learned sparse retrieval with queries encoded at query time by a SPLADE-style
/// ONNX model folder (<see cref="SparseEncoder"/>: masked-LM logits → log(1 + ReLU) → max over tokens, the largest
/// <c>terms</c> kept), scored by the index's stored impacts like <c>impact</c> (an index built with
/// `relevo index --vectors` from a corpus the same model encoded). Terms after feedback are used as they are.</summary>
internal sealed class SparseStage(string model, int terms) : ImpactStage
{
    public const int DefaultTerms = 256;

    public string Model { get; } = model;
    public int Terms { get; } = terms;

    public override string Text => Terms == DefaultTerms ? $"sparse(model={Model})" : $"sparse(model={Model},terms={Terms})";

    internal override ValueTask<RetrievalRequest> PrepareRequestAsync(PipelineQuery query, StageContext context)
    {
        if (query.Terms is { } given) return ValueTask.FromResult(new RetrievalRequest(given));
        var encoded = context.GetService<DenseModels>().Sparse(Model).Encode(query.Text, Terms);
        var weighted = new List<(string Term, float Weight)>(encoded.Count);
        foreach (var t in encoded) weighted.Add(t);
        return ValueTask.FromResult(new RetrievalRequest(new Query(query.Text, weighted)));
    }

    public static Stage Build(StageSyntax s, ModelCatalog catalog)
    {
        s.Accept("model", "terms");
        s.NoPositional();
        string model = s.String("model") ?? throw s.Error(s.Column, "sparse needs model=DIR, a SPLADE-style ONNX model folder");
        if (!catalog.AllowPaths) DenseStage.ModelKey(s, catalog, model, s.ColumnOf("model"));
        return new SparseStage(model, s.Int("terms", DefaultTerms, 1, 30_000));
    }
}
