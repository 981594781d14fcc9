using System.Runtime.CompilerServices;

namespace Relevo.Search;

/// <summary>The score one query term gives one document, from its term frequency and length norm byte.
/// Implemented by structs so the scoring loop is specialised per model and the call inlines.</summary>
public interface ITermScorer
{
    float Score(int tf, byte norm);
}

/// <summary>BM25 for one term: weight × tf / (tf + k1 (1 - b + b dl / avgdl)), via the precomputed norm table.</summary>
public readonly struct Bm25TermScorer(float weight, float[] normInverse) : ITermScorer
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Score(int tf, byte norm) => Bm25Scorer.Score(weight, tf, normInverse[norm]);
}

/// <summary>Query likelihood with Dirichlet smoothing as Lucene's LMDirichletSimilarity (and so Anserini's QL):
/// boost × (ln(1 + tf / (mu P(t|C))) + ln(mu / (dl + mu))), floored at 0, with P(t|C) = (ttf + 1) / (tokens + 1).</summary>
public readonly struct DirichletTermScorer(float boost, float mu, float collectionProbability) : ITermScorer
{
    public static float CollectionProbability(long totalTermFreq, long sumTotalTermFreq) =>
        (totalTermFreq + 1f) / (sumTotalTermFreq + 1f);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Score(int tf, byte norm)
    {
        double docLength = Index.SmallFloat.LengthTable[norm];
        double score = boost * (Math.Log(1 + tf / (mu * (double)collectionProbability)) + Math.Log(mu / (docLength + mu)));
        return score > 0 ? (float)score : 0f;
    }
}
