using Relevo.Index.Formats;
using Relevo.Index.Trees;
using Relevo.Search;

namespace Relevo.Tests.Trees;

/// <summary>The semantic tree's shape (both strategies) and LATTICE's navigation over synthetic clustered vectors: no
/// index, no model.</summary>
public sealed class TreeBuilderTests
{
    /// <summary>Unit vectors around <paramref name="clusters"/> random centres (so a tree has structure to find).</summary>
    internal static float[][] Clustered(int n, int dim, int clusters, int seed)
    {
        var rng = new Random(seed);
        var centres = new float[clusters][];
        for (int c = 0; c < clusters; c++) centres[c] = Enumerable.Range(0, dim).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var result = new float[n][];
        for (int i = 0; i < n; i++)
        {
            var centre = centres[rng.Next(clusters)];
            result[i] = TreeBuilder.Normalized(centre.Select(x => x + (float)(rng.NextDouble() - 0.5) * 0.6f).ToArray());
        }
        return result;
    }

    internal static TreeStrategy Strategy(string name) => name == "top-down" ? TreeStrategy.TopDown : TreeStrategy.BottomUp;

    internal static SemanticTree Tree(float[][] vectors, TreeOptions options)
    {
        var shape = TreeBuilder.Build(vectors, options);
        return new SemanticTree
        {
            Model = "synthetic", Strategy = options.Strategy, Branching = options.Branching, Seed = options.Seed, Generation = 1,
            LlmSummaries = false, DocIds = [.. Enumerable.Range(0, vectors.Length).Select(i => $"d{i}")], Dimension = shape.Dimension,
            ChildStart = shape.ChildStart, Children = shape.Children, Centroids = shape.Centroids,
            Summaries = [.. Enumerable.Range(0, shape.NodeCount).Select(n => $"node {n}")],
        };
    }

    [Theory]
    [InlineData("top-down", 10)]
    [InlineData("bottom-up", 10)]
    [InlineData("top-down", 3)]
    [InlineData("bottom-up", 2)]
    public void EveryDocumentIsALeafOnceAndNodesRespectTheBranching(string strategyName, int branching)
    {
        var strategy = TreeBuilderTests.Strategy(strategyName);
        var vectors = Clustered(3000, 32, 40, 1);
        var tree = Tree(vectors, new TreeOptions(strategy, branching, 7));
        tree.Validate("synthetic"); // every document exactly once, every node reached, parents before children
        var leaves = new List<int>();
        for (int n = 0; n < tree.NodeCount; n++)
        {
            var children = tree.ChildrenOf(n);
            Assert.InRange(children.Length, 1, branching);
            foreach (int c in children) if (c < 0) leaves.Add(~c);
            Assert.Equal(1f, System.Numerics.Tensors.TensorPrimitives.Norm(tree.Centroid(n)), 3);
        }
        Assert.Equal(Enumerable.Range(0, vectors.Length), leaves.Order());
        // logarithmic height: a balanced tree needs log_b(n) levels; allow twice that for uneven clusters
        double ideal = Math.Log(vectors.Length) / Math.Log(branching);
        Assert.InRange(tree.Height(), (int)Math.Ceiling(ideal), 2 * Math.Ceiling(ideal) + 1);
    }

    [Theory]
    [InlineData("top-down")]
    [InlineData("bottom-up")]
    public void TheTreeIsDeterministicForASeed(string strategyName)
    {
        var strategy = TreeBuilderTests.Strategy(strategyName);
        var vectors = Clustered(5000, 24, 30, 2); // above the bottom-up bucket size: the coarse split is seeded too
        var a = TreeBuilder.Build(vectors, new TreeOptions(strategy, 8, 11));
        var b = TreeBuilder.Build(vectors, new TreeOptions(strategy, 8, 11));
        Assert.Equal(a.ChildStart, b.ChildStart);
        Assert.Equal(a.Children, b.Children);
        Assert.Equal(a.Centroids, b.Centroids);
        if (strategy == TreeStrategy.TopDown)
        {
            var c = TreeBuilder.Build(vectors, new TreeOptions(strategy, 8, 12));
            Assert.NotEqual(a.Children, c.Children); // the seed matters (k-means++ seeding)
        }
    }

    [Fact]
    public void ClustersGroupNearbyDocuments()
    {
        // two far-apart groups: top-down's first split separates them exactly; bottom-up's groups of documents are pure
        // (a size cap may join the last leftovers of two sides higher up, never many)
        var rng = new Random(3);
        var vectors = new float[400][];
        for (int i = 0; i < vectors.Length; i++)
            vectors[i] = TreeBuilder.Normalized([i < 200 ? 1f : -1f, (float)rng.NextDouble() * 0.1f, (float)rng.NextDouble() * 0.1f]);
        var topDown = Tree(vectors, new TreeOptions(TreeStrategy.TopDown, 2, 5));
        var sides = topDown.ChildrenOf(0).ToArray().Select(c => DocumentsUnder(topDown, c).Select(d => d < 200).Distinct().Single()).ToList();
        Assert.Equal([false, true], sides.Order());
        var bottomUp = Tree(vectors, new TreeOptions(TreeStrategy.BottomUp, 4, 5));
        int pure = 0, mixed = 0;
        for (int n = 0; n < bottomUp.NodeCount; n++)
        {
            var docs = bottomUp.ChildrenOf(n).ToArray().Where(c => c < 0).Select(c => ~c < 200).Distinct().Count();
            if (docs == 1) pure++; else if (docs == 2) mixed++;
        }
        Assert.True(mixed <= 1 && pure >= 100, $"{pure} pure, {mixed} mixed groups of documents");
    }

    [Fact]
    public void IdenticalVectorsStillMakeATree()
    {
        var vectors = Enumerable.Range(0, 250).Select(_ => new float[] { 1, 0, 0 }).ToArray();
        foreach (var strategy in new[] { TreeStrategy.TopDown, TreeStrategy.BottomUp })
            Tree(vectors, new TreeOptions(strategy, 4, 1)).Validate("identical");
    }

    [Fact]
    public void TheFileRoundTripsAndDamageIsNamed()
    {
        using var dir = new TempDir();
        var tree = Tree(Clustered(500, 16, 10, 4), new TreeOptions());
        string path = Path.Combine(dir.Path, "tree.1.lattice");
        tree.Write(path);
        var read = SemanticTree.Read(path);
        Assert.Equal(tree.DocIds, read.DocIds);
        Assert.Equal(tree.Children, read.Children);
        Assert.Equal(tree.Centroids, read.Centroids);
        Assert.Equal(tree.Summaries, read.Summaries);
        Assert.Equal(tree.Height(), read.Height());
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<CorruptIndexException>(() => SemanticTree.Read(path));
        Assert.Contains("tree.1.lattice", e.Message);
        Assert.Contains("checksum", e.Message);
    }

    internal static List<int> DocumentsUnder(SemanticTree tree, int reference)
    {
        if (reference < 0) return [~reference];
        var list = new List<int>();
        foreach (int c in tree.ChildrenOf(reference)) list.AddRange(DocumentsUnder(tree, c));
        return list;
    }
}
