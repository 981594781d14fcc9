using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Relevo.Dense;

namespace Relevo.Bench.Dense.Ann;

/// <summary>Relevo's HNSW graph as an <see cref="IAnnIndex"/>, exactly as a segment uses it: <see cref="HnswBuilder"/>
/// builds it, <see cref="HnswFile"/> writes it to a temporary file, and searches run over the memory-mapped, verified
/// file (<see cref="HnswGraph"/>), scoring float32 rows (as <c>dense(model=M)</c>) or, with <paramref name="int8"/>,
/// the int8 copy with the ef best rescored in float32 (as <c>dense(model=M,int8=true)</c>).</summary>
internal sealed unsafe class RelevoAnn(bool int8 = false) : IAnnIndex
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), $"relevo-ann-{Environment.ProcessId}-{Guid.NewGuid():N}");
    private HnswGraph? _graph;
    private GCHandle _rows;
    private float* _rowPointer;
    private sbyte[] _q8Rows = [];
    private float[] _scales = [];
    private GCHandle _q8Handle, _scaleHandle;
    private int _dims;
    private int[] _found = [];
    private float[] _foundScores = [];

    public string Name => int8 ? "relevo-int8" : "relevo";

    public void Build(float[] rows, int count, int dims, int m, int efConstruction, int threads)
    {
        _dims = dims;
        _rows = GCHandle.Alloc(rows, GCHandleType.Pinned);
        _rowPointer = (float*)_rows.AddrOfPinnedObject();
        var data = HnswBuilder.Build(rows, dims, count, new HnswParameters(m, efConstruction), threads: threads);
        Directory.CreateDirectory(_folder);
        string path = Path.Combine(_folder, HnswFile.FileName("_0", "bench"));
        HnswFile.Write(path, data);
        _graph = HnswFile.Open(path, count, dims);
        if (int8)
        {
            // the copy VectorFiles writes beside the float rows: per-row scale, int8 rows
            _q8Rows = new sbyte[(long)count * dims];
            _scales = new float[count];
            for (int i = 0; i < count; i++)
                _scales[i] = Int8Quantizer.Quantize(rows.AsSpan((int)((long)i * dims), dims), _q8Rows.AsSpan((int)((long)i * dims), dims));
            _q8Handle = GCHandle.Alloc(_q8Rows, GCHandleType.Pinned);
            _scaleHandle = GCHandle.Alloc(_scales, GCHandleType.Pinned);
        }
    }

    public int Search(ReadOnlySpan<float> query, int k, int ef, Span<int> ids)
    {
        var graph = _graph ?? throw new InvalidOperationException("not built");
        var scratch = HnswScratch.ForThread();
        ef = Math.Max(ef, k);
        fixed (float* q = query)
        {
            if (!int8)
            {
                var scorer = new FloatScorer(q, _rowPointer, _dims);
                graph.Search(ref scorer, new AcceptAll(), ef, scratch);
            }
            else
            {
                Span<sbyte> q8 = stackalloc sbyte[_dims];
                Span<short> wide = stackalloc short[_dims];
                Int8Quantizer.Quantize(query, q8);
                Int8Dot.Widen(q8, wide);
                fixed (short* w = wide)
                {
                    var scorer = new Int8Scorer(w, (sbyte*)_q8Handle.AddrOfPinnedObject(), (float*)_scaleHandle.AddrOfPinnedObject(), _dims);
                    graph.Search(ref scorer, new AcceptAll(), ef, scratch);
                }
            }
        }
        if (_found.Length < ef)
        {
            _found = new int[ef];
            _foundScores = new float[ef];
        }
        int n = scratch.Results.DrainDescending(_found, _foundScores);
        if (int8)
        {
            // rescored in float32, as the searcher does
            for (int i = 0; i < n; i++)
                _foundScores[i] = TensorPrimitives.Dot(new ReadOnlySpan<float>(_rowPointer + (long)_found[i] * _dims, _dims), query);
            _foundScores.AsSpan(0, n).Sort(_found.AsSpan(0, n), (a, b) => b.CompareTo(a));
        }
        int r = Math.Min(k, n);
        _found.AsSpan(0, r).CopyTo(ids);
        return r;
    }

    /// <summary>The graph file (mapped) and, for int8, the quantized copy (one byte per dimension and a scale).</summary>
    public long IndexMemoryBytes => (_graph?.Bytes ?? 0) + (int8 ? _q8Rows.LongLength + 4L * _scales.Length : 0);

    /// <summary>The graph file plus the vector files a segment keeps for it (.vec float32 rows, and .vq8 for int8).</summary>
    public long DiskBytes => _graph is null ? -1
        : _graph.Bytes + 4L * _graph.Count * _dims + (int8 ? (long)_graph.Count * (_dims + 4) : 0);

    public void Dispose()
    {
        _graph?.Dispose();
        if (_rows.IsAllocated) _rows.Free();
        if (_q8Handle.IsAllocated) _q8Handle.Free();
        if (_scaleHandle.IsAllocated) _scaleHandle.Free();
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
}
