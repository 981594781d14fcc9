using Relevo.Index.Trees;
using Relevo.Search;

namespace Relevo.Tests.Trees;

/// <summary>LATTICE's beam search over a synthetic tree, with navigators that know the answer: an oracle finds every
/// relevant document when the beam holds every branch that leads to one, in a number of calls that grows with the
/// tree's height; calibration against anchors undoes a per-call shift of the scores.</summary>
public sealed class LatticeSearchTests
{
    /// <summary>Scores 1 for an item with a relevant document under it (or a relevant document), else 0; plus a shift
    /// per call (after the first) that a context-dependent judge might add.</summary>
    private sealed class OracleNavigator(SemanticTree tree, HashSet<int> relevant, Func<int, double>? shift = null, double noise = 0, int seed = 0)
        : ILatticeNavigator
    {
        private readonly Random _rng = new(seed);
        public int Calls { get; private set; }
        public List<IReadOnlyList<int>> Lists { get; } = [];
        public bool NeedsCalibration => true;

        public ValueTask<double[]> ScoreAsync(IReadOnlyList<int> items, CancellationToken cancellation)
        {
            double s = shift?.Invoke(Calls) ?? 0;
            Calls++;
            Lists.Add(items);
            var scores = new double[items.Count];
            for (int i = 0; i < items.Count; i++)
            {
                double truth = TreeBuilderTests.DocumentsUnder(tree, items[i]).Count(relevant.Contains) > 0 ? 0.7 : 0.3;
                scores[i] = truth + s + (noise > 0 ? (_rng.NextDouble() - 0.5) * noise : 0);
            }
            return ValueTask.FromResult(scores);
        }
    }

    private static readonly float[][] Vectors = TreeBuilderTests.Clustered(4000, 16, 60, 9);

    [Theory]
    [InlineData("top-down")]
    [InlineData("bottom-up")]
    public async Task AnOracleFindsEveryRelevantDocumentWithinTheBeam(string strategyName)
    {
        var strategy = TreeBuilderTests.Strategy(strategyName);
        var tree = TreeBuilderTests.Tree(Vectors, new TreeOptions(strategy, 10, 1));
        var view = new TreeReader(tree);
        var rng = new Random(5);
        for (int q = 0; q < 20; q++)
        {
            var relevant = new HashSet<int>(Enumerable.Range(0, 1 + q % 4).Select(_ => rng.Next(Vectors.Length)));
            var navigator = new OracleNavigator(tree, relevant);
            var result = await LatticeSearch.RunAsync(view, navigator, new LatticeOptions(Beam: relevant.Count), 100, CancellationToken.None);
            var top = result.Documents.Take(relevant.Count).Select(d => d.Doc).ToHashSet();
            Assert.True(relevant.SetEquals(top), $"query {q}: relevant {string.Join(",", relevant)} not all at the top");
            // one call per expanded node: the relevant branches at each level, then the nodes the depth needs
            Assert.True(result.Calls <= relevant.Count * result.Rounds, $"{result.Calls} calls in {result.Rounds} rounds");
        }
    }

    [Fact]
    public async Task CallsGrowWithTheTreesHeightNotItsSize()
    {
        var calls = new List<double>();
        foreach (int n in new[] { 1000, 10000 })
        {
            var tree = TreeBuilderTests.Tree(TreeBuilderTests.Clustered(n, 16, 60, 10), new TreeOptions(TreeStrategy.TopDown, 10, 1));
            var rng = new Random(6);
            double total = 0;
            for (int q = 0; q < 10; q++)
            {
                var navigator = new OracleNavigator(tree, [rng.Next(n)]);
                var r = await LatticeSearch.RunAsync(new TreeReader(tree), navigator, new LatticeOptions(Beam: 2), 10, CancellationToken.None);
                total += r.Calls;
            }
            calls.Add(total / 10);
        }
        // ten times the documents: about one more level, so a few more calls, far from ten times as many
        Assert.True(calls[1] < calls[0] * 2, $"calls per query {calls[0]:F1} (1k) vs {calls[1]:F1} (10k)");
    }

    [Fact]
    public async Task AnchorsCalibrateAPerCallShift()
    {
        var tree = TreeBuilderTests.Tree(Vectors, new TreeOptions(TreeStrategy.TopDown, 10, 1));
        var view = new TreeReader(tree);
        var relevant = new HashSet<int> { 17, 900, 2500 };
        var clean = await LatticeSearch.RunAsync(view, new OracleNavigator(tree, relevant), new LatticeOptions(Beam: 3), 60, CancellationToken.None);
        // every call after the first is shifted by up to ±0.25 (the first sets the scale)
        var shifts = new Random(8);
        var table = Enumerable.Range(0, 1000).Select(i => i == 0 ? 0 : (shifts.NextDouble() - 0.5) * 0.5).ToArray();
        var anchored = new OracleNavigator(tree, relevant, c => table[c]);
        var calibrated = await LatticeSearch.RunAsync(view, anchored, new LatticeOptions(Beam: 3), 60, CancellationToken.None);
        // the same scores (to rounding, which may reorder exact ties among the non-relevant) and the relevant on top
        Assert.Equal(clean.Documents.Count, calibrated.Documents.Count);
        for (int i = 0; i < clean.Documents.Count; i++) Assert.Equal(clean.Documents[i].Score, calibrated.Documents[i].Score, 9);
        Assert.True(relevant.SetEquals(calibrated.Documents.Take(relevant.Count).Select(d => d.Doc)));
        // the anchors are items scored before under other parents, judged again in the same list
        Assert.Contains(anchored.Lists.Skip(1), list => list.Count > tree.ChildrenOf(0).Length);
        var uncalibrated = await LatticeSearch.RunAsync(view, new OracleNavigator(tree, relevant, c => table[c]),
            new LatticeOptions(Beam: 3, Anchors: 0), 60, CancellationToken.None);
        Assert.NotEqual(clean.Documents.Select(d => d.Score), uncalibrated.Documents.Select(d => d.Score));
    }
}
