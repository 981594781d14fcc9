namespace Relevo.Dense;

/// <summary>How an HNSW graph is built: <see cref="M"/> neighbours per node on the upper layers and 2·M on the bottom
/// layer, a beam of <see cref="EfConstruction"/> candidates when a node looks for its neighbours. The defaults are
/// Lucene's (M 16, beam 100).</summary>
internal readonly record struct HnswParameters(int M = HnswParameters.DefaultM, int EfConstruction = HnswParameters.DefaultEfConstruction)
{
    public const int DefaultM = 16;
    public const int DefaultEfConstruction = 100;
    public const int MaxM = 256;
    public const int MaxEfConstruction = 4096;

    /// <summary>Neighbours a node keeps on layer 0.</summary>
    public int M0 => 2 * M;

    public static HnswParameters Default => new(DefaultM, DefaultEfConstruction);

    /// <summary>Whether both parameters are within their bounds (what <see cref="Validated"/> demands).</summary>
    public bool IsValid => M is >= 2 and <= MaxM && EfConstruction is >= 1 and <= MaxEfConstruction;

    /// <summary>Throws a <see cref="RelevoException"/> naming the bad parameter.</summary>
    public HnswParameters Validated()
    {
        if (M < 2 || M > MaxM) throw new RelevoException($"HNSW M must be between 2 and {MaxM} (got {M})");
        if (EfConstruction < 1 || EfConstruction > MaxEfConstruction)
            throw new RelevoException($"HNSW ef_construction must be between 1 and {MaxEfConstruction} (got {EfConstruction})");
        return this;
    }
}
