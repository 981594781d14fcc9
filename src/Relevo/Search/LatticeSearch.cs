using Relevo.Index.Trees;

namespace Relevo.Search;

/// <summary>Scores items of a semantic tree for one query: internal nodes (references ≥ 0, read by their summary or
/// centroid) and documents (~d). Local scores are in [0, 1]; NaN where the scorer gave none.</summary>
internal interface ILatticeNavigator
{
    /// <summary>True when scores from different calls are not on one scale (an LLM judging each list in context), so
    /// the search calibrates each call against anchors scored before; false for embedding similarity.</summary>
    bool NeedsCalibration { get; }

    ValueTask<double[]> ScoreAsync(IReadOnlyList<int> items, CancellationToken cancellation);
}

/// <summary>How a LATTICE search runs: the global beam (frontier nodes expanded per round), the weight of a parent's
/// path relevance in its children's (alpha), the most rounds, and how many earlier-scored items join each call as
/// calibration anchors.</summary>
internal sealed record LatticeOptions(int Beam = 4, double Alpha = 0.5, int Rounds = 0, int Anchors = 2)
{
    public const int MaxBeam = 64, MaxRounds = 200;
}

/// <summary>What a search did: the documents reached with their path relevance (best first), the scorer calls and
/// rounds it took.</summary>
internal sealed record LatticeResult(IReadOnlyList<(int Doc, double Score)> Documents, int Calls, int Rounds, int ItemsScored);

/// <summary>LLM-guided hierarchical retrieval over a semantic tree (LATTICE). Each round expands the <c>beam</c>
/// unexpanded nodes of best path relevance, one scorer call per node over its children (plus anchors). A call's local
/// scores are calibrated onto the global scale: the anchors — items scored in earlier rounds under other parents —
/// are scored again, and the mean difference between their earlier calibrated scores and their new local ones shifts
/// the whole call (noisy, context-dependent local judgements → comparable estimates). A child's path relevance is
/// <c>alpha · parent's + (1 − alpha) · its calibrated score</c>; documents reached are ranked by theirs. The search
/// stops when no node is left, after <c>rounds</c> rounds (default: twice the tree's height plus the rounds that
/// <c>depth</c> documents need), or when <c>depth</c> documents are found and no unexpanded node could still place a
/// child above the depth-th.</summary>
internal static class LatticeSearch
{
    public static async ValueTask<LatticeResult> RunAsync(TreeReader view, ILatticeNavigator navigator, LatticeOptions options,
        int depth, CancellationToken cancellation)
    {
        var tree = view.Tree;
        double alpha = options.Alpha;
        int rounds = options.Rounds > 0 ? options.Rounds
            : Math.Min(LatticeOptions.MaxRounds, 2 * tree.Height() + (depth + options.Beam * tree.Branching - 1) / (options.Beam * tree.Branching));
        var path = new double[tree.NodeCount];
        path[0] = 1;
        // unexpanded nodes by path relevance (ties: lower node number first)
        var frontier = new PriorityQueue<int, (double, int)>(Comparer<(double Score, int Node)>.Create((a, b) =>
            a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Node.CompareTo(b.Node)));
        var found = new List<(int Doc, double Score)>();
        var scored = new List<(int Item, int Parent, double Calibrated)>(); // for anchors
        int calls = 0, items = 0, round = 0;
        var expand = new List<int> { 0 };
        for (; round < rounds && expand.Count > 0; round++)
        {
            cancellation.ThrowIfCancellationRequested();
            var lists = new List<int>[expand.Count];
            var anchorLists = new List<(int Item, double Calibrated)>[expand.Count];
            var pending = new ValueTask<double[]>[expand.Count];
            for (int e = 0; e < expand.Count; e++)
            {
                var list = lists[e] = [];
                foreach (int c in tree.ChildrenOf(expand[e]))
                    if (c >= 0 || view.Segment[~c] >= 0) list.Add(c);
                anchorLists[e] = navigator.NeedsCalibration ? Anchors(scored, expand[e], options.Anchors) : [];
                var ask = new List<int>(list);
                foreach (var a in anchorLists[e]) ask.Add(a.Item);
                items += ask.Count;
                pending[e] = ask.Count == 0 ? ValueTask.FromResult(Array.Empty<double>()) : navigator.ScoreAsync(ask, cancellation);
                if (ask.Count > 0) calls++;
            }
            for (int e = 0; e < expand.Count; e++)
            {
                var local = await pending[e].ConfigureAwait(false);
                var list = lists[e];
                var anchors = anchorLists[e];
                double shift = 0;
                int n = 0;
                for (int a = 0; a < anchors.Count; a++)
                {
                    double v = local[list.Count + a];
                    if (double.IsNaN(v)) continue;
                    shift += anchors[a].Calibrated - v;
                    n++;
                }
                if (n > 0) shift /= n;
                double parentPath = path[expand[e]];
                for (int i = 0; i < list.Count; i++)
                {
                    double cal = double.IsNaN(local[i]) ? 0 : Math.Clamp(local[i] + shift, 0, 1);
                    double p = alpha * parentPath + (1 - alpha) * cal;
                    int c = list[i];
                    scored.Add((c, expand[e], cal));
                    if (c >= 0)
                    {
                        path[c] = p;
                        frontier.Enqueue(c, (p, c));
                    }
                    else found.Add((~c, p));
                }
            }
            expand.Clear();
            if (found.Count >= depth && frontier.TryPeek(out _, out var best))
            {
                // a child of a node with path p scores at most alpha·p + (1 − alpha)
                double bound = alpha * best.Item1 + (1 - alpha);
                if (bound < KthBest(found, depth)) break;
            }
            while (expand.Count < options.Beam && frontier.TryDequeue(out int node, out _)) expand.Add(node);
        }
        found.Sort((a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Doc.CompareTo(b.Doc));
        if (found.Count > depth) found.RemoveRange(depth, found.Count - depth);
        return new LatticeResult(found, calls, round, items);
    }

    /// <summary>The best-calibrated items scored under other parents, at most <paramref name="count"/>: the best one
    /// and the one at the middle of the scores (so the shift is fitted on more than the top).</summary>
    private static List<(int Item, double Calibrated)> Anchors(List<(int Item, int Parent, double Calibrated)> scored, int parent, int count)
    {
        var others = new List<(int Item, double Calibrated)>();
        foreach (var s in scored)
            if (s.Parent != parent && s.Item != parent) others.Add((s.Item, s.Calibrated));
        if (others.Count == 0 || count == 0) return [];
        others.Sort((a, b) => a.Calibrated != b.Calibrated ? b.Calibrated.CompareTo(a.Calibrated) : a.Item.CompareTo(b.Item));
        var result = new List<(int, double)> { others[0] };
        for (int k = 1; k < count && k < others.Count; k++)
        {
            var pick = others[k * others.Count / count];
            if (!result.Contains(pick)) result.Add(pick);
        }
        return result;
    }

    private static double KthBest(List<(int Doc, double Score)> found, int k)
    {
        var scores = new double[found.Count];
        for (int i = 0; i < scores.Length; i++) scores[i] = -found[i].Score;
        Array.Sort(scores);
        return -scores[k - 1];
    }
}
