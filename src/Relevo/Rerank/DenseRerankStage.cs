using Relevo.Search;

namespace Relevo.Rerank;

/// <summary>rerank(dense(model=M), depth=100): reorders the incoming top <c>depth</c> by cosine between the query's
/// embedding and each document's stored vector (a bi-encoder reranker, no LLM). Ties keep the incoming order.</summary>
public sealed class DenseRerankStage(DenseSpec spec, int depth) : RerankStage(depth)
{
    public DenseSpec Spec { get; } = spec;
    protected override string Name => "rerank";
    public override string Text => $"rerank(dense(model={Spec.Model}){(Top == 100 ? "" : $",depth={Top}")})";

    protected override (int[] Order, float[] Scores) Rerank(string query, IReadOnlyList<SearchHit> head, SearchContext ctx)
    {
        var dense = ctx.Dense(Spec);
        var q = dense.EmbedQuery(query);
        float qn = Norm(q);
        var scores = new float[head.Count];
        for (int i = 0; i < head.Count; i++)
        {
            var v = dense.GetVector(head[i].Segment, head[i].Doc);
            float dot = System.Numerics.Tensors.TensorPrimitives.Dot<float>(q, v);
            float n = qn * Norm(v);
            scores[i] = n > 0 ? dot / n : 0;
        }
        return (ByScore(scores), scores);
    }

    private static float Norm(float[] v) => MathF.Sqrt(System.Numerics.Tensors.TensorPrimitives.Dot<float>(v, v));
}
