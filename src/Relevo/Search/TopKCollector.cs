namespace Relevo.Search;

/// <summary>Keeps the k best (score, global doc) pairs in a min-heap; ties go to the smaller doc number, as in Lucene.</summary>
public sealed class TopKCollector
{
    private readonly float[] _scores;
    private readonly int[] _docs;
    private int _count;

    public TopKCollector(int k)
    {
        if (k <= 0) throw new RelevoException("k must be at least 1");
        _scores = new float[k];
        _docs = new int[k];
    }

    public int Count => _count;
    public int Capacity => _scores.Length;

    /// <summary>The score a new document must beat once the heap is full.</summary>
    public float Threshold => _count < _scores.Length ? float.NegativeInfinity : _scores[0];

    // a is "worse" than b: lower score, or same score and larger doc.
    private bool Worse(int i, int j) => _scores[i] < _scores[j] || (_scores[i] == _scores[j] && _docs[i] > _docs[j]);

    public void Collect(int doc, float score)
    {
        if (_count < _scores.Length)
        {
            _scores[_count] = score;
            _docs[_count] = doc;
            SiftUp(_count++);
            return;
        }
        if (score < _scores[0] || (score == _scores[0] && doc > _docs[0])) return;
        _scores[0] = score;
        _docs[0] = doc;
        SiftDown(0);
    }

    private void SiftUp(int i)
    {
        while (i > 0)
        {
            int p = (i - 1) >> 1;
            if (!Worse(i, p)) break;
            Swap(i, p);
            i = p;
        }
    }

    private void SiftDown(int i)
    {
        while (true)
        {
            int l = 2 * i + 1, r = l + 1, m = i;
            if (l < _count && Worse(l, m)) m = l;
            if (r < _count && Worse(r, m)) m = r;
            if (m == i) return;
            Swap(i, m);
            i = m;
        }
    }

    private void Swap(int a, int b)
    {
        (_scores[a], _scores[b]) = (_scores[b], _scores[a]);
        (_docs[a], _docs[b]) = (_docs[b], _docs[a]);
    }

    /// <summary>The collected documents, best first; empties the collector.</summary>
    public (int Doc, float Score)[] Drain()
    {
        var result = new (int, float)[_count];
        for (int i = _count - 1; i >= 0; i--)
        {
            result[i] = (_docs[0], _scores[0]);
            _count--;
            if (_count > 0)
            {
                _scores[0] = _scores[_count];
                _docs[0] = _docs[_count];
                SiftDown(0);
            }
        }
        return result;
    }
}
