using System.Numerics.Tensors;
using Relevo.Search;

namespace Relevo.Bench.Dense.Ann;

/// <summary>The exact float32 scan as Relevo's <c>DenseSearcher</c> does it for a segment it does not walk (and for
/// <c>exact=true</c>): <see cref="TensorPrimitives.Dot(ReadOnlySpan{float}, ReadOnlySpan{float})"/> of the query with
/// every row into a <see cref="TopKCollector"/>. Single thread; <c>m</c>, <c>efConstruction</c> and <c>ef</c> are
/// ignored. Used to find the segment size below which a scan is as fast as a walk (DenseSearcher.ExactBelow).</summary>
internal sealed class ExactFloatAnn : IAnnIndex
{
    private float[] _rows = [];
    private int _count;
    private int _dims;
    private readonly TopKCollector _top = new(10);
    private int[] _docs = [];
    private float[] _scores = [];

    public string Name => "exact-float";

    public void Build(float[] rows, int count, int dims, int m, int efConstruction, int threads)
    {
        _rows = rows;
        _count = count;
        _dims = dims;
    }

    public int Search(ReadOnlySpan<float> query, int k, int ef, Span<int> ids)
    {
        if (_docs.Length < k)
        {
            _docs = new int[k];
            _scores = new float[k];
        }
        var top = _top;
        top.Reset(k);
        ReadOnlySpan<float> rows = _rows;
        int dims = _dims;
        for (int d = 0; d < _count; d++)
        {
            float score = TensorPrimitives.Dot(rows.Slice(d * dims, dims), query);
            if (score >= top.Threshold) top.Collect(d, score);
        }
        int n = top.DrainInto(_docs, _scores);
        _docs.AsSpan(0, n).CopyTo(ids);
        return n;
    }

    public long IndexMemoryBytes => 0;
    public long DiskBytes => 4L * _count * _dims;

    public void Dispose() { }
}
