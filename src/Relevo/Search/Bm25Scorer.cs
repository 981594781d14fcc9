namespace Relevo.Search;

/// <summary>BM25 as Lucene 8+ (and so Anserini) computes it, in the same float arithmetic:
/// idf = ln(1 + (N - df + 0.5) / (df + 0.5)); per term and document
/// score = w - w / (1 + tf * normInverse[norm]) with w = boost * idf and
/// normInverse[n] = 1 / (k1 * (1 - b + b * length(n) / avgdl)). This is idf * tf / (tf + k1 * (1 - b + b * dl / avgdl)),
/// written so it is monotonic in tf and length without promoting to double.</summary>
public static class Bm25Scorer
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
        var lengths = Index.SmallFloat.LengthTable;
        for (int i = 0; i < 256; i++)
            cache[i] = 1f / (k1 * ((1 - b) + b * lengths[i] / avgdl));
        return cache;
    }

    public static float Score(float weight, float tf, float normInverse) => weight - weight / (1f + tf * normInverse);
}
