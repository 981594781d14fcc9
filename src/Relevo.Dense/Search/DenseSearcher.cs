using Relevo.Search.Filters;
using System.Numerics.Tensors;
using Relevo.Index;
using Relevo.Search;

namespace Relevo.Dense;

/// <summary>How a dense search picks between a segment's graph and a scan of all its vectors.</summary>
internal enum SearchMode
{
    /// <summary>The graph where a segment has one and at least <see cref="DenseSearcher.ExactBelow"/> live documents.</summary>
    Auto,
    /// <summary>Every vector scored (exact top k).</summary>
    Exact,
    /// <summary>The graph wherever a segment has one, however small.</summary>
    Graph,
}

/// <summary>Top-k search over one commit's vectors for one model, by cosine (dot product of normalized vectors).
/// Per segment either exact — every live document scored, SIMD via System.Numerics.Tensors — or through the
/// segment's HNSW graph with a beam of <c>ef</c> (<see cref="SearchMode"/>). Ties go to the smaller global doc number.
/// Optionally int8: the exact scan or the graph walk then scores the quantized copy, and the best candidates are
/// rescored in float32, so returned scores are always float32 cosines. Deleted documents never appear (the graph walks
/// through them). Opened once per commit (<see cref="IndexReader.Component{T}"/>: the files stay mapped while the
/// commit is open) and shared by every search of it. Thread-safe.</summary>
internal sealed unsafe class DenseSearcher : IDisposable
{
    /// <summary>Candidates rescored after the int8 pass: max(k × oversample, this).</summary>
    public const int MinCandidates = 100;

    /// <summary>The beam width of a graph search unless the pipeline says otherwise: on SciFact's arctic-xs vectors ef
    /// 100 finds 98.5% of the exact top 10 and ef 200 99.9% (docs/benchmarks.md), so 200, for nDCG@10 within 0.002.</summary>
    public const int DefaultEf = 200;
    public const int MaxEf = 10_000;

    /// <summary>Segments with fewer live documents are scanned even when they have a graph: at the default ef a scan
    /// of 384-dimensional vectors was faster (and exact) at 8,192 vectors, the walk faster at 16,384 (docs/benchmarks.md).</summary>
    public const int ExactBelow = 12_000;

    private readonly IndexReader _reader;
    private readonly SegmentVectors[] _vectors;
    private readonly HnswGraph?[] _graphs;

    public string Model { get; }
    public int Dimensions { get; }
    public bool Int8 { get; }

    /// <param name="model">The model's name as the manifest records it (resolved, not a folder path).</param>
    public DenseSearcher(IndexReader reader, string model, bool int8)
    {
        _reader = reader;
        Model = model;
        Int8 = int8;
        var segments = reader.Manifest.Segments;
        _vectors = new SegmentVectors[segments.Count];
        _graphs = new HnswGraph?[segments.Count];
        try
        {
            for (int s = 0; s < segments.Count; s++)
            {
                var data = segments[s].Component(VectorComponent.ComponentName, Model)
                    ?? throw new RelevoException($"segment {segments[s].Name} has no '{Model}' vectors " +
                                                 $"(add them with: relevo dense --index INDEX --model {model})");
                _vectors[s] = new SegmentVectors(reader.Directory, segments[s].Name, Model, segments[s].MaxDoc, int8);
                if (s > 0 && _vectors[s].Dimensions != _vectors[0].Dimensions)
                    throw new Index.Formats.CorruptIndexException(Path.Combine(reader.Directory, VectorFiles.FloatFile(segments[s].Name, Model)),
                        $"{_vectors[s].Dimensions} dimensions, but segment {segments[0].Name} has {_vectors[0].Dimensions}");
                if (SegmentGraphs.GraphFile(data) is { } graph)
                    _graphs[s] = HnswFile.Open(Path.Combine(reader.Directory, graph), segments[s].MaxDoc, _vectors[s].Dimensions);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
        Dimensions = _vectors.Length > 0 ? _vectors[0].Dimensions : 0;
    }

    /// <summary>The searcher of a commit for a model (float32, or with the int8 first pass), opened once per commit.</summary>
    public static DenseSearcher For(IndexReader reader, string model, bool int8) =>
        reader.Component($"dense:{model}:{(int8 ? "int8" : "float")}", r => new DenseSearcher(r, model, int8));

    public ReadOnlySpan<float> GetVector(int segment, int doc) => _vectors[segment].Row(doc);

    /// <summary>Whether segment <paramref name="s"/> is searched through its graph. By default not when it is small,
    /// nor when most of it is deleted (the walk would wade through deleted nodes to find ef live ones: the scan of
    /// the live ones is cheaper then, as Lucene also switches to exact search under a selective filter).</summary>
    public bool UsesGraph(int s, SearchMode mode, DocFilter? filter = null)
    {
        if (_graphs[s] is null) return false;
        int live = _reader.Segments[s].MaxDoc - Skipped(s, filter).Count;
        return mode switch
        {
            SearchMode.Exact => false,
            SearchMode.Graph => true,
            _ => live >= ExactBelow && live >= _reader.Segments[s].MaxDoc / 10,
        };
    }

    /// <summary>The documents of segment s a search skips: deleted ones, or those a filter excludes (deleted included).</summary>
    private DeletedDocs Skipped(int s, DocFilter? filter) => filter?.Excluded[s] ?? _reader.Segments[s].Deletes;

    /// <summary>The top k into the spans (global document numbers and scores, best first); returns how many. Only
    /// documents scoring at least <paramref name="floor"/> and the shared bound are kept (see <see cref="TopKCollector"/>).</summary>
    public int Search(ReadOnlySpan<float> query, int k, int oversample, Span<int> docs, Span<float> scores,
        float floor = float.NegativeInfinity, SharedBound? shared = null, int ef = DefaultEf, SearchMode mode = SearchMode.Auto,
        DocFilter? filter = null)
    {
        if (k <= 0) throw new RelevoException("k must be at least 1");
        if (_vectors.Length == 0) return 0;
        if (query.Length != Dimensions)
            throw new RelevoException($"query vector has {query.Length} dimensions; '{Model}' vectors have {Dimensions}");
        var top = new TopKCollector(k);
        fixed (float* q = query)
        {
            // an int8 walk keeps at least as many candidates for the float32 rescoring as an int8 scan does
            if (Int8) SearchInt8(q, k, oversample, top, floor, (int)Math.Min(MaxEf, Math.Max(ef, (long)k * oversample)), mode, filter);
            else SearchFloat(q, top, floor, shared, Math.Max(ef, k), mode, filter);
        }
        top.DetachShared();
        return top.DrainInto(docs, scores);
    }

    private void SearchFloat(float* q, TopKCollector top, float floor, SharedBound? shared, int ef, SearchMode mode, DocFilter? filter)
    {
        top.Reset(top.Capacity, floor, shared);
        int dims = Dimensions;
        var query = new ReadOnlySpan<float>(q, dims);
        for (int s = 0; s < _vectors.Length; s++)
        {
            var seg = _reader.Segments[s];
            int docBase = _reader.DocBase[s];
            var skipped = Skipped(s, filter);
            if (skipped.Count == seg.MaxDoc) continue;
            if (UsesGraph(s, mode, filter))
            {
                var scorer = new FloatScorer(q, _vectors[s].FloatPointer, dims);
                var scratch = Walk(s, ref scorer, ef, skipped);
                // the walk's scores are the exact float32 dot products, as the scan computes them
                while (scratch.Results.Count > 0)
                {
                    float score = scratch.Results.TopScore;
                    if (score >= top.Threshold) top.Collect(docBase + scratch.Results.TopNode, score);
                    scratch.Results.Pop();
                }
                continue;
            }
            ScanFloat(_vectors[s].Floats, seg.MaxDoc, dims, query, skipped.Count > 0 ? skipped : null, docBase, top);
        }
    }

    /// <summary>The exact float32 scan of one segment: the query's dot product with every live row into
    /// <paramref name="top"/> (as document <paramref name="docBase"/> + row).</summary>
    internal static void ScanFloat(ReadOnlySpan<float> rows, int count, int dims, ReadOnlySpan<float> query, DeletedDocs? deletes,
        int docBase, TopKCollector top)
    {
        for (int d = 0; d < count; d++)
        {
            if (deletes is not null && deletes.IsDeleted(d)) continue;
            float score = TensorPrimitives.Dot(rows.Slice(d * dims, dims), query);
            if (score >= top.Threshold) top.Collect(docBase + d, score);
        }
    }

    /// <summary>The int8 first pass of one segment: the widened int8 query's dot product with every live int8 row times
    /// the row's scale (the query's own scale is the same for every row, so it is left out of the ranking score) into
    /// <paramref name="first"/>, whose candidates are then rescored in float32.</summary>
    internal static void ScanInt8(ReadOnlySpan<sbyte> rows, ReadOnlySpan<float> scales, int count, int dims, ReadOnlySpan<short> wide,
        DeletedDocs? deletes, int docBase, TopKCollector first)
    {
        for (int d = 0; d < count; d++)
        {
            if (deletes is not null && deletes.IsDeleted(d)) continue;
            float score = Int8Dot.Dot(wide, rows.Slice(d * dims, dims)) * scales[d];
            if (score >= first.Threshold) first.Collect(docBase + d, score);
        }
    }

    /// <summary>The graph walk of segment s; the best ef live documents are left in the thread's scratch.</summary>
    private HnswScratch Walk<TScorer>(int s, ref TScorer scorer, int ef, DeletedDocs deletes) where TScorer : struct, INodeScorer
    {
        var scratch = HnswScratch.ForThread();
        var graph = _graphs[s]!;
        if (deletes.Count > 0) graph.Search(ref scorer, new LiveOnly(deletes), ef, scratch);
        else graph.Search(ref scorer, new AcceptAll(), ef, scratch);
        return scratch;
    }

    private void SearchInt8(float* q, int k, int oversample, TopKCollector top, float floor, int ef, SearchMode mode, DocFilter? filter)
    {
        int dims = Dimensions;
        var query = new ReadOnlySpan<float>(q, dims);
        Span<sbyte> q8 = dims <= 2048 ? stackalloc sbyte[dims] : new sbyte[dims];
        Span<short> wide = dims <= 2048 ? stackalloc short[dims] : new short[dims];
        Int8Quantizer.Quantize(query, q8);
        Int8Dot.Widen(q8, wide);
        int candidates = (int)Math.Min(int.MaxValue, Math.Max((long)k * oversample, MinCandidates));
        var first = new TopKCollector(candidates);
        top.Reset(k, floor);
        fixed (short* w = wide)
        {
            for (int s = 0; s < _vectors.Length; s++)
            {
                var seg = _reader.Segments[s];
                int docBase = _reader.DocBase[s];
                var skipped = Skipped(s, filter);
                if (skipped.Count == seg.MaxDoc) continue;
                if (UsesGraph(s, mode, filter))
                {
                    // the walk ranks by the int8 copy; its ef best are rescored in float32 straight into the top k
                    var scorer = new Int8Scorer(w, _vectors[s].Int8Pointer, _vectors[s].ScalePointer, dims);
                    var scratch = Walk(s, ref scorer, ef, skipped);
                    while (scratch.Results.Count > 0)
                    {
                        int d = scratch.Results.TopNode;
                        scratch.Results.Pop();
                        float exact = TensorPrimitives.Dot(_vectors[s].Row(d), query);
                        if (exact >= top.Threshold) top.Collect(docBase + d, exact);
                    }
                    continue;
                }
                ScanInt8(_vectors[s].Int8Rows, _vectors[s].Int8Scales, seg.MaxDoc, dims, wide, skipped.Count > 0 ? skipped : null,
                    docBase, first);
            }
        }
        foreach (var (global, _) in first.Drain())
        {
            int s = _reader.SegmentOf(global);
            float score = TensorPrimitives.Dot(_vectors[s].Row(global - _reader.DocBase[s]), query);
            if (score >= top.Threshold) top.Collect(global, score);
        }
    }

    public void Dispose()
    {
        foreach (var v in _vectors) v?.Dispose();
        foreach (var g in _graphs) g?.Dispose();
    }
}
