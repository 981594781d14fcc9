using System.Runtime.CompilerServices;
using Relevo.Index;

namespace Relevo.Search.Similarities;

/// <summary>Query likelihood with Dirichlet smoothing as Lucene's LMDirichletSimilarity (and so Anserini's QL):
/// boost × (ln(1 + tf / (mu P(t|C))) + ln(mu / (dl + mu))), floored at 0, with P(t|C) = (ttf + 1) / (tokens + 1).
/// The length part comes from a table of the 256 norms, computed with the same double arithmetic.</summary>
internal readonly unsafe struct DirichletTermScorer(float boost, float mu, float collectionProbability, double[] lengthPart) : ITermScorer
{
    public static bool UsesNorms => true;

    public static float CollectionProbability(long totalTermFreq, long sumTotalTermFreq) =>
        (totalTermFreq + 1f) / (sumTotalTermFreq + 1f);

    /// <summary>ln(mu / (dl + mu)) for every one-byte norm.</summary>
    public static double[] LengthTable(float mu)
    {
        var table = new double[256];
        for (int i = 0; i < 256; i++)
        {
            double docLength = SmallFloat.LengthTable[i];
            table[i] = Math.Log(mu / (docLength + mu));
        }
        return table;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Score(int tf, byte norm)
    {
        double score = boost * (Math.Log(1 + tf / (mu * (double)collectionProbability)) + lengthPart[norm]);
        return score > 0 ? (float)score : 0f;
    }

    public void ScoreBlock(int* docs, int* freqs, byte* norms, float* output, int from, int to)
    {
        for (int j = from; j < to; j++) output[j] = Score(freqs[j], norms[docs[j]]);
    }
}

/// <summary>Query likelihood with Dirichlet smoothing (Anserini's `-qld`, default mu = 1000) over given statistics.</summary>
internal sealed class DirichletSimilarity : ISimilarity<DirichletTermScorer>
{
    private readonly double[] _lengthPart;

    public DirichletSimilarity(float mu, ICollectionStatistics statistics)
    {
        if (!(mu > 0) || !float.IsFinite(mu)) throw new RelevoException("ql: mu must be a positive number");
        Mu = mu;
        Statistics = statistics;
        _lengthPart = DirichletTermScorer.LengthTable(mu);
    }

    public float Mu { get; }
    public ICollectionStatistics Statistics { get; }

    public bool TryGetScorer(string term, float queryWeight, out DirichletTermScorer scorer)
    {
        long ttf = Statistics.TotalTermFreq(term);
        if (ttf == 0 || queryWeight <= 0)
        {
            scorer = default;
            return false;
        }
        scorer = new DirichletTermScorer(queryWeight, Mu,
            DirichletTermScorer.CollectionProbability(ttf, Statistics.SumTotalTermFreq), _lengthPart);
        return true;
    }
}
