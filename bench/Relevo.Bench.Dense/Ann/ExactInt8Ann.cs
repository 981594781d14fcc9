using System.Numerics.Tensors;
using Relevo.Dense;
using Relevo.Search;

namespace Relevo.Bench.Dense.Ann;

/// <summary>Exact search as Relevo's <c>DenseSearcher.SearchInt8</c> does it today, over one in-memory segment: every
/// row quantized to int8 with its own scale (<see cref="Int8Quantizer"/>), the query quantized and widened once
/// (<see cref="Int8Dot.Widen"/>), the same full scan (<see cref="DenseSearcher.ScanInt8"/>: <c>Int8Dot.Dot(wide, row) × scale</c>) into a
/// <see cref="TopKCollector"/> of max(k × oversample, <see cref="DenseSearcher.MinCandidates"/>) candidates, then those
/// candidates rescored in float32 (<see cref="TensorPrimitives.Dot(ReadOnlySpan{float}, ReadOnlySpan{float})"/>) into
/// the top k. Single thread; <c>m</c>, <c>efConstruction</c> and <c>ef</c> are ignored. Searches allocate nothing
/// (the collectors and buffers are reused), so one instance serves one thread at a time.</summary>
internal sealed class ExactInt8Ann : IAnnIndex
{
    /// <summary>dense(int8=true)'s default oversampling factor (<see cref="DenseSpec.Oversample"/>).</summary>
    private static readonly int Oversample = new DenseSpec("arctic-xs").Oversample;

    private float[] _rows = [];
    private sbyte[] _int8 = [];
    private float[] _scales = [];
    private int _count;
    private int _dims;

    // per-search state, reused: quantized and widened query, the two collectors, the drained candidates
    private sbyte[] _q8 = [];
    private short[] _wide = [];
    private readonly TopKCollector _first = new(DenseSearcher.MinCandidates);
    private readonly TopKCollector _top = new(10);
    private int[] _candidateDocs = [];
    private float[] _candidateScores = [];
    private float[] _topScores = [];

    public string Name => "exact-int8";

    /// <summary>Quantizes every row (single thread; <paramref name="threads"/> is ignored, as Relevo quantizes while
    /// it writes a segment). The float32 rows are kept by reference for the rescoring pass.</summary>
    public void Build(float[] rows, int count, int dims, int m, int efConstruction, int threads)
    {
        _rows = rows;
        _count = count;
        _dims = dims;
        _int8 = new sbyte[(long)count * dims];
        _scales = new float[count];
        for (int i = 0; i < count; i++)
            _scales[i] = Int8Quantizer.Quantize(rows.AsSpan(i * dims, dims), _int8.AsSpan(i * dims, dims));
        _q8 = new sbyte[dims];
        _wide = new short[dims];
    }

    public int Search(ReadOnlySpan<float> query, int k, int ef, Span<int> ids)
    {
        int dims = _dims;
        Int8Quantizer.Quantize(query, _q8);
        Int8Dot.Widen(_q8, _wide);
        ReadOnlySpan<short> wide = _wide;
        int candidates = (int)Math.Min(int.MaxValue, Math.Max((long)k * Oversample, DenseSearcher.MinCandidates));
        EnsureBuffers(candidates, k);

        var first = _first;
        first.Reset(candidates);
        DenseSearcher.ScanInt8(_int8, _scales, _count, dims, wide, null, 0, first);
        int found = first.DrainInto(_candidateDocs, _candidateScores);

        var top = _top;
        top.Reset(k);
        ReadOnlySpan<float> rows = _rows;
        for (int i = 0; i < found; i++)
        {
            int doc = _candidateDocs[i];
            float score = TensorPrimitives.Dot(rows.Slice(doc * dims, dims), query);
            if (score >= top.Threshold) top.Collect(doc, score);
        }
        return top.DrainInto(ids, _topScores);
    }

    /// <summary>Grows the drain buffers when a search asks for more than any before (never in steady state).</summary>
    private void EnsureBuffers(int candidates, int k)
    {
        if (_candidateDocs.Length < candidates)
        {
            _candidateDocs = new int[candidates];
            _candidateScores = new float[candidates];
        }
        if (_topScores.Length < k) _topScores = new float[k];
    }

    /// <summary>The int8 copy and its scales: count × (dims + 4) bytes.</summary>
    public long IndexMemoryBytes => (long)_count * (_dims + sizeof(float));

    /// <summary>What Relevo keeps on disk to search this way: the int8 copy with its scales plus the float32 rows the
    /// rescoring reads, count × (dims + 4 + 4 × dims) bytes (file headers left out).</summary>
    public long DiskBytes => (long)_count * (_dims + sizeof(float) + (long)_dims * sizeof(float));

    public void Dispose()
    {
        _int8 = [];
        _scales = [];
        _rows = [];
    }
}
