namespace Relevo.Search;

/// <summary>Keeps the k best (score, global doc) pairs in a min-heap; ties go to the smaller doc number, as in Lucene.</summary>
public sealed class TopKCollector
{
    private float[] _scores;
    private int[] _docs;
    private int _count;
    private int _k;

    public TopKCollector(int k)
    {
        if (k <= 0) throw new RelevoException("k must be at least 1");
        _scores = new float[k];
        _docs = new int[k];
        _k = k;
    }

    /// <summary>Empties the collector and sets a new k; the arrays are kept (and only grown), so a reused collector
    /// allocates nothing in steady state.</summary>
    public void Reset(int k)
    {
        if (k <= 0) throw new RelevoException("k must be at least 1");
        if (k > _scores.Length)
        {
            _scores = new float[k];
            _docs = new int[k];
        }
        _k = k;
        _count = 0;
        _pendingCount = 0;
    }

    public int Count => _count;
    public int Capacity => _k;

    /// <summary>True once k documents are held (from then on <see cref="Threshold"/> is the k-th best score).</summary>
    public bool IsFull => _count == _k;

    /// <summary>The score a new document must beat once the heap is full.</summary>
    public float Threshold => _count < _k ? float.NegativeInfinity : _scores[0];

    // a is "worse" than b: lower score, or same score and larger doc.
    private bool Worse(int i, int j) => _scores[i] < _scores[j] || (_scores[i] == _scores[j] && _docs[i] > _docs[j]);

    public void Collect(int doc, float score)
    {
        if (_count < _k)
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

    // ---- buffered collection (large k): candidates are appended and merged into the heap by selection in batches

    private ulong[] _keys = [];
    private int _pendingCount;

    /// <summary>Candidates added by <see cref="CollectBuffered"/> and not yet merged into the heap.</summary>
    internal int PendingCount => _pendingCount;

    /// <summary>Like <see cref="Collect"/>, for callers that offer many documents at a time (large k): the candidate is
    /// appended to a buffer and the buffer merged into the heap by one selection once it holds k candidates, instead
    /// of one heap update per document. Until that merge <see cref="Threshold"/> ignores the buffered candidates (it
    /// is lower or equal, so still a safe bound); <see cref="Flush"/>, <see cref="DrainInto"/> and <see cref="Drain"/>
    /// merge first, and the result is the same as with <see cref="Collect"/>.</summary>
    public void CollectBuffered(int doc, float score)
    {
        int at = _k + _pendingCount;
        if (at >= _keys.Length) EnsureKeys();
        _keys[at] = Key(doc, score);
        if (++_pendingCount >= PendingCapacity) Flush();
    }

    private int PendingCapacity => Math.Max(_k, 256);

    private void EnsureKeys()
    {
        int size = _k + PendingCapacity;
        if (_keys.Length < size) Array.Resize(ref _keys, size);
    }

    /// <summary>Merges the candidates buffered by <see cref="CollectBuffered"/> into the heap.</summary>
    public void Flush()
    {
        int p = _pendingCount;
        if (p == 0) return;
        _pendingCount = 0;
        var keys = _keys;
        // heap entries go just in front of the pending ones: keys[k - count .. k + p) is the pool to select from
        int from = _k - _count;
        for (int i = 0; i < _count; i++) keys[from + i] = Key(_docs[i], _scores[i]);
        var pool = keys.AsSpan(from, _count + p);
        int keep = Math.Min(_k, pool.Length);
        if (keep < pool.Length) SelectLargest(pool, keep);
        for (int i = 0; i < keep; i++)
        {
            ulong key = pool[i];
            _scores[i] = ScoreOf(key);
            _docs[i] = DocOf(key);
        }
        _count = keep;
        for (int i = (keep >> 1) - 1; i >= 0; i--) SiftDown(i);
    }

    /// <summary>Order key: larger is better (higher score, then smaller doc), as <see cref="Worse"/> orders.</summary>
    private static ulong Key(int doc, float score)
    {
        uint bits = BitConverter.SingleToUInt32Bits(score + 0f); // -0 becomes +0: equal floats, equal keys
        bits = (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
        return (ulong)bits << 32 | ~(uint)doc;
    }

    private static float ScoreOf(ulong key)
    {
        uint bits = (uint)(key >> 32);
        bits = (bits & 0x8000_0000u) != 0 ? bits & 0x7FFF_FFFFu : ~bits;
        return BitConverter.UInt32BitsToSingle(bits);
    }

    private static int DocOf(ulong key) => (int)~(uint)key;

    /// <summary>Reorders <paramref name="a"/> so that its <paramref name="m"/> largest keys come first (any order).</summary>
    private static void SelectLargest(Span<ulong> a, int m)
    {
        int lo = 0, hi = a.Length - 1;
        while (hi > lo)
        {
            // median of three as pivot, then Hoare partition into (>= pivot | <= pivot), descending
            int mid = lo + ((hi - lo) >> 1);
            ulong x = a[lo], y = a[mid], z = a[hi];
            ulong pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
            int i = lo, j = hi;
            while (i <= j)
            {
                while (a[i] > pivot) i++;
                while (a[j] < pivot) j--;
                if (i <= j)
                {
                    (a[i], a[j]) = (a[j], a[i]);
                    i++;
                    j--;
                }
            }
            // a[lo..j] >= pivot, a[i..hi] <= pivot, a[j+1..i-1] == pivot
            if (m - 1 <= j) hi = j;
            else if (m - 1 >= i) lo = i;
            else return;
        }
    }

    /// <summary>The collected documents, best first, into the spans; empties the collector and returns the count.</summary>
    public int DrainInto(Span<int> docs, Span<float> scores)
    {
        Flush();
        int n = _count;
        if (n >= 64)
        {
            // large k: one sort instead of n heap removals
            if (docs.Length < n || scores.Length < n) throw new ArgumentException("the output spans are shorter than the number of hits");
            if (_keys.Length < n) EnsureKeys();
            var keys = _keys.AsSpan(0, n);
            for (int i = 0; i < n; i++) keys[i] = Key(_docs[i], _scores[i]);
            keys.Sort();
            for (int i = 0; i < n; i++)
            {
                ulong key = keys[n - 1 - i];
                docs[i] = DocOf(key);
                scores[i] = ScoreOf(key);
            }
            _count = 0;
            return n;
        }
        if (docs.Length < n || scores.Length < n) throw new ArgumentException("the output spans are shorter than the number of hits");
        for (int i = n - 1; i >= 0; i--)
        {
            docs[i] = _docs[0];
            scores[i] = _scores[0];
            _count--;
            if (_count > 0)
            {
                _scores[0] = _scores[_count];
                _docs[0] = _docs[_count];
                SiftDown(0);
            }
        }
        return n;
    }

    /// <summary>The collected documents, best first; empties the collector.</summary>
    public (int Doc, float Score)[] Drain()
    {
        Flush();
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
