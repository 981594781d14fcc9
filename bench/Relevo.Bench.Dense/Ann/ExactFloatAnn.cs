using Relevo.Dense;
using Relevo.Search;

namespace Relevo.Bench.Dense.Ann;

/// <summary>The exact float32 scan of Relevo's <c>DenseSearcher</c> for a segment it does not walk (and for
/// <c>exact=true</c>): <see cref="DenseSearcher.ScanFloat"/>, the query's dot product with every row into a
/// <see cref="TopKCollector"/>. Single thread; <c>m</c>, <c>efConstruction</c> and <c>ef</c> are
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
        DenseSearcher.ScanFloat(_rows, _count, _dims, query, null, 0, top);
        int n = top.DrainInto(_docs, _scores);
        _docs.AsSpan(0, n).CopyTo(ids);
        return n;
    }

    public long IndexMemoryBytes => 0;
    public long DiskBytes => 4L * _count * _dims;

    public void Dispose() { }
}
