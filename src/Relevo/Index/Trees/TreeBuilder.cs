using System.Numerics.Tensors;

namespace Relevo.Index.Trees;

/// <summary>How to grow a tree: the strategy, at most how many children a node has, and the seed every random choice
/// derives from (the same vectors, options and seed give the same tree, on any machine and thread count).</summary>
internal sealed record TreeOptions(TreeStrategy Strategy = TreeStrategy.TopDown, int Branching = 10, int Seed = 42)
{
    public const int MinBranching = 2, MaxBranching = 100;
}

/// <summary>The shape of a tree before its summaries: children (breadth-first numbering, root 0) and centroids.</summary>
internal sealed record TreeShape(int[] ChildStart, int[] Children, float[] Centroids, int Dimension)
{
    public int NodeCount => ChildStart.Length - 1;
    public ReadOnlySpan<int> ChildrenOf(int node) => Children.AsSpan(ChildStart[node], ChildStart[node + 1] - ChildStart[node]);
}

/// <summary>Organises document vectors into a semantic tree. Top-down: k-means (spherical, k-means++ seeding) splits the
/// documents into at most <c>branching</c> clusters, recursively, until a cluster fits in one node. Bottom-up:
/// agglomerative with a size cap — every pair of items (documents, then groups) in order of cosine similarity merges
/// their groups while the merged group has at most <c>branching</c> items (single linkage under a cap); level after
/// level until one root remains. Pairs are compared within buckets of at most 2,048 items (a coarse k-means split) so
/// the cost stays near-linear in the corpus size.</summary>
internal static class TreeBuilder
{
    private const int KMeansIterations = 8;
    private const int KMeansSample = 20_000;
    private const int BucketSize = 2048;

    public static TreeShape Build(IReadOnlyList<float[]> vectors, TreeOptions options, CancellationToken cancellation = default)
    {
        if (options.Branching is < TreeOptions.MinBranching or > TreeOptions.MaxBranching)
            throw new RelevoException($"tree: branching must be between {TreeOptions.MinBranching} and {TreeOptions.MaxBranching}");
        if (vectors.Count == 0) throw new RelevoException("tree: the index has no documents to organise");
        int dim = vectors[0].Length;
        var unit = new float[vectors.Count][];
        for (int i = 0; i < unit.Length; i++)
        {
            if (vectors[i].Length != dim) throw new RelevoException($"tree: vector {i} has {vectors[i].Length} dimensions, not {dim}");
            unit[i] = Normalized(vectors[i]);
        }
        var nodes = new List<Node>();
        int root = options.Strategy == TreeStrategy.TopDown
            ? TopDown(unit, options, nodes, cancellation)
            : BottomUp(unit, options, nodes, cancellation);
        return Number(nodes, root, unit, dim);
    }

    /// <summary>A node while building: children are node indexes (≥ 0) or documents (~doc).</summary>
    private sealed class Node(List<int> children)
    {
        public List<int> Children { get; } = children;
    }

    // --- Top-down ---

    private static int TopDown(float[][] vectors, TreeOptions options, List<Node> nodes, CancellationToken cancellation)
    {
        var all = new int[vectors.Length];
        for (int i = 0; i < all.Length; i++) all[i] = i;
        return Split(all, vectors, options, nodes, (ulong)(uint)options.Seed, cancellation);
    }

    private static int Split(int[] items, float[][] vectors, TreeOptions options, List<Node> nodes, ulong seed, CancellationToken cancellation)
    {
        cancellation.ThrowIfCancellationRequested();
        var children = new List<int>();
        int self = nodes.Count;
        nodes.Add(new Node(children));
        if (items.Length <= options.Branching)
        {
            foreach (int d in items) children.Add(~d);
            return self;
        }
        var clusters = Cluster(items, vectors, options.Branching, seed);
        for (int c = 0; c < clusters.Count; c++)
        {
            var cluster = clusters[c];
            children.Add(cluster.Length == 1 ? ~cluster[0] : Split(cluster, vectors, options, nodes, Mix(seed, (ulong)c + 1), cancellation));
        }
        return self;
    }

    /// <summary>At most k non-empty clusters of the items, in a deterministic order (by smallest member); an
    /// all-in-one result (identical vectors) is split into k equal runs instead.</summary>
    private static List<int[]> Cluster(int[] items, float[][] vectors, int k, ulong seed)
    {
        var assignment = KMeans(items, vectors, k, new Random((int)(seed & 0x7FFFFFFF)));
        var lists = new List<int>[k];
        for (int c = 0; c < k; c++) lists[c] = [];
        for (int i = 0; i < items.Length; i++) lists[assignment[i]].Add(items[i]);
        var clusters = new List<int[]>(k);
        foreach (var l in lists)
            if (l.Count > 0) clusters.Add([.. l]);
        if (clusters.Count == 1)
        {
            clusters.Clear();
            int per = (items.Length + k - 1) / k;
            for (int s = 0; s < items.Length; s += per) clusters.Add(items[s..Math.Min(items.Length, s + per)]);
        }
        clusters.Sort((a, b) => a[0].CompareTo(b[0]));
        return clusters;
    }

    /// <summary>Spherical k-means: centroids seeded by k-means++ (distance 1 − cosine), fitted on a sample of at most
    /// 20,000 items, then every item assigned to its nearest centroid.</summary>
    private static int[] KMeans(int[] items, float[][] vectors, int k, Random rng)
    {
        int dim = vectors[items[0]].Length;
        int[] fit = items;
        if (items.Length > KMeansSample)
        {
            fit = (int[])items.Clone();
            for (int i = 0; i < KMeansSample; i++)
            {
                int j = i + rng.Next(fit.Length - i); // partial Fisher–Yates: the first KMeansSample are a uniform sample
                (fit[i], fit[j]) = (fit[j], fit[i]);
            }
            fit = fit[..KMeansSample];
        }
        var centroids = new float[k][];
        var nearest = new float[fit.Length];
        Array.Fill(nearest, float.MaxValue);
        centroids[0] = (float[])vectors[fit[rng.Next(fit.Length)]].Clone();
        for (int c = 1; c < k; c++)
        {
            double total = 0;
            for (int i = 0; i < fit.Length; i++)
            {
                float d = Math.Max(0f, 1f - TensorPrimitives.Dot(vectors[fit[i]], centroids[c - 1]));
                if (d < nearest[i]) nearest[i] = d;
                total += nearest[i];
            }
            int pick = fit[rng.Next(fit.Length)];
            if (total > 0)
            {
                double r = rng.NextDouble() * total;
                for (int i = 0; i < fit.Length; i++)
                {
                    r -= nearest[i];
                    if (r <= 0) { pick = fit[i]; break; }
                }
            }
            centroids[c] = (float[])vectors[pick].Clone();
        }
        var fitAssign = new int[fit.Length];
        for (int iteration = 0; iteration < KMeansIterations; iteration++)
        {
            bool changed = Assign(fit, vectors, centroids, fitAssign) || iteration == 0;
            var sums = new float[k][];
            for (int c = 0; c < k; c++) sums[c] = new float[dim];
            for (int i = 0; i < fit.Length; i++) TensorPrimitives.Add(sums[fitAssign[i]], vectors[fit[i]], sums[fitAssign[i]]);
            for (int c = 0; c < k; c++)
                if (TensorPrimitives.Norm(sums[c]) > 0) centroids[c] = Normalized(sums[c]); // an empty cluster keeps its centroid
            if (!changed) break;
        }
        var assignment = new int[items.Length];
        Assign(items, vectors, centroids, assignment);
        return assignment;
    }

    private static bool Assign(int[] items, float[][] vectors, float[][] centroids, int[] assignment)
    {
        bool changed = false;
        for (int i = 0; i < items.Length; i++)
        {
            var v = vectors[items[i]];
            int best = 0;
            float bestSim = float.NegativeInfinity;
            for (int c = 0; c < centroids.Length; c++)
            {
                float s = TensorPrimitives.Dot(v, centroids[c]);
                if (s > bestSim) { bestSim = s; best = c; }
            }
            if (assignment[i] != best) { assignment[i] = best; changed = true; }
        }
        return changed;
    }

    // --- Bottom-up ---

    private static int BottomUp(float[][] docVectors, TreeOptions options, List<Node> nodes, CancellationToken cancellation)
    {
        // the current level's items: a reference (node or ~doc) and its unit vector
        var refs = new List<int>(docVectors.Length);
        var vectors = new List<float[]>(docVectors.Length);
        for (int d = 0; d < docVectors.Length; d++) { refs.Add(~d); vectors.Add(docVectors[d]); }
        ulong seed = (ulong)(uint)options.Seed;
        for (int level = 0; refs.Count > options.Branching; level++)
        {
            cancellation.ThrowIfCancellationRequested();
            var all = new int[refs.Count];
            for (int i = 0; i < all.Length; i++) all[i] = i;
            var levelVectors = vectors.ToArray();
            var groups = new List<int[]>();
            foreach (var bucket in Buckets(all, levelVectors, Mix(seed, (ulong)level + 1)))
                groups.AddRange(Agglomerate(bucket, levelVectors, options.Branching));
            groups.Sort((a, b) => a[0].CompareTo(b[0]));
            var nextRefs = new List<int>(groups.Count);
            var nextVectors = new List<float[]>(groups.Count);
            foreach (var g in groups)
            {
                if (g.Length == 1)
                {
                    nextRefs.Add(refs[g[0]]);
                    nextVectors.Add(levelVectors[g[0]]);
                    continue;
                }
                var children = new List<int>(g.Length);
                var sum = new float[levelVectors[0].Length];
                foreach (int i in g)
                {
                    children.Add(refs[i]);
                    TensorPrimitives.Add(sum, levelVectors[i], sum);
                }
                nextRefs.Add(nodes.Count);
                nodes.Add(new Node(children));
                nextVectors.Add(Normalized(sum));
            }
            if (nextRefs.Count == refs.Count) // nothing merged (cannot happen with branching ≥ 2, kept as a guard)
                throw new InvalidOperationException("tree: a bottom-up level merged nothing");
            refs = nextRefs;
            vectors = nextVectors;
        }
        int root = nodes.Count;
        nodes.Add(new Node([.. refs]));
        return root;
    }

    /// <summary>Items split by k-means into buckets of at most 2,048 (recursively), or one bucket when they fit.</summary>
    private static List<int[]> Buckets(int[] items, float[][] vectors, ulong seed)
    {
        if (items.Length <= BucketSize) return [items];
        int k = Math.Min(64, (items.Length + BucketSize / 2 - 1) / (BucketSize / 2));
        var result = new List<int[]>();
        var clusters = Cluster(items, vectors, k, seed);
        for (int c = 0; c < clusters.Count; c++) result.AddRange(Buckets(clusters[c], vectors, Mix(seed, (ulong)c + 1)));
        return result;
    }

    /// <summary>Groups of at most <paramref name="cap"/> items: pairs in order of decreasing cosine (ties by index) join
    /// their groups when the union fits. Afterwards no two groups fit together, so at most one group is half full or
    /// less and a level shrinks the item count by at least half the cap.</summary>
    private static List<int[]> Agglomerate(int[] items, float[][] vectors, int cap)
    {
        int m = items.Length;
        long pairCount = (long)m * (m - 1) / 2;
        var keys = new float[pairCount];
        var pairs = new long[pairCount];
        long p = 0;
        for (int i = 0; i < m; i++)
        {
            var vi = vectors[items[i]];
            for (int j = i + 1; j < m; j++, p++)
            {
                keys[p] = -TensorPrimitives.Dot(vi, vectors[items[j]]);
                pairs[p] = ((long)i << 32) | (uint)j;
            }
        }
        Array.Sort(keys, pairs); // introsort is not stable: equal keys are ordered by pair below
        for (long s = 0; s < pairCount;)
        {
            long e = s + 1;
            while (e < pairCount && keys[e] == keys[s]) e++;
            if (e - s > 1) Array.Sort(pairs, (int)s, (int)(e - s));
            s = e;
        }
        var parent = new int[m];
        var size = new int[m];
        for (int i = 0; i < m; i++) { parent[i] = i; size[i] = 1; }
        int Find(int x)
        {
            while (parent[x] != x) x = parent[x] = parent[parent[x]];
            return x;
        }
        for (long q = 0; q < pairCount; q++)
        {
            int a = Find((int)(pairs[q] >> 32)), b = Find((int)(pairs[q] & 0xFFFFFFFF));
            if (a == b || size[a] + size[b] > cap) continue;
            if (b < a) (a, b) = (b, a);
            parent[b] = a;
            size[a] += size[b];
        }
        var byRoot = new Dictionary<int, List<int>>();
        for (int i = 0; i < m; i++)
        {
            int r = Find(i);
            if (!byRoot.TryGetValue(r, out var list)) byRoot[r] = list = [];
            list.Add(items[i]);
        }
        var groups = new List<int[]>(byRoot.Count);
        foreach (var list in byRoot.Values) groups.Add([.. list]);
        return groups;
    }

    // --- Numbering and centroids ---

    /// <summary>Breadth-first numbering from the root (so a parent precedes its children) and each node's centroid:
    /// the normalized sum of its documents' unit vectors.</summary>
    private static TreeShape Number(List<Node> nodes, int root, float[][] docs, int dim)
    {
        var order = new List<int> { root };
        var number = new int[nodes.Count];
        Array.Fill(number, -1);
        number[root] = 0;
        for (int i = 0; i < order.Count; i++)
            foreach (int c in nodes[order[i]].Children)
                if (c >= 0) { number[c] = order.Count; order.Add(c); }
        var start = new int[order.Count + 1];
        var children = new List<int>();
        for (int i = 0; i < order.Count; i++)
        {
            start[i] = children.Count;
            foreach (int c in nodes[order[i]].Children) children.Add(c >= 0 ? number[c] : c);
        }
        start[order.Count] = children.Count;
        var centroids = new float[order.Count * dim];
        for (int n = order.Count - 1; n >= 0; n--) // children (higher numbers) first: sums roll up
        {
            var sum = centroids.AsSpan(n * dim, dim);
            for (int e = start[n]; e < start[n + 1]; e++)
            {
                int c = children[e];
                TensorPrimitives.Add(sum, c >= 0 ? centroids.AsSpan(c * dim, dim) : docs[~c], sum);
            }
        }
        // sums of descendants were needed unnormalized above; normalize once all are summed (parents use children's sums)
        for (int n = 0; n < order.Count; n++)
        {
            var c = centroids.AsSpan(n * dim, dim);
            float norm = TensorPrimitives.Norm(c);
            if (norm > 0) TensorPrimitives.Divide(c, norm, c);
        }
        return new TreeShape(start, [.. children], centroids, dim);
    }

    internal static float[] Normalized(ReadOnlySpan<float> v)
    {
        var r = v.ToArray();
        float norm = TensorPrimitives.Norm(r);
        if (norm > 0) TensorPrimitives.Divide(r, norm, r);
        return r;
    }

    /// <summary>SplitMix64 step: a child's seed from its parent's and its position.</summary>
    internal static ulong Mix(ulong seed, ulong salt)
    {
        ulong z = seed + salt * 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
