using Relevo.Index;

namespace Relevo.Dense;

/// <summary>How a write builds the graphs of the vectors it adds: the HNSW parameters (null: no graph, exact search
/// only), the threads and a progress callback (fraction done, nodes inserted over all segments).</summary>
internal sealed record GraphOptions(HnswParameters? Parameters, int Threads = 0, Action<double, long>? Progress = null)
{
    public static GraphOptions Default => new(HnswParameters.Default);
    public static GraphOptions None => new((HnswParameters?)null);
    public int ThreadCount => Threads > 0 ? Threads : Environment.ProcessorCount;
}

/// <summary>The HNSW graph beside a segment's vectors for a model (<see cref="HnswFile"/>): built from the mapped
/// vector file, written and fsynced before the commit that names it (the vectors component lists it as its third
/// file), so a crash leaves either the old commit or the new one with its graph.</summary>
internal static class SegmentGraphs
{
    /// <summary>The graph file the manifest's record of a segment's vectors names, or null.</summary>
    public static string? GraphFile(ComponentData vectors)
    {
        foreach (string f in vectors.Files) if (f.EndsWith(".hnsw", StringComparison.Ordinal)) return f;
        return null;
    }

    /// <summary>Builds and writes the graph of a segment's vector file; deleted documents are left out of it.</summary>
    public static unsafe void Build(string directory, string segment, string model, int maxDoc, HnswParameters parameters,
        Func<int, bool>? include, int threads, Action<int>? progress)
    {
        using var vectors = new SegmentVectors(directory, segment, model, maxDoc, openInt8: false);
        Write(directory, segment, model, vectors.FloatPointer, vectors.Dimensions, vectors.Count, parameters, include, threads, progress, default, null);
    }

    /// <summary>Builds and writes a merged segment's graph from the rows the merge holds in memory (just written to its
    /// vector file), every row a node. With a seed (a merge source's graph file, its node count, and where its first
    /// node lands), that graph is taken over and only the other nodes are inserted.</summary>
    public static unsafe void BuildMerged(string directory, string segment, string model, float[] rows, int dims, HnswParameters parameters,
        MergeContext context, (string File, int Count, int Offset)? seed)
    {
        fixed (float* p = rows)
            Write(directory, segment, model, p, dims, rows.Length / dims, parameters, null, context.Threads, null, context.Cancellation, seed);
    }

    private static unsafe void Write(string directory, string segment, string model, float* rows, int dims, int count,
        HnswParameters parameters, Func<int, bool>? include, int threads, Action<int>? progress, CancellationToken cancellation,
        (string File, int Count, int Offset)? seed)
    {
        HnswGraphData graph;
        using (var seedGraph = seed is { } s ? HnswFile.Open(Path.Combine(directory, s.File), s.Count, dims) : null)
            graph = HnswBuilder.Build(rows, dims, count, parameters, include, threads, progress, cancellation,
                seedGraph is null ? null : new HnswSeed(seedGraph, seed!.Value.Offset));
        HnswFile.Write(Path.Combine(directory, HnswFile.FileName(segment, model)), graph);
    }

    /// <summary>The parameters a segment's graph was built with, from its file's header; null when the manifest names
    /// no graph for the segment. A graph the manifest names but that cannot be read is refused naming the file
    /// (a merge or a write must not quietly drop it).</summary>
    public static HnswParameters? ParametersOf(string directory, ComponentData vectors) =>
        GraphFile(vectors) is { } file ? HnswFile.ReadParameters(Path.Combine(directory, file)) : null;
}
