using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using Relevo.Index;

namespace Relevo.Dense;

/// <summary>The adjacency lists of an HNSW graph, in the layout the graph file stores (<see cref="HnswFile"/>) and
/// the builder fills: layer 0 in fixed slots of M0 + 1 ints per node (count, then neighbours), the upper layers in
/// fixed slots of M + 1 ints, a node's layers 1..level contiguous from its <c>UpperOffset</c>. Nodes not in the graph
/// (deleted when it was built) have level −1 and no neighbours. Points into pinned arrays or a mapped file.</summary>
internal readonly unsafe struct HnswLinks(int* level0, int* upper, int* upperOffset, sbyte* levels, int count, int m)
{
    public readonly int* Level0 = level0;
    public readonly int* Upper = upper;
    public readonly int* UpperOffset = upperOffset;
    public readonly sbyte* Levels = levels;
    public readonly int Count = count;
    public readonly int M = m;
    /// <summary>How many neighbours a list on a layer holds at most: 2·M on layer 0, M above.</summary>
    public int Capacity(int level) => level == 0 ? 2 * M : M;

    /// <summary>The slot of a node's list on a layer: its length, then the neighbours.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int* Slot(int node, int level) => level == 0
        ? Level0 + (long)node * (2 * M + 1)
        : Upper + ((long)UpperOffset[node] + level - 1) * (M + 1);

    public ReadOnlySpan<int> Neighbors(int node, int level)
    {
        int* p = Slot(node, level);
        return new ReadOnlySpan<int>(p + 1, *p);
    }
}

/// <summary>The similarity of the query (or the node being inserted) to a node; higher is closer.</summary>
internal interface INodeScorer
{
    float Score(int node);
    /// <summary>Asks the CPU to start loading the node's vector, every cache line of it (it is scored shortly).</summary>
    void Prefetch(int node);
}

/// <summary>Dot product in float32 (cosine on unit vectors), as exact search computes it.</summary>
internal readonly unsafe struct FloatScorer(float* query, float* rows, int dims) : INodeScorer
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Score(int node) =>
        TensorPrimitives.Dot(new ReadOnlySpan<float>(query, dims), new ReadOnlySpan<float>(rows + (long)node * dims, dims));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch(int node)
    {
        if (!Sse.IsSupported) return;
        byte* p = (byte*)(rows + (long)node * dims);
        for (int offset = 0; offset < dims * sizeof(float); offset += 64) Sse.Prefetch0(p + offset);
    }
}

/// <summary>Dot product of the widened int8 query with a node's int8 row times the row's scale: proportional to the
/// float dot product (the query's own scale is left out), as exact int8 search ranks.</summary>
internal readonly unsafe struct Int8Scorer(short* query, sbyte* rows, float* scales, int dims) : INodeScorer
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Score(int node) =>
        Int8Dot.Dot(new ReadOnlySpan<short>(query, dims), new ReadOnlySpan<sbyte>(rows + (long)node * dims, dims)) * scales[node];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prefetch(int node)
    {
        if (!Sse.IsSupported) return;
        byte* p = (byte*)(rows + (long)node * dims);
        for (int offset = 0; offset < dims; offset += 64) Sse.Prefetch0(p + offset);
        Sse.Prefetch0(scales + node);
    }
}

/// <summary>Which nodes a search may return (all nodes are still walked through).</summary>
internal interface INodeFilter
{
    bool Accept(int node);
}

internal readonly struct AcceptAll : INodeFilter
{
    public bool Accept(int node) => true;
}

/// <summary>Live documents only: deleted ones are walked through (they keep the graph connected) but never returned.</summary>
internal readonly struct LiveOnly(DeletedDocs deletes) : INodeFilter
{
    public bool Accept(int node) => !deletes.IsDeleted(node);
}

/// <summary>A binary min-heap of (score, node) pairs that allocates nothing once grown.</summary>
internal sealed class NodeHeap
{
    private float[] _scores = new float[64];
    private int[] _nodes = new int[64];

    public int Count { get; private set; }
    public float TopScore => _scores[0];
    public int TopNode => _nodes[0];

    public void Clear() => Count = 0;

    public void Push(float score, int node)
    {
        if (Count == _scores.Length)
        {
            Array.Resize(ref _scores, Count * 2);
            Array.Resize(ref _nodes, Count * 2);
        }
        int i = Count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (_scores[parent] <= score) break;
            _scores[i] = _scores[parent];
            _nodes[i] = _nodes[parent];
            i = parent;
        }
        _scores[i] = score;
        _nodes[i] = node;
    }

    public void Pop()
    {
        int n = --Count;
        if (n == 0) return;
        float score = _scores[n];
        int node = _nodes[n];
        int i = 0;
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= n) break;
            if (child + 1 < n && _scores[child + 1] < _scores[child]) child++;
            if (_scores[child] >= score) break;
            _scores[i] = _scores[child];
            _nodes[i] = _nodes[child];
            i = child;
        }
        _scores[i] = score;
        _nodes[i] = node;
    }

    /// <summary>Empties the heap into the spans, best (highest score) first; returns how many.</summary>
    public int DrainDescending(Span<int> nodes, Span<float> scores)
    {
        int n = Count;
        for (int i = n - 1; i >= 0; i--)
        {
            nodes[i] = TopNode;
            scores[i] = TopScore;
            Pop();
        }
        return n;
    }
}

/// <summary>One thread's working memory for graph searches: the visited marks (a stamp per node, so nothing is
/// cleared between searches), the two heaps and buffers. Reused by every search on the thread.</summary>
internal sealed class HnswScratch
{
    [ThreadStatic] private static HnswScratch? t_scratch;

    // two bytes a node (a graph of a million nodes: 2 MB a thread), cleared once every 65,535 searches
    private ushort[] _visited = [];
    private ushort _stamp;
    public readonly NodeHeap Candidates = new(); // scores negated: the best candidate on top
    public readonly NodeHeap Results = new();    // the worst kept result on top
    public int[] Nodes = new int[256];
    /// <summary>A node's unvisited neighbours (at most 2·M of them).</summary>
    public int[] Pending = new int[2 * HnswParameters.MaxM + 1];
    public float[] Scores = new float[256];

    public static HnswScratch ForThread() => t_scratch ??= new HnswScratch();

    /// <summary>Starts a search over a graph of <paramref name="count"/> nodes: nothing visited, heaps empty.</summary>
    public void Begin(int count)
    {
        if (_visited.Length < count) _visited = new ushort[Math.Max(count, _visited.Length * 2)];
        if (++_stamp == ushort.MaxValue)
        {
            Array.Clear(_visited);
            _stamp = 1;
        }
        Candidates.Clear();
        Results.Clear();
    }

    /// <summary>Marks a node visited; false when it already was.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Visit(int node)
    {
        ref ushort mark = ref _visited[node];
        if (mark == _stamp) return false;
        mark = _stamp;
        return true;
    }

    public void EnsureBuffers(int n)
    {
        if (Nodes.Length >= n) return;
        Nodes = new int[n];
        Scores = new float[n];
    }
}

/// <summary>Search in an HNSW graph (Malkov &amp; Yashunin, algorithms 2 and 5): a greedy descent through the upper
/// layers, then a beam of <c>ef</c> candidates on layer 0. Generic over the scorer and the filter so that the JIT
/// compiles one specialised loop per combination.</summary>
internal static unsafe class HnswSearch
{
    /// <summary>The best <paramref name="ef"/> accepted nodes, left in <c>scratch.Results</c> (a min-heap).</summary>
    public static void Search<TScorer, TFilter>(in HnswLinks links, int entry, int maxLevel, ref TScorer scorer,
        in TFilter filter, int ef, HnswScratch scratch)
        where TScorer : struct, INodeScorer where TFilter : struct, INodeFilter
    {
        scratch.Begin(links.Count);
        if (entry < 0) return;
        float score = scorer.Score(entry);
        for (int level = maxLevel; level > 0; level--) Greedy(links, level, ref scorer, ref entry, ref score);
        Beam(links, 0, ref scorer, filter, ef, entry, score, scratch);
    }

    /// <summary>Moves to the closest neighbour on a layer until none is closer (a beam of one).</summary>
    public static void Greedy<TScorer>(in HnswLinks links, int level, ref TScorer scorer, ref int node, ref float score)
        where TScorer : struct, INodeScorer
    {
        bool moved = true;
        while (moved)
        {
            moved = false;
            int* slot = links.Slot(node, level);
            int n = *slot;
            if (n > 0) scorer.Prefetch(slot[1]);
            for (int i = 0; i < n; i++)
            {
                int next = slot[1 + i];
                if (i + 1 < n) scorer.Prefetch(slot[2 + i]);
                float s = scorer.Score(next);
                if (s > score)
                {
                    score = s;
                    node = next;
                    moved = true;
                }
            }
        }
    }

    /// <summary>The beam search on one layer from one entry point; results in <c>scratch.Results</c>. The caller has
    /// called <see cref="HnswScratch.Begin"/>.</summary>
    public static void Beam<TScorer, TFilter>(in HnswLinks links, int level, ref TScorer scorer, in TFilter filter,
        int ef, int entry, float entryScore, HnswScratch scratch)
        where TScorer : struct, INodeScorer where TFilter : struct, INodeFilter
    {
        var candidates = scratch.Candidates;
        var results = scratch.Results;
        scratch.Visit(entry);
        candidates.Push(-entryScore, entry);
        if (filter.Accept(entry)) results.Push(entryScore, entry);
        while (candidates.Count > 0)
        {
            float best = -candidates.TopScore;
            int node = candidates.TopNode;
            if (results.Count >= ef && best < results.TopScore) break;
            candidates.Pop();
            int* slot = links.Slot(node, level);
            // the neighbours not yet visited, each one's vector requested from memory while the previous one is scored
            var pending = scratch.Pending;
            int n = 0;
            for (int i = 1, end = *slot; i <= end; i++)
                if (scratch.Visit(slot[i])) pending[n++] = slot[i];
            if (n > 0) scorer.Prefetch(pending[0]);
            for (int i = 0; i < n; i++)
            {
                int next = pending[i];
                if (i + 1 < n) scorer.Prefetch(pending[i + 1]);
                float s = scorer.Score(next);
                if (results.Count < ef || s > results.TopScore)
                {
                    candidates.Push(-s, next);
                    if (filter.Accept(next))
                    {
                        results.Push(s, next);
                        if (results.Count > ef) results.Pop();
                    }
                }
            }
        }
    }
}
