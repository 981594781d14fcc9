using System.Numerics.Tensors;
using Relevo.Dense;
using Relevo.Index;
using Relevo.Index.Formats;

namespace Relevo.Tests.Dense;

/// <summary>The HNSW graph on its own: recall against brute force on clustered vectors, the same graph for any
/// thread count, deleted documents walked through but never returned, and the file refused when damaged.</summary>
public sealed unsafe class HnswTests
{
    /// <summary>Unit vectors around <paramref name="centres"/> random centres (fixed seed): normalise(centre + noise).</summary>
    internal static float[] Clustered(int count, int dims, int centres, int seed, float sigma = 0.6f)
    {
        var rng = new Random(seed);
        var c = new float[centres * dims];
        for (int i = 0; i < c.Length; i++) c[i] = Gaussian(rng);
        for (int i = 0; i < centres; i++) Normalize(c.AsSpan(i * dims, dims));
        var rows = new float[count * dims];
        float noise = sigma / MathF.Sqrt(dims);
        for (int i = 0; i < count; i++)
        {
            var row = rows.AsSpan(i * dims, dims);
            c.AsSpan(rng.Next(centres) * dims, dims).CopyTo(row);
            for (int j = 0; j < dims; j++) row[j] += noise * Gaussian(rng);
            Normalize(row);
        }
        return rows;
    }

    private static float Gaussian(Random rng) =>
        (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));

    private static void Normalize(Span<float> v) => TensorPrimitives.Divide(v, TensorPrimitives.Norm(v), v);

    /// <summary>Brute-force top k (ties by smaller row) among accepted rows.</summary>
    internal static int[] Exact(float[] rows, int dims, ReadOnlySpan<float> q, int k, Func<int, bool>? accept = null)
    {
        int n = rows.Length / dims;
        var scored = new List<(float Score, int Row)>(n);
        for (int i = 0; i < n; i++)
            if (accept is null || accept(i)) scored.Add((TensorPrimitives.Dot(rows.AsSpan(i * dims, dims), q), i));
        scored.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Row.CompareTo(b.Row));
        return scored.Take(k).Select(x => x.Row).ToArray();
    }

    private static int[] GraphSearch(HnswGraphData g, float[] rows, int dims, float[] q, int k, int ef, DeletedDocs? deletes = null)
    {
        var scratch = HnswScratch.ForThread();
        fixed (float* qp = q)
        fixed (float* rp = rows)
        {
            var scorer = new FloatScorer(qp, rp, dims);
            if (deletes is null) HnswSearch.Search(g.Links, g.Entry, g.MaxLevel, ref scorer, new AcceptAll(), ef, scratch);
            else HnswSearch.Search(g.Links, g.Entry, g.MaxLevel, ref scorer, new LiveOnly(deletes), ef, scratch);
        }
        var ids = new int[scratch.Results.Count];
        var scores = new float[ids.Length];
        scratch.Results.DrainDescending(ids, scores);
        return ids.Take(k).ToArray();
    }

    private static double Recall(int[] found, int[] truth) => found.Intersect(truth).Count() / (double)truth.Length;

    [Fact]
    public void Recall_at_10_against_brute_force_on_clustered_vectors()
    {
        const int n = 20_000, dims = 64;
        var rows = Clustered(n, dims, centres: 200, seed: 1);
        // the same seed draws the same centres and rows first: the 200 rows after them are queries from the same mixture
        var queries = Clustered(n + 200, dims, 200, 1)[(n * dims)..];
        var g = HnswBuilder.Build(rows, dims, n, HnswParameters.Default, threads: 2);
        double recall = 0, recallLow = 0;
        for (int qi = 0; qi < 200; qi++)
        {
            var q = queries.AsSpan(qi * dims, dims).ToArray();
            var truth = Exact(rows, dims, q, 10);
            recall += Recall(GraphSearch(g, rows, dims, q, 10, ef: 100), truth);
            recallLow += Recall(GraphSearch(g, rows, dims, q, 10, ef: 10), truth);
        }
        recall /= 200;
        recallLow /= 200;
        Assert.True(recall >= 0.97, $"recall@10 at ef=100 is {recall:F3}");
        Assert.True(recallLow < recall, $"a narrower beam ({recallLow:F3}) should find less than a wide one ({recall:F3})");
    }

    [Fact]
    public void The_graph_does_not_depend_on_the_thread_count()
    {
        const int n = 5_000, dims = 32;
        var rows = Clustered(n, dims, 50, seed: 2);
        var one = HnswBuilder.Build(rows, dims, n, new HnswParameters(8, 40), threads: 1);
        var two = HnswBuilder.Build(rows, dims, n, new HnswParameters(8, 40), threads: 2);
        Assert.Equal(one.Entry, two.Entry);
        Assert.Equal(one.MaxLevel, two.MaxLevel);
        Assert.Equal(one.Levels, two.Levels);
        Assert.Equal(one.Level0, two.Level0);
        Assert.Equal(one.Upper, two.Upper);
        Assert.True(one.MaxLevel >= 2, "5000 nodes at M=8 reach level 2 and up");
    }

    [Fact]
    public void Every_node_is_reachable_and_lists_respect_their_limits()
    {
        const int n = 3_000, dims = 16;
        var rows = Clustered(n, dims, 30, seed: 3);
        var p = new HnswParameters(6, 30);
        var g = HnswBuilder.Build(rows, dims, n, p, threads: 2);
        var links = g.Links;
        var seen = new bool[n];
        var stack = new Stack<int>([g.Entry]);
        seen[g.Entry] = true;
        while (stack.Count > 0)
        {
            int node = stack.Pop();
            for (int level = 0; level <= g.Levels[node]; level++)
            {
                var list = links.Neighbors(node, level);
                Assert.True(list.Length <= (level == 0 ? p.M0 : p.M));
                foreach (int next in list)
                {
                    Assert.NotEqual(node, next);
                    Assert.True(g.Levels[next] >= level);
                    if (!seen[next]) { seen[next] = true; stack.Push(next); }
                }
            }
        }
        Assert.Equal(n, seen.Count(s => s));
    }

    [Fact]
    public void Deleted_nodes_are_walked_through_but_never_returned_and_left_out_nodes_are_not_in_the_graph()
    {
        const int n = 4_000, dims = 32;
        var rows = Clustered(n, dims, 40, seed: 4);
        // every third row left out when the graph is built (a document deleted before its segment's graph)
        var g = HnswBuilder.Build(rows, dims, n, new HnswParameters(8, 60), include: i => i % 3 != 0, threads: 2);
        for (int i = 0; i < n; i += 3) Assert.Equal(-1, g.Levels[i]);
        // then half the remaining ones deleted afterwards
        var deletes = new DeletedDocs(n);
        for (int i = 0; i < n; i++) if (i % 3 == 0 || i % 2 == 0) deletes.Delete(i);
        var queries = Clustered(n + 50, dims, 40, 4)[(n * dims)..];
        double recall = 0;
        for (int qi = 0; qi < 50; qi++)
        {
            var q = queries.AsSpan(qi * dims, dims).ToArray();
            var found = GraphSearch(g, rows, dims, q, 10, ef: 80, deletes);
            Assert.Equal(10, found.Length);
            Assert.All(found, d => Assert.False(deletes.IsDeleted(d)));
            recall += Recall(found, Exact(rows, dims, q, 10, i => !deletes.IsDeleted(i)));
        }
        Assert.True(recall / 50 >= 0.9, $"recall@10 among live documents is {recall / 50:F3}");
    }

    [Fact]
    public void The_file_round_trips_and_a_damaged_byte_is_refused()
    {
        const int n = 2_000, dims = 16;
        var rows = Clustered(n, dims, 20, seed: 5);
        var g = HnswBuilder.Build(rows, dims, n, new HnswParameters(8, 40), include: i => i != 7, threads: 1);
        using var tmp = new TempDir();
        string path = Path.Combine(tmp.Path, "s0.m.hnsw");
        HnswFile.Write(path, g);
        using (var read = HnswFile.Open(path, n, dims))
        {
            Assert.Equal(g.Entry, read.Entry);
            Assert.Equal(g.MaxLevel, read.MaxLevel);
            Assert.Equal(new HnswParameters(8, 40), read.Parameters);
            for (int node = 0; node < n; node++)
                for (int level = 0; level <= g.Levels[node]; level++)
                    Assert.Equal(g.Links.Neighbors(node, level).ToArray(), read.Links.Neighbors(node, level).ToArray());
        }
        Assert.Throws<CorruptIndexException>(() => HnswFile.Open(path, n + 1, dims).Dispose());
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x10;
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<CorruptIndexException>(() => HnswFile.Open(path, n, dims).Dispose());
        Assert.Contains("s0.m.hnsw", e.Message);
    }

    [Fact]
    public void A_merge_can_start_from_one_source_graph_and_insert_the_rest()
    {
        const int n = 12_000, dims = 48, small = 4_000;
        var rows = Clustered(n + 100, dims, 120, seed: 7);
        var queries = rows[(n * dims)..];
        // the merged numbering: a small segment's documents first, then the large source's (the seed) at offset 4000
        var large = rows[(small * dims)..(n * dims)];
        var seedData = HnswBuilder.Build(large, dims, n - small, HnswParameters.Default, threads: 2);
        using var tmp = new TempDir();
        string path = Path.Combine(tmp.Path, "_1.m.hnsw");
        HnswFile.Write(path, seedData);
        using var seed = HnswFile.Open(path, n - small, dims);
        HnswGraphData merged;
        fixed (float* p = rows) merged = HnswBuilder.Build(p, dims, n, HnswParameters.Default, threads: 2, seed: new HnswSeed(seed, small));
        for (int node = 0; node < n - small; node++) Assert.Equal(seed.LevelOf(node), merged.Levels[small + node]);
        Assert.Equal(seed.Entry + small, merged.Entry);
        double recall = 0;
        for (int qi = 0; qi < 100; qi++)
        {
            var q = queries.AsSpan(qi * dims, dims).ToArray();
            recall += Recall(GraphSearch(merged, rows[..(n * dims)], dims, q, 10, ef: 100), Exact(rows[..(n * dims)], dims, q, 10));
        }
        Assert.True(recall / 100 >= 0.97, $"recall@10 of the merge-inserted graph is {recall / 100:F3}");
        Assert.Throws<ArgumentException>(() =>
        {
            fixed (float* p = rows) HnswBuilder.Build(p, dims, n, new HnswParameters(8, 100), seed: new HnswSeed(seed, small));
        });
    }

    /// <summary>Files whose checksum is right but whose lists are not (a writer's bug, or a crafted file) are refused
    /// when opened, before a search could follow a link out of the mapping.</summary>
    [Theory]
    [InlineData("neighbour past the end", "is not there")]
    [InlineData("link to itself", "is not there")]
    [InlineData("list too long", "neighbours on layer 0")]
    [InlineData("entry below the top", "entry node")]
    [InlineData("upper lists outside", "upper lists outside")]
    public void A_graph_file_with_impossible_lists_is_refused(string damage, string message)
    {
        const int n = 500, dims = 8;
        var rows = Clustered(n, dims, 10, seed: 8);
        var g = HnswBuilder.Build(rows, dims, n, new HnswParameters(4, 20), threads: 1);
        int slot0 = 7 * (2 * 4 + 1); // node 7's layer-0 list
        int high = Array.FindIndex(g.Levels, l => l > 0);
        switch (damage)
        {
            case "neighbour past the end": g.Level0[slot0 + 1] = n; break;
            case "link to itself": g.Level0[slot0 + 1] = 7; break;
            case "list too long": g.Level0[slot0] = 2 * 4 + 1; break;
            case "entry below the top": g.Entry = Array.FindIndex(g.Levels, l => l == 0); break;
            case "upper lists outside": g.UpperOffset[high] = (int)g.UpperSlots; break;
        }
        using var tmp = new TempDir();
        string path = Path.Combine(tmp.Path, "_0.m.hnsw");
        HnswFile.Write(path, g); // a valid checksum over wrong contents
        var e = Assert.Throws<CorruptIndexException>(() => HnswFile.Open(path, n, dims).Dispose());
        Assert.Contains(message, e.Message);
        Assert.Contains(path, e.Message);
    }

    /// <summary>A closing server cancels its background merge: the graph build stops at the next batch.</summary>
    [Fact]
    public void A_cancelled_build_stops()
    {
        const int n = 20_000, dims = 16;
        var rows = Clustered(n, dims, 20, seed: 9);
        using var cancel = new CancellationTokenSource();
        int inserted = 0;
        Assert.ThrowsAny<OperationCanceledException>(() => HnswBuilder.Build(rows, dims, n, HnswParameters.Default, threads: 2,
            progress: done => { inserted = done; if (done >= 2_000) cancel.Cancel(); }, cancellation: cancel.Token));
        Assert.InRange(inserted, 2_000, 2_000 + HnswBuilder.MaxBatch);
    }

    [Fact]
    public void Int8_traversal_finds_what_float_traversal_finds()
    {
        const int n = 10_000, dims = 64;
        var rows = Clustered(n, dims, 100, seed: 6);
        var g = HnswBuilder.Build(rows, dims, n, HnswParameters.Default, threads: 2);
        var q8rows = new sbyte[n * dims];
        var scales = new float[n];
        for (int i = 0; i < n; i++) scales[i] = Int8Quantizer.Quantize(rows.AsSpan(i * dims, dims), q8rows.AsSpan(i * dims, dims));
        var queries = Clustered(n + 100, dims, 100, 6)[(n * dims)..];
        double recall = 0;
        var scratch = HnswScratch.ForThread();
        for (int qi = 0; qi < 100; qi++)
        {
            var q = queries.AsSpan(qi * dims, dims).ToArray();
            var q8 = new sbyte[dims];
            var wide = new short[dims];
            Int8Quantizer.Quantize(q, q8);
            Int8Dot.Widen(q8, wide);
            fixed (short* qp = wide)
            fixed (sbyte* rp = q8rows)
            fixed (float* sp = scales)
            {
                var scorer = new Int8Scorer(qp, rp, sp, dims);
                HnswSearch.Search(g.Links, g.Entry, g.MaxLevel, ref scorer, new AcceptAll(), 100, scratch);
            }
            var ids = new int[scratch.Results.Count];
            scratch.Results.DrainDescending(ids, new float[ids.Length]);
            // rescored in float32 as the searcher does
            var top = ids.OrderByDescending(d => TensorPrimitives.Dot(rows.AsSpan(d * dims, dims), q)).ThenBy(d => d).Take(10).ToArray();
            recall += Recall(top, Exact(rows, dims, q, 10));
        }
        Assert.True(recall / 100 >= 0.95, $"recall@10 through int8 distances is {recall / 100:F3}");
    }
}
