using Relevo.Search;

namespace Relevo.Feedback;

/// <summary>Vector pseudo-relevance feedback for dense retrieval (Rocchio on embeddings, as in Li et al.'s
/// vector PRF): q' = alpha · q + beta · mean of the top <c>docs</c> document vectors, renormalized to unit length.</summary>
public sealed record VectorPrf(int Docs = 3, float Alpha = 1f, float Beta = 1f)
{
    public float[] Expand(ReadOnlySpan<float> query, IReadOnlyList<SearchHit> ranking, Func<SearchHit, float[]> vectorOf)
    {
        var result = new float[query.Length];
        int n = Math.Min(Docs, ranking.Count);
        for (int i = 0; i < n; i++)
        {
            var v = vectorOf(ranking[i]);
            for (int j = 0; j < result.Length; j++) result[j] += v[j];
        }
        for (int j = 0; j < result.Length; j++)
            result[j] = Alpha * query[j] + (n > 0 ? Beta * result[j] / n : 0f);
        float norm = System.Numerics.Tensors.TensorPrimitives.Norm(result);
        if (norm > 0) System.Numerics.Tensors.TensorPrimitives.Divide(result, norm, result);
        return result;
    }
}
