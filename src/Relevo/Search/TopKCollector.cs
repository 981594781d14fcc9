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
        _floor = float.NegativeInfinity;
        Shared = null;
    }

    private float _floor = float.NegativeInfinity;

    /// <summary>A score every collected document must beat, known before the search (e.g. another shard's k-th
    /// score, lowered by one ulp so that documents tying with it are still collected). Pruning algorithms read it
    /// through <see cref="Threshold"/>, so they skip what cannot beat it. Reset clears it.</summary>
    public float Floor
    {
        get => _floor;
        set => _floor = value;
    }

    /// <summary>A bound shared with searches of other shards of the same query that run in this process: this
    /// collector publishes its k-th score there once it is full, and its threshold never falls below the shared
    /// value. Reset clears it.</summary>
    public SharedBound? Shared { get; set; }

    public int Count => _count;
    public int Capacity => _k;

    /// <summary>True once k documents are held (from then on <see cref="Threshold"/> is the k-th best score).</summary>
    public bool IsFull => _count == _k;

    /// <summary>The score a new document must beat once the heap is full.</summary>
    public float Threshold
    {
        get
        {
            float t = _count < _k ? _floor : Math.Max(_floor, _scores[0]);
            if (Shared is { } shared) t = Math.Max(t, shared.Value);
            return t;
        }
    }

    // a is "worse" than b: lower score, or same score and larger doc.
    private bool Worse(int i, int j) => _scores[i] < _scores[j] || (_scores[i] == _scores[j] && _docs[i] > _docs[j]);

    public void Collect(int doc, float score)
    {
        if (_count < _k)
        {
            _scores[_count] = score;
            _docs[_count] = doc;
            SiftUp(_count++);
            if (_count == _k) Shared?.Raise(_scores[0]);
            return;
        }
        if (score < _scores[0] || (score == _scores[0] && doc > _docs[0])) return;
        _scores[0] = score;
        _docs[0] = doc;
        SiftDown(0);
        Shared?.Raise(_scores[0]);
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

    /// <summary>The collected documents, best first, into the spans; empties the collector and returns the count.</summary>
    public int DrainInto(Span<int> docs, Span<float> scores)
    {
        int n = _count;
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

/// <summary>The best k-th score seen so far by any shard searching the same query in this process. A shard's k-th
/// score is a lower bound of the global k-th score, so a document of another shard that cannot beat it cannot be
/// in the global top k. The value is published one ulp below the k-th score: a document that ties with it may
/// still win on the tie-break, so it must not be pruned.</summary>
public sealed class SharedBound
{
    private float _value = float.NegativeInfinity;

    public float Value => Volatile.Read(ref _value);

    /// <summary>Offers a shard's k-th score.</summary>
    public void Raise(float kthScore)
    {
        float candidate = MathF.BitDecrement(kthScore);
        float current = Volatile.Read(ref _value);
        while (candidate > current)
        {
            float seen = Interlocked.CompareExchange(ref _value, candidate, current);
            if (seen == current) return;
            current = seen;
        }
    }
}
