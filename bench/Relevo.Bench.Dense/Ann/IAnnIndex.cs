namespace Relevo.Bench.Dense.Ann;

/// <summary>An index the ANN benchmark builds and queries (cosine = dot product of unit vectors; higher is better).</summary>
internal interface IAnnIndex : IDisposable
{
    string Name { get; }

    /// <summary>Builds over rows (count × dims, row-major, unit vectors) with graph degree m and construction beam efConstruction, using threads threads.</summary>
    void Build(float[] rows, int count, int dims, int m, int efConstruction, int threads);

    /// <summary>Top k ids (row numbers), best first, with beam ef; returns how many were written.</summary>
    int Search(ReadOnlySpan<float> query, int k, int ef, Span<int> ids);

    /// <summary>Bytes the built index occupies in memory beyond the float32 rows themselves (graph, quantized copies), best estimate.</summary>
    long IndexMemoryBytes { get; }

    /// <summary>Bytes on disk when saved (graph + whatever vectors the index needs to search), or -1 if not applicable.</summary>
    long DiskBytes { get; }
}
