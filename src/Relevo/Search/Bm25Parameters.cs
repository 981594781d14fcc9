namespace Relevo.Search;

/// <summary>BM25 k1 and b; the defaults are Anserini's (k1 = 0.9, b = 0.4).</summary>
public readonly record struct Bm25Parameters(float K1 = Bm25Scorer.DefaultK1, float B = Bm25Scorer.DefaultB)
{
    public Bm25Parameters() : this(Bm25Scorer.DefaultK1, Bm25Scorer.DefaultB) { }

    public override string ToString() =>
        FormattableString.Invariant($"bm25(k1={K1},b={B})");
}
