using System.Numerics.Tensors;
using Relevo.Index;
using Relevo.Search;

namespace Relevo.Dense;

/// <summary>How <see cref="DenseSearcher"/> scans.</summary>
public sealed record DenseSearchOptions
{
    /// <summary>Scan the int8 copy first, then rescore the best candidates with the float32 vectors.</summary>
    public bool Int8 { get; init; }
    /// <summary>With <see cref="Int8"/>: candidates rescored = max(k × this, <see cref="MinCandidates"/>).</summary>
    public int Oversample { get; init; } = 4;
    public int MinCandidates { get; init; } = 100;
    /// <summary>Options for the query encoder when the searcher loads the model itself.</summary>
    public EncoderOptions? Encoder { get; init; }
}

/// <summary>Exact top-k search over the vectors stored with an index: the cosine (dot product of normalized vectors)
/// of the query with every live document, SIMD via System.Numerics.Tensors; ties go to the smaller global doc
/// number. Optionally an int8 first pass, rescored in float32. Deleted documents never appear. Thread-safe.</summary>
public sealed class DenseSearcher : IDisposable
{
    private readonly IndexReader _reader;
    private readonly SegmentVectors[] _vectors;
    private readonly Lazy<EmbeddingModel> _model;
    private readonly bool _ownsModel;

    public string Model { get; }
    public int Dimensions { get; }
    public DenseSearchOptions Options { get; }
    public IndexReader Reader => _reader;

    /// <param name="model">A built-in model name or a model folder; the index must hold vectors for it.</param>
    /// <param name="encoder">The model to embed query text with (loaded on first use when null).</param>
    public DenseSearcher(IndexReader reader, string model, EmbeddingModel? encoder = null, DenseSearchOptions? options = null)
    {
        _reader = reader;
        Options = options ?? new DenseSearchOptions();
        Model = encoder?.Name ?? EmbeddingModel.ResolveName(model);
        _ownsModel = encoder is null;
        _model = encoder is not null
            ? new Lazy<EmbeddingModel>(encoder)
            : new Lazy<EmbeddingModel>(() => EmbeddingModel.Load(model, Options.Encoder), LazyThreadSafetyMode.ExecutionAndPublication);
        var segments = reader.Manifest.Segments;
        _vectors = new SegmentVectors[segments.Count];
        try
        {
            for (int s = 0; s < segments.Count; s++)
            {
                if (!segments[s].HasVectors(Model))
                    throw new RelevoException($"{reader.Directory}: segment {segments[s].Name} has no '{Model}' vectors " +
                                              $"(add them with: relevo dense --index {reader.Directory} --model {model})");
                _vectors[s] = new SegmentVectors(reader.Directory, segments[s].Name, Model, segments[s].MaxDoc, Options.Int8);
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
        Dimensions = _vectors.Length > 0 ? _vectors[0].Dimensions : encoder?.Dimensions ?? 0;
    }

    /// <summary>Whether every segment of the index holds vectors for the model.</summary>
    public static bool IsAvailable(IndexReader reader, string model)
    {
        string name = EmbeddingModel.ResolveName(model);
        foreach (var s in reader.Manifest.Segments) if (!s.HasVectors(name)) return false;
        return true;
    }

    public EmbeddingModel Encoder => _model.Value;

    public float[] EmbedQuery(string text) => _model.Value.EmbedQuery(text);

    public ReadOnlySpan<float> GetVector(int segment, int doc) => _vectors[segment].Row(doc);

    public IReadOnlyList<SearchHit> Search(string queryText, int k) => Search(EmbedQuery(queryText), k);

    public IReadOnlyList<SearchHit> Search(ReadOnlySpan<float> queryVector, int k)
    {
        if (k <= 0) throw new RelevoException("k must be at least 1");
        if (queryVector.Length != Dimensions)
            throw new RelevoException($"query vector has {queryVector.Length} dimensions; '{Model}' vectors have {Dimensions}");
        var top = Options.Int8 ? SearchInt8(queryVector, k) : SearchFloat(queryVector, k);
        return SearchHits.FromGlobalDocs(_reader, top);
    }

    private (int Doc, float Score)[] SearchFloat(ReadOnlySpan<float> q, int k)
    {
        var top = new TopKCollector(k);
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
        return top.Drain();
    }

    private (int Doc, float Score)[] SearchInt8(ReadOnlySpan<float> q, int k)
    {
        int dims = Dimensions;
        Span<sbyte> q8 = dims <= 2048 ? stackalloc sbyte[dims] : new sbyte[dims];
        Span<short> wide = dims <= 2048 ? stackalloc short[dims] : new short[dims];
        Int8Quantizer.Quantize(q, q8);
        Int8Dot.Widen(q8, wide);
        int candidates = (int)Math.Min(int.MaxValue, Math.Max((long)k * Options.Oversample, Options.MinCandidates));
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
        var top = new TopKCollector(k);
        foreach (var (global, _) in first.Drain())
        {
            int s = _reader.SegmentOf(global);
            top.Collect(global, TensorPrimitives.Dot(_vectors[s].Row(global - _reader.DocBase[s]), q));
        }
        return top.Drain();
    }

    public void Dispose()
    {
        foreach (var v in _vectors) v?.Dispose();
        if (_ownsModel && _model.IsValueCreated) _model.Value.Dispose();
    }
}
