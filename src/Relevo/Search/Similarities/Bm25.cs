using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Relevo.Index;

namespace Relevo.Search.Similarities;

/// <summary>BM25 k1 and b; the defaults are Anserini's (k1 = 0.9, b = 0.4).</summary>
internal readonly record struct Bm25Parameters(float K1 = Bm25Scorer.DefaultK1, float B = Bm25Scorer.DefaultB)
{
    public Bm25Parameters() : this(Bm25Scorer.DefaultK1, Bm25Scorer.DefaultB) { }

    public override string ToString() => FormattableString.Invariant($"bm25(k1={K1},b={B})");
}

/// <summary>BM25 as Lucene 8+ (and so Anserini) computes it, in the same float arithmetic:
/// idf = ln(1 + (N - df + 0.5) / (df + 0.5)); per term and document
/// score = w - w / (1 + tf * normInverse[norm]) with w = boost * idf and
/// normInverse[n] = 1 / (k1 * (1 - b + b * length(n) / avgdl)). This is idf * tf / (tf + k1 * (1 - b + b * dl / avgdl)),
/// written so it is monotonic in tf and length without promoting to double.</summary>
internal static class Bm25Scorer
{
    public const float DefaultK1 = 0.9f;
    public const float DefaultB = 0.4f;

    public static float Idf(long docFreq, long docCount) =>
        (float)Math.Log(1 + (docCount - docFreq + 0.5d) / (docFreq + 0.5d));

    public static float AverageLength(long sumTotalTermFreq, long docCount) =>
        docCount == 0 ? 1f : (float)(sumTotalTermFreq / (double)docCount);

    /// <summary>1 / (k1 * (1 - b + b * length / avgdl)) for every one-byte norm: the hot loop becomes a lookup.</summary>
    public static float[] NormInverseTable(float k1, float b, float avgdl)
    {
        var cache = new float[256];
        var lengths = SmallFloat.LengthTable;
        for (int i = 0; i < 256; i++)
            cache[i] = 1f / (k1 * ((1 - b) + b * lengths[i] / avgdl));
        return cache;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Score(float weight, float tf, float normInverse) => weight - weight / (1f + tf * normInverse);
}

/// <summary>BM25 for one term: weight × tf / (tf + k1 (1 - b + b dl / avgdl)), via the precomputed norm table.</summary>
internal readonly unsafe struct Bm25TermScorer(float weight, float[] normInverse) : ITermScorer
{
    public static bool UsesNorms => true;

    public float Weight => weight;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Score(int tf, byte norm) => Bm25Scorer.Score(weight, tf, normInverse[norm]);

    /// <summary>Eight postings at a time where AVX2 is there: the same float operations in the same order as
    /// <see cref="Bm25Scorer.Score"/>, so the same bits.</summary>
    public void ScoreBlock(int* docs, int* freqs, byte* norms, float* output, int from, int to)
    {
        float w = weight;
        fixed (float* ni = normInverse)
        {
            int j = from;
            if (Avx2.IsSupported)
            {
                var vw = Vector256.Create(w);
                var one = Vector256.Create(1f);
                var lowByte = Vector256.Create(0xFF);
                for (; j + 8 <= to; j += 8)
                {
                    // norms: a 4-byte gather at each document's norm byte (readable bytes follow the last norm)
                    var nb = Avx2.And(Avx2.GatherVector256((int*)norms, Avx.LoadVector256(docs + j), 1), lowByte);
                    var inv = Avx2.GatherVector256(ni, nb, 4);
                    var tf = Avx.ConvertToVector256Single(Avx.LoadVector256(freqs + j));
                    var s = Avx.Subtract(vw, Avx.Divide(vw, Avx.Add(one, Avx.Multiply(tf, inv))));
                    Avx.Store(output + j, s);
                }
            }
            for (; j < to; j++) output[j] = Bm25Scorer.Score(w, freqs[j], ni[norms[docs[j]]]);
        }
    }
}

/// <summary>BM25 over given collection statistics: idf from the document frequency, the norm table from the average
/// length. As in Lucene, a term's query weight multiplies its idf (a BoostQuery).</summary>
internal sealed class Bm25Similarity : ISimilarity<Bm25TermScorer>
{
    private readonly float[] _normInverse;

    public Bm25Similarity(Bm25Parameters parameters, ICollectionStatistics statistics)
    {
        Parameters = parameters;
        Statistics = statistics;
        AverageLength = Bm25Scorer.AverageLength(statistics.SumTotalTermFreq, statistics.DocCount);
        _normInverse = Bm25Scorer.NormInverseTable(parameters.K1, parameters.B, AverageLength);
    }

    public Bm25Parameters Parameters { get; }
    public ICollectionStatistics Statistics { get; }
    public float AverageLength { get; }
    public float NormInverse(byte norm) => _normInverse[norm];

    public bool TryGetScorer(string term, float queryWeight, out Bm25TermScorer scorer)
    {
        long df = Statistics.DocFreq(term);
        if (df == 0 || queryWeight <= 0)
        {
            scorer = default;
            return false;
        }
        scorer = new Bm25TermScorer(queryWeight * Bm25Scorer.Idf(df, Statistics.DocCount), _normInverse);
        return true;
    }
}
