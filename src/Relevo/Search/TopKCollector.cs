namespace Relevo.Search;

/// <summary>Keeps the k best (score, global doc) pairs in a min-heap; ties go to the smaller doc number, as in Lucene.
/// Options for searching one shard of a larger collection: a floor every kept document must beat, and a bound shared
/// with the searches of the same query's other shards (both given to <see cref="Reset"/>).</summary>
internal sealed class TopKCollector
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

    /// <summary>Empties the collector and sets a new k, the floor and the shared bound; the arrays are kept (and only
    /// grown), so a reused collector allocates nothing in steady state.</summary>
    public void Reset(int k, float floor = float.NegativeInfinity, SharedBound? shared = null)
    {
        if (k <= 0) throw new RelevoException("k must be at least 1");
        if (k > _scores.Length)
        {
            _scores = new float[k];
            _docs = new int[k];
        }
        _k = k;
        _count = 0;
        _floor = floor;
        Shared = shared;
        _pendingCount = 0;
        _inKeys = false;
    }

    private float _floor = float.NegativeInfinity;

    /// <summary>A score every collected document must beat, known before the search (e.g. another shard's k-th
    /// score, lowered by one ulp so that documents tying with it are still collected). Pruning algorithms read it
    /// through <see cref="Threshold"/>, so they skip what cannot beat it.</summary>
    public float Floor => _floor;

    /// <summary>A bound shared with searches of other shards of the same query that run in this process: this
    /// collector publishes its k-th score there once it is full, and its threshold never falls below the shared
    /// value.</summary>
    public SharedBound? Shared { get; private set; }

    /// <summary>Stops publishing to the shared bound (the search is over; draining does not raise it).</summary>
    public void DetachShared() => Shared = null;

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
        if (_inKeys) MoveToHeap();
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

    // ---- buffered collection (large k): candidates are appended to a buffer and merged with the kept documents by
    // one selection per k candidates, instead of one heap update per document. While buffering, the kept documents
    // live in _keys[0.._count) as order keys (not as a heap); _scores[0]/_docs[0] hold the worst of them, so
    // Threshold reads as usual. Collect turns them back into a heap first.

    private ulong[] _keys = [];     // kept documents [0, _count), pending candidates [_k, _k + _pendingCount)
    private ulong[] _scratch = [];
    private int[] _histogram = [];
    private int _pendingCount;
    private bool _inKeys;
    private const int HistogramBuckets = 1024;

    /// <summary>Candidates added by <see cref="CollectBuffered(int, float)"/> and not yet merged (not in <see cref="Count"/>).</summary>
    internal int PendingCount => _pendingCount;

    /// <summary>Like <see cref="Collect"/>, for callers that offer many documents at a time (large k): the candidate is
    /// appended to a buffer, and the buffer is merged with the kept documents by one selection once it holds k
    /// candidates. Until that merge <see cref="Threshold"/> ignores the buffered candidates (it is lower or equal, so
    /// still a safe bound). <see cref="Flush"/>, <see cref="DrainInto"/> and <see cref="Drain"/> merge first; the
    /// result is the same as with <see cref="Collect"/>.</summary>
    public void CollectBuffered(int doc, float score)
    {
        if (!_inKeys) MoveToKeys();
        int at = _k + _pendingCount;
        _keys[at] = Key(doc, score);
        if (++_pendingCount >= PendingCapacity) Flush();
    }

    /// <summary><see cref="CollectBuffered(int, float)"/> for each pair: document <c>docBase + docs[i]</c> with
    /// score <c>scores[i]</c>.</summary>
    public void CollectBuffered(ReadOnlySpan<int> docs, ReadOnlySpan<float> scores, int docBase)
    {
        if (docs.Length != scores.Length) throw new ArgumentException("as many scores as documents are needed");
        if (!_inKeys) MoveToKeys();
        int capacity = PendingCapacity;
        var keys = _keys;
        for (int i = 0; i < docs.Length;)
        {
            int take = Math.Min(capacity - _pendingCount, docs.Length - i);
            int at = _k + _pendingCount;
            for (int j = 0; j < take; j++) keys[at + j] = Key(docBase + docs[i + j], scores[i + j]);
            i += take;
            _pendingCount += take;
            if (_pendingCount >= capacity) Flush();
        }
    }

    private int PendingCapacity => Math.Max(_k, 256);

    private void MoveToKeys()
    {
        int size = _k + PendingCapacity;
        if (_keys.Length < size)
        {
            _keys = new ulong[size];
            _scratch = new ulong[size + 1];
            if (_histogram.Length == 0) _histogram = new int[HistogramBuckets];
        }
        for (int i = 0; i < _count; i++) _keys[i] = Key(_docs[i], _scores[i]);
        _inKeys = true;
    }

    private void MoveToHeap()
    {
        Flush();
        for (int i = 0; i < _count; i++)
        {
            _scores[i] = ScoreOf(_keys[i]);
            _docs[i] = DocOf(_keys[i]);
        }
        for (int i = (_count >> 1) - 1; i >= 0; i--) SiftDown(i);
        _inKeys = false;
    }

    /// <summary>Merges the candidates buffered by <see cref="CollectBuffered(int, float)"/> with the kept documents.</summary>
    public void Flush()
    {
        int p = _pendingCount;
        if (p == 0) return;
        _pendingCount = 0;
        var keys = _keys;
        if (_count < _k) Array.Copy(keys, _k, keys, _count, p); // close the gap: pool = keys[0, count + p)
        int m = _count + p;
        int keep = Math.Min(_k, m);
        if (keep < m) SelectLargest(keys.AsSpan(0, m), keep);
        _count = keep;
        if (keep == _k)
        {
            // the worst kept document, for Threshold
            ulong min = ulong.MaxValue;
            for (int i = 0; i < keep; i++) if (keys[i] < min) min = keys[i];
            _scores[0] = ScoreOf(min);
            _docs[0] = DocOf(min);
            Shared?.Raise(_scores[0]);
        }
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

    /// <summary>Reorders <paramref name="a"/> so that its <paramref name="m"/> largest keys come first (any order): a
    /// histogram of the keys' high bits finds the bucket that holds the m-th largest; keys above it are taken at
    /// once and only that bucket's keys are compared.</summary>
    private void SelectLargest(Span<ulong> a, int m)
    {
        uint lo = uint.MaxValue, hi = 0;
        for (int i = 0; i < a.Length; i++)
        {
            uint h = (uint)(a[i] >> 32);
            lo = Math.Min(lo, h);
            hi = Math.Max(hi, h);
        }
        if (lo == hi)
        {
            QuickSelectLargest(a, m);
            return;
        }
        int shift = Math.Max(0, 32 - System.Numerics.BitOperations.LeadingZeroCount(hi - lo) - 10); // (hi - lo) >> shift < 1024
        var hist = _histogram;
        Array.Clear(hist);
        for (int i = 0; i < a.Length; i++) hist[(int)(((uint)(a[i] >> 32) - lo) >> shift)]++;
        int bucket = HistogramBuckets - 1, above = 0;
        while (above + hist[bucket] < m) above += hist[bucket--];
        // keys above the bucket to the front of scratch, the bucket's keys to its back (branch-free writes)
        var scratch = _scratch;
        int front = 0, back = scratch.Length;
        uint edge = (uint)bucket;
        for (int i = 0; i < a.Length; i++)
        {
            ulong key = a[i];
            uint b = ((uint)(key >> 32) - lo) >> shift;
            scratch[front] = key;
            front += b > edge ? 1 : 0;
            scratch[back - 1] = key;
            back -= b == edge ? 1 : 0;
        }
        var inBucket = scratch.AsSpan(back);
        int need = m - front;
        if (need < inBucket.Length) QuickSelectLargest(inBucket, need);
        scratch.AsSpan(0, front).CopyTo(a);
        inBucket[..need].CopyTo(a[front..]);
    }

    /// <summary>Sorts the keys ascending: least significant byte first, eight counting passes, each skipped where
    /// every key has the same byte there (the high bytes of scores and documents mostly do).</summary>
    private void RadixSort(Span<ulong> keys, Span<ulong> scratch)
    {
        if (keys.Length < 64)
        {
            keys.Sort();
            return;
        }
        var counts = _histogram; // 1024 ints: 256 used per pass
        Span<ulong> from = keys, to = scratch;
        for (int shift = 0; shift < 64; shift += 8)
        {
            counts.AsSpan(0, 256).Clear();
            for (int i = 0; i < from.Length; i++) counts[(int)(from[i] >> shift) & 0xFF]++;
            if (counts[(int)(from[0] >> shift) & 0xFF] == from.Length) continue; // one value here: order stays
            int sum = 0;
            for (int b = 0; b < 256; b++)
            {
                int c = counts[b];
                counts[b] = sum;
                sum += c;
            }
            for (int i = 0; i < from.Length; i++)
            {
                ulong key = from[i];
                to[counts[(int)(key >> shift) & 0xFF]++] = key;
            }
            var t = from;
            from = to;
            to = t;
        }
        if (from != keys) from.CopyTo(keys);
    }

    /// <summary>Reorders <paramref name="a"/> so that its <paramref name="m"/> largest keys come first (any order).</summary>
    private static void QuickSelectLargest(Span<ulong> a, int m)
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
        if (_inKeys)
        {
            // buffered: one sort of the kept keys instead of a heap drain
            Flush();
            int n = _count;
            if (docs.Length < n || scores.Length < n) throw new ArgumentException("the output spans are shorter than the number of hits");
            var keys = _keys.AsSpan(0, n);
            RadixSort(keys, _scratch.AsSpan(0, n));
            for (int i = 0; i < n; i++)
            {
                ulong key = keys[n - 1 - i];
                docs[i] = DocOf(key);
                scores[i] = ScoreOf(key);
            }
            _count = 0;
            _inKeys = false;
            return n;
        }
        return DrainHeapInto(docs, scores);
    }

    private int DrainHeapInto(Span<int> docs, Span<float> scores)
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
        if (_inKeys) MoveToHeap();
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
internal sealed class SharedBound
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
