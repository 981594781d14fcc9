using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Relevo.Index;

namespace Relevo.Search.Similarities;

/// <summary>Impact scoring for one query term: the posting's stored (quantized) impact times the query term's weight,
/// in float (an impact of at most 255 times the weight); the document's length plays no part (it is in the impact
/// already). Over <see cref="Index.Impacts.ImpactSegmentReader"/>, where a posting's frequency is its impact.</summary>
internal readonly unsafe struct ImpactTermScorer(float weight) : ITermScorer
{
    public static bool UsesNorms => false;

    public float Weight => weight;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Score(int tf, byte norm) => weight * tf;

    public void ScoreBlock(int* docs, int* freqs, byte* norms, float* output, int from, int to)
    {
        float w = weight;
        int j = from;
        if (Avx.IsSupported)
        {
            var vw = Vector256.Create(w);
            for (; j + 8 <= to; j += 8)
                Avx.Store(output + j, Avx.Multiply(vw, Avx.ConvertToVector256Single(Avx.LoadVector256(freqs + j))));
        }
        for (; j < to; j++) output[j] = w * freqs[j];
    }
}

/// <summary>Impact scoring over given collection statistics (only to skip terms no document has): every query term
/// with a positive weight scores its weight times the stored impact.</summary>
internal sealed class ImpactSimilarity(ICollectionStatistics statistics) : ISimilarity<ImpactTermScorer>
{
    public bool TryGetScorer(string term, float queryWeight, out ImpactTermScorer scorer)
    {
        if (!(queryWeight > 0) || statistics.DocFreq(term) == 0)
        {
            scorer = default;
            return false;
        }
        scorer = new ImpactTermScorer(queryWeight);
        return true;
    }
}
