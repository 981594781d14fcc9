using System.Globalization;

namespace Relevo.Index.Impacts;

/// <summary>What the stored impacts are quantized from.</summary>
internal enum ImpactModel
{
    /// <summary>BM25 of each posting (tf, document length) under the index's statistics at build time.</summary>
    Bm25 = 0,
    /// <summary>The weights a pre-encoded (learned sparse) corpus gave each term, indexed as its frequency.</summary>
    Weights = 1,
}

/// <summary>How an index's impacts were computed: the model, the bits of the linear quantization, and what the values
/// depend on (BM25's k1 and b and the collection statistics; the largest value, which maps to 2^bits − 1). Every
/// segment of an index stores the same settings in its impact file.</summary>
internal sealed record ImpactSettings(ImpactModel Model, int Bits, float K1, float B, long DocCount, long SumTotalTermFreq, double Maximum)
{
    public const int MaxBits = 8;

    /// <summary>The manifest key of the impacts ("bm25", "weights").</summary>
    public string Key => KeyOf(Model);

    public static string KeyOf(ImpactModel model) => model == ImpactModel.Bm25 ? "bm25" : "weights";

    /// <summary>The largest impact: 2^bits − 1.</summary>
    public int Levels => (1 << Bits) - 1;

    /// <summary>A value's impact: round(value / maximum × levels), at least 1 for any positive value (a posting always
    /// counts), at most the levels.</summary>
    public int Quantize(double value) => Quantize(value, Maximum, Levels);

    /// <summary><see cref="Quantize(double)"/> over a given maximum and number of levels.</summary>
    public static int Quantize(double value, double maximum, int levels)
    {
        if (!(value > 0)) return 0;
        double q = Math.Round(value / maximum * levels, MidpointRounding.AwayFromZero);
        return q < 1 ? 1 : q > levels ? levels : (int)q;
    }

    /// <summary>True when these BM25 impacts were computed for these parameters and statistics (so they are exact up to
    /// quantization); weights are always current.</summary>
    public bool IsCurrent(float k1, float b, ICollectionStatistics statistics) =>
        Model == ImpactModel.Weights ||
        (K1 == k1 && B == b && DocCount == statistics.DocCount && SumTotalTermFreq == statistics.SumTotalTermFreq);

    public override string ToString() => Model == ImpactModel.Bm25
        ? string.Create(CultureInfo.InvariantCulture, $"bm25(k1={K1},b={B}) quantized to {Bits} bits over {Maximum:0.####} ({DocCount:N0} documents)")
        : string.Create(CultureInfo.InvariantCulture, $"pre-encoded weights quantized to {Bits} bits over {Maximum:0.####}");
}
