using System.Numerics.Tensors;
using Relevo.Index;
using Relevo.Search;

namespace Relevo.Dense;

/// <summary>Exact top-k search over one commit's vectors for one model: the cosine (dot product of normalized vectors)
/// of the query with every live document, SIMD via System.Numerics.Tensors; ties go to the smaller global doc number.
/// Optionally an int8 first pass over the quantized copy, rescored in float32. Deleted documents never appear. Opened
/// once per commit (<see cref="IndexReader.Component{T}"/>: the vector files stay mapped while the commit is open) and
/// shared by every search of it. Thread-safe.</summary>
internal sealed class DenseSearcher : IDisposable
{
    /// <summary>Candidates rescored after the int8 pass: max(k × oversample, this).</summary>
    public const int MinCandidates = 100;

    private readonly IndexReader _reader;
    private readonly SegmentVectors[] _vectors;

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
        try
        {
            for (int s = 0; s < segments.Count; s++)
            {
                if (segments[s].Component(VectorComponent.ComponentName, Model) is null)
                    throw new RelevoException($"segment {segments[s].Name} has no '{Model}' vectors " +
                                              $"(add them with: relevo dense --index INDEX --model {model})");
                _vectors[s] = new SegmentVectors(reader.Directory, segments[s].Name, Model, segments[s].MaxDoc, int8);
                if (s > 0 && _vectors[s].Dimensions != _vectors[0].Dimensions)
                    throw new Index.Formats.CorruptIndexException(Path.Combine(reader.Directory, VectorFiles.FloatFile(segments[s].Name, Model)),
                        $"{_vectors[s].Dimensions} dimensions, but segment {segments[0].Name} has {_vectors[0].Dimensions}");
            }
        }
        catch
        {
            foreach (var v in _vectors) v?.Dispose();
            throw;
        }
        Dimensions = _vectors.Length > 0 ? _vectors[0].Dimensions : 0;
    }

    /// <summary>The searcher of a commit for a model (float32, or with the int8 first pass), opened once per commit.</summary>
    public static DenseSearcher For(IndexReader reader, string model, bool int8) =>
        reader.Component($"dense:{model}:{(int8 ? "int8" : "float")}", r => new DenseSearcher(r, model, int8));

    public ReadOnlySpan<float> GetVector(int segment, int doc) => _vectors[segment].Row(doc);

    /// <summary>The top k into the spans (global document numbers and scores, best first); returns how many. Only
    /// documents scoring at least <paramref name="floor"/> and the shared bound are kept (see <see cref="TopKCollector"/>).</summary>
    public int Search(ReadOnlySpan<float> query, int k, int oversample, Span<int> docs, Span<float> scores,
        float floor = float.NegativeInfinity, SharedBound? shared = null)
    {
        if (k <= 0) throw new RelevoException("k must be at least 1");
        if (_vectors.Length == 0) return 0;
        if (query.Length != Dimensions)
            throw new RelevoException($"query vector has {query.Length} dimensions; '{Model}' vectors have {Dimensions}");
        var top = new TopKCollector(k);
        if (Int8) SearchInt8(query, k, oversample, top, floor);
        else SearchFloat(query, top, floor, shared);
        top.DetachShared();
        return top.DrainInto(docs, scores);
    }

    private void SearchFloat(ReadOnlySpan<float> q, TopKCollector top, float floor, SharedBound? shared)
    {
        top.Reset(top.Capacity, floor, shared);
        int dims = Dimensions;
        for (int s = 0; s < _vectors.Length; s++)
        {
            var seg = _reader.Segments[s];
            var rows = _vectors[s].Floats;
            int docBase = _reader.DocBase[s];
            bool anyDeleted = seg.Deletes.Count > 0;
            for (int d = 0; d < seg.MaxDoc; d++)
            {
                if (anyDeleted && seg.IsDeleted(d)) continue;
                float score = TensorPrimitives.Dot(rows.Slice(d * dims, dims), q);
                if (score >= top.Threshold) top.Collect(docBase + d, score);
            }
        }
    }

    private void SearchInt8(ReadOnlySpan<float> q, int k, int oversample, TopKCollector top, float floor)
    {
        int dims = Dimensions;
        Span<sbyte> q8 = dims <= 2048 ? stackalloc sbyte[dims] : new sbyte[dims];
        Span<short> wide = dims <= 2048 ? stackalloc short[dims] : new short[dims];
        Int8Quantizer.Quantize(q, q8);
        Int8Dot.Widen(q8, wide);
        int candidates = (int)Math.Min(int.MaxValue, Math.Max((long)k * oversample, MinCandidates));
        var first = new TopKCollector(candidates);
        for (int s = 0; s < _vectors.Length; s++)
        {
            var seg = _reader.Segments[s];
            var rows = _vectors[s].Int8Rows;
            var scales = _vectors[s].Int8Scales;
            int docBase = _reader.DocBase[s];
            bool anyDeleted = seg.Deletes.Count > 0;
            for (int d = 0; d < seg.MaxDoc; d++)
            {
                if (anyDeleted && seg.IsDeleted(d)) continue;
                // the query's own scale is the same for every document, so it is left out of the ranking score
                float score = Int8Dot.Dot(wide, rows.Slice(d * dims, dims)) * scales[d];
                if (score >= first.Threshold) first.Collect(docBase + d, score);
            }
        }
        top.Reset(k, floor);
        foreach (var (global, _) in first.Drain())
        {
            int s = _reader.SegmentOf(global);
            float score = TensorPrimitives.Dot(_vectors[s].Row(global - _reader.DocBase[s]), q);
            if (score >= top.Threshold) top.Collect(global, score);
        }
    }

    public void Dispose()
    {
        foreach (var v in _vectors) v?.Dispose();
    }
}
