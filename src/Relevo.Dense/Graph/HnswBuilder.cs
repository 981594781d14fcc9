using System.Runtime.InteropServices;

namespace Relevo.Dense;

/// <summary>An HNSW graph in memory, as built: what <see cref="HnswFile.Write"/> stores. The arrays are pinned, so
/// <see cref="Links"/> can point into them.</summary>
internal sealed unsafe class HnswGraphData
{
    public required int Count { get; init; }
    public required int Dimensions { get; init; }
    public required HnswParameters Parameters { get; init; }
    public int Entry { get; set; } = -1;
    public int MaxLevel { get; set; } = -1;
    /// <summary>Per node: its top layer, −1 when the node is not in the graph.</summary>
    public required sbyte[] Levels { get; init; }
    /// <summary>Per node: the first upper slot of its layer-1 list, −1 when its level is 0 or it is not in the graph.</summary>
    public required int[] UpperOffset { get; init; }
    public required int[] Level0 { get; init; }
    public required int[] Upper { get; init; }
    /// <summary>Upper-layer lists in <see cref="Upper"/> (its length is at least one, for a pinned address).</summary>
    public required long UpperSlots { get; init; }

    public HnswLinks Links => new(
        (int*)Marshal.UnsafeAddrOfPinnedArrayElement(Level0, 0),
        (int*)Marshal.UnsafeAddrOfPinnedArrayElement(Upper, 0),
        (int*)Marshal.UnsafeAddrOfPinnedArrayElement(UpperOffset, 0),
        (sbyte*)Marshal.UnsafeAddrOfPinnedArrayElement(Levels, 0),
        Count, Parameters.M);

    /// <summary>Pinned arrays (on the pinned object heap) that the graph's pointers may address; never empty, so
    /// element 0 always has an address.</summary>
    public static T[] Pinned<T>(long length) where T : unmanaged =>
        length > Array.MaxLength
            ? throw new RelevoException($"an HNSW graph of this size ({length:N0} slots) is more than one segment can hold; use more segments")
            : GC.AllocateArray<T>((int)Math.Max(1, length), pinned: true);
}

/// <summary>A graph a merged graph starts from: a source segment's graph, its node 0 at <see cref="Offset"/>.</summary>
internal readonly record struct HnswSeed(HnswGraph Graph, int Offset);

/// <summary>Builds an HNSW graph (Malkov &amp; Yashunin) over one segment's vectors, with the neighbour-selection
/// heuristic of their algorithm 4. Deterministic for any thread count: nodes are inserted in doc-number order in
/// batches; within a batch every node searches the graph as it stood before the batch (in parallel, read-only), then
/// each node's own lists are written, then the reverse links are added target by target (in parallel, each target's
/// new links in source order, pruned by the same heuristic when a list overflows). Batches are small against the
/// graph (1/<see cref="BatchDivisor"/> of it, at most <see cref="MaxBatch"/>), so a node rarely misses a neighbour
/// inserted in its own batch. Levels come from a hash of the doc number, so the same vectors give the same file.</summary>
internal static unsafe class HnswBuilder
{
    public const int BatchDivisor = 32;
    public const int MaxBatch = 1024;
    public const int MaxLevel = 16;
    private const ulong LevelSeed = 0x52454C45564F484E; // "RELEVOHN"

    /// <param name="rows">count × dims float32 rows (unit vectors for cosine).</param>
    /// <param name="include">Which rows become nodes (null: all); the rest (deleted documents) are left out.</param>
    /// <param name="progress">Called with the number of nodes inserted so far.</param>
    public static HnswGraphData Build(float[] rows, int dims, int count, HnswParameters parameters, Func<int, bool>? include = null,
        int threads = 1, Action<int>? progress = null, CancellationToken cancellation = default)
    {
        if ((long)count * dims > rows.Length) throw new ArgumentException("rows holds fewer than count × dims floats", nameof(rows));
        fixed (float* p = rows) return Build(p, dims, count, parameters, include, threads, progress, cancellation);
    }

    /// <summary>As above, over rows the caller keeps in place (a mapped vector file) until this returns. With a
    /// <paramref name="seed"/> (a merge's largest source, which had no deletions), the seed graph's nodes and links are
    /// taken as they are, shifted by its offset, and only the other nodes are inserted (Lucene's merge-insert).</summary>
    public static HnswGraphData Build(float* rows, int dims, int count, HnswParameters parameters, Func<int, bool>? include = null,
        int threads = 1, Action<int>? progress = null, CancellationToken cancellation = default, HnswSeed? seed = null)
    {
        parameters = parameters.Validated();
        int m = parameters.M, m0 = parameters.M0;
        if (seed is { } sd && (sd.Graph.Parameters.M != m || sd.Offset < 0 || (long)sd.Offset + sd.Graph.Count > count || sd.Graph.Dimensions != dims))
            throw new ArgumentException("the seed graph does not fit this graph", nameof(seed));
        int seedFrom = seed?.Offset ?? 0, seedTo = seed is { } s1 ? s1.Offset + s1.Graph.Count : 0;
        var levels = HnswGraphData.Pinned<sbyte>(count);
        var upperOffset = HnswGraphData.Pinned<int>(count);
        var nodes = new List<int>(count);
        double ml = 1 / Math.Log(m);
        long upperSlots = 0;
        for (int i = 0; i < count; i++)
        {
            bool seeded = i >= seedFrom && i < seedTo;
            if (seeded ? seed!.Value.Graph.LevelOf(i - seedFrom) < 0 : include is not null && !include(i))
            {
                levels[i] = -1;
                upperOffset[i] = -1;
                continue;
            }
            int level = seeded ? seed!.Value.Graph.LevelOf(i - seedFrom) : LevelOf(i, ml);
            levels[i] = (sbyte)level;
            upperOffset[i] = level == 0 ? -1 : checked((int)upperSlots);
            upperSlots += level;
            if (!seeded) nodes.Add(i);
        }
        var graph = new HnswGraphData
        {
            Count = count, Dimensions = dims, Parameters = parameters, Levels = levels, UpperOffset = upperOffset,
            Level0 = HnswGraphData.Pinned<int>((long)count * (m0 + 1)),
            Upper = HnswGraphData.Pinned<int>(upperSlots * (m + 1)),
            UpperSlots = upperSlots,
        };
        int start = 0;
        if (seed is { } s2 && s2.Graph.Entry >= 0)
        {
            CopySeed(graph, s2);
            graph.Entry = s2.Graph.Entry + s2.Offset;
            graph.MaxLevel = s2.Graph.MaxLevel;
        }
        else if (nodes.Count > 0)
        {
            graph.Entry = nodes[0];
            graph.MaxLevel = levels[nodes[0]];
            start = 1;
        }
        if (nodes.Count > start) new Run(graph, rows, Math.Max(1, threads), cancellation).Insert(nodes, start, seedTo - seedFrom, progress);
        return graph;
    }

    /// <summary>The seed graph's lists, every neighbour shifted by the seed's offset.</summary>
    private static void CopySeed(HnswGraphData graph, HnswSeed seed)
    {
        var from = seed.Graph.Links;
        var to = graph.Links;
        for (int node = 0; node < seed.Graph.Count; node++)
        {
            int level = from.Levels[node];
            for (int l = 0; l <= level; l++)
            {
                int* src = from.Slot(node, l);
                int* dst = to.Slot(node + seed.Offset, l);
                int n = *src;
                *dst = n;
                for (int i = 1; i <= n; i++) dst[i] = src[i] + seed.Offset;
            }
        }
    }

    /// <summary>A node's top layer: ⌊−ln(u) · mL⌋ with u from a hash of the doc number (uniform in (0, 1]).</summary>
    private static int LevelOf(int node, double ml)
    {
        ulong z = LevelSeed + (ulong)node * 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        double u = ((z >> 11) + 1) * (1.0 / (1UL << 53));
        return Math.Min(MaxLevel, (int)(-Math.Log(u) * ml));
    }

    /// <summary>A link a batch adds to an older node's list.</summary>
    private readonly record struct ReverseLink(int Target, int Level, int Source, float Score) : IComparable<ReverseLink>
    {
        public int CompareTo(ReverseLink other)
        {
            int c = Target.CompareTo(other.Target);
            if (c != 0) return c;
            c = Level.CompareTo(other.Level);
            return c != 0 ? c : Source.CompareTo(other.Source);
        }
    }

    private sealed class Run(HnswGraphData graph, float* rows, int threads, CancellationToken cancellation)
    {
        private readonly HnswLinks _links = graph.Links;
        // beside every list slot, the similarity of each neighbour to the list's node (NaN: not known, e.g. a seed
        // graph's links), so that a list that overflows is pruned without fetching its neighbours' vectors again
        private readonly float[] _level0Scores = Unknown((long)graph.Count * graph.Parameters.M0);
        private readonly float[] _upperScores = Unknown(graph.UpperSlots * graph.Parameters.M);
        private readonly int _dims = graph.Dimensions;
        private readonly int _m = graph.Parameters.M;
        private readonly int _ef = graph.Parameters.EfConstruction;
        private readonly ParallelOptions _parallel = new() { MaxDegreeOfParallelism = threads, CancellationToken = cancellation };

        // per batch node: its proposed neighbours, level by level (M slots per level, from ProposalStart)
        private int[] _proposalStart = new int[MaxBatch + 1];
        private int[] _proposalIds = [];
        private float[] _proposalScores = [];
        private int[] _proposalCounts = [];

        /// <param name="pos">The first of <paramref name="nodes"/> not yet in the graph.</param>
        /// <param name="seeded">Nodes already in the graph besides nodes[..pos] (a merge's seed graph).</param>
        public void Insert(List<int> nodes, int pos, int seeded, Action<int>? progress)
        {
            progress?.Invoke(pos);
            while (pos < nodes.Count)
            {
                cancellation.ThrowIfCancellationRequested();
                int size = Math.Clamp((pos + seeded) / BatchDivisor, 1, MaxBatch);
                int end = Math.Min(nodes.Count, pos + size);
                int entry = graph.Entry, maxLevel = graph.MaxLevel;
                Prepare(nodes, pos, end, maxLevel);
                if (end - pos == 1 || threads == 1)
                    for (int b = pos; b < end; b++) Propose(nodes[b], b - pos, entry, maxLevel);
                else
                    Parallel.For(pos, end, _parallel, b => Propose(nodes[b], b - pos, entry, maxLevel));
                for (int b = pos; b < end; b++) Link(nodes[b], b - pos);
                AddReverseLinks(nodes, pos, end);
                for (int b = pos; b < end; b++)
                {
                    int level = graph.Levels[nodes[b]];
                    if (level > graph.MaxLevel)
                    {
                        graph.MaxLevel = level;
                        graph.Entry = nodes[b];
                    }
                }
                pos = end;
                progress?.Invoke(pos);
            }
        }

        private void Prepare(List<int> nodes, int pos, int end, int maxLevel)
        {
            int total = 0;
            for (int b = pos; b < end; b++)
            {
                _proposalStart[b - pos] = total;
                total += (Math.Min(graph.Levels[nodes[b]], maxLevel) + 1) * _m;
            }
            _proposalStart[end - pos] = total;
            if (_proposalIds.Length < total)
            {
                _proposalIds = new int[total * 2];
                _proposalScores = new float[total * 2];
            }
            int levelsTotal = total / _m;
            if (_proposalCounts.Length < levelsTotal) _proposalCounts = new int[levelsTotal * 2];
        }

        private FloatScorer ScorerOf(int node) => new(rows + (long)node * _dims, rows, _dims);

        private static float[] Unknown(long length)
        {
            var a = HnswGraphData.Pinned<float>(length);
            a.AsSpan().Fill(float.NaN);
            return a;
        }

        /// <summary>The stored similarities beside a node's list on a layer.</summary>
        private Span<float> ScoresOf(int node, int level) => level == 0
            ? _level0Scores.AsSpan((int)((long)node * 2 * _m), 2 * _m)
            : _upperScores.AsSpan((int)(((long)_links.UpperOffset[node] + level - 1) * _m), _m);

        /// <summary>Phase 1: the node's neighbours on each of its layers, found in the graph as it stood before the batch.</summary>
        private void Propose(int node, int index, int entry, int maxLevel)
        {
            var scratch = HnswScratch.ForThread();
            scratch.EnsureBuffers(Math.Max(_ef, 2 * _m) + 1);
            var scorer = ScorerOf(node);
            int top = graph.Levels[node];
            float score = scorer.Score(entry);
            for (int level = maxLevel; level > top; level--) HnswSearch.Greedy(_links, level, ref scorer, ref entry, ref score);
            int start = _proposalStart[index];
            for (int level = Math.Min(top, maxLevel); level >= 0; level--)
            {
                scratch.Begin(graph.Count);
                HnswSearch.Beam(_links, level, ref scorer, new AcceptAll(), _ef, entry, score, scratch);
                int n = scratch.Results.DrainDescending(scratch.Nodes, scratch.Scores);
                entry = scratch.Nodes[0];
                score = scratch.Scores[0];
                int at = start + level * _m;
                _proposalCounts[at / _m] = Select(scratch.Nodes, scratch.Scores, n, _m,
                    _proposalIds.AsSpan(at, _m), _proposalScores.AsSpan(at, _m));
            }
        }

        /// <summary>The heuristic of algorithm 4: candidates best first; one is kept unless it is closer to a kept
        /// neighbour than to the node (so the links point in different directions). Returns how many were kept.</summary>
        private int Select(int[] candidates, float[] scores, int n, int max, Span<int> keptIds, Span<float> keptScores)
        {
            int kept = 0;
            var prefetch = ScorerOf(0);
            if (n > 0) prefetch.Prefetch(candidates[0]);
            for (int i = 0; i < n && kept < max; i++)
            {
                int c = candidates[i];
                if (i + 1 < n) prefetch.Prefetch(candidates[i + 1]);
                var cs = ScorerOf(c);
                bool good = true;
                for (int j = 0; j < kept; j++)
                {
                    if (cs.Score(keptIds[j]) > scores[i])
                    {
                        good = false;
                        break;
                    }
                }
                if (!good) continue;
                keptIds[kept] = c;
                keptScores[kept] = scores[i];
                kept++;
            }
            return kept;
        }

        /// <summary>Phase 2a: the node's own lists.</summary>
        private void Link(int node, int index)
        {
            int start = _proposalStart[index];
            int levels = (_proposalStart[index + 1] - start) / _m;
            for (int level = 0; level < levels; level++)
            {
                int at = start + level * _m;
                int n = _proposalCounts[at / _m];
                int* slot = _links.Slot(node, level);
                var stored = ScoresOf(node, level);
                *slot = n;
                for (int i = 0; i < n; i++)
                {
                    slot[1 + i] = _proposalIds[at + i];
                    stored[i] = _proposalScores[at + i];
                }
            }
        }

        /// <summary>Phase 2b: each proposed neighbour links back, target by target.</summary>
        private void AddReverseLinks(List<int> nodes, int pos, int end)
        {
            var links = new List<ReverseLink>();
            for (int b = pos; b < end; b++)
            {
                int start = _proposalStart[b - pos];
                int levels = (_proposalStart[b - pos + 1] - start) / _m;
                for (int level = 0; level < levels; level++)
                {
                    int at = start + level * _m;
                    int n = _proposalCounts[at / _m];
                    for (int i = 0; i < n; i++) links.Add(new ReverseLink(_proposalIds[at + i], level, nodes[b], _proposalScores[at + i]));
                }
            }
            var all = CollectionsMarshal.AsSpan(links);
            all.Sort();
            var groups = new List<(int Start, int End)>();
            for (int i = 0; i < all.Length;)
            {
                int j = i + 1;
                while (j < all.Length && all[j].Target == all[i].Target && all[j].Level == all[i].Level) j++;
                groups.Add((i, j));
                i = j;
            }
            if (threads == 1 || groups.Count < 64)
                foreach (var g in groups) LinkBack(links, g.Start, g.End);
            else
                Parallel.ForEach(groups, _parallel, g => LinkBack(links, g.Start, g.End));
        }

        private void LinkBack(List<ReverseLink> links, int from, int to)
        {
            var first = links[from];
            int target = first.Target, level = first.Level;
            int max = _links.Capacity(level);
            int* slot = _links.Slot(target, level);
            var stored = ScoresOf(target, level);
            int have = *slot;
            int added = to - from;
            if (have + added <= max)
            {
                for (int i = 0; i < added; i++)
                {
                    slot[1 + have + i] = links[from + i].Source;
                    stored[have + i] = links[from + i].Score;
                }
                *slot = have + added;
                return;
            }
            // overflow: the existing and the new neighbours, best first, pruned by the heuristic
            var scratch = HnswScratch.ForThread();
            int n = have + added;
            scratch.EnsureBuffers(n);
            var ids = scratch.Nodes;
            var scores = scratch.Scores;
            var scorer = ScorerOf(target);
            for (int i = 0; i < have; i++)
            {
                ids[i] = slot[1 + i];
                scores[i] = float.IsNaN(stored[i]) ? scorer.Score(ids[i]) : stored[i];
            }
            for (int i = 0; i < added; i++)
            {
                ids[have + i] = links[from + i].Source;
                scores[have + i] = links[from + i].Score;
            }
            SortDescending(ids, scores, n);
            Span<int> kept = stackalloc int[max];
            Span<float> keptScores = stackalloc float[max];
            int k = Select(ids, scores, n, max, kept, keptScores);
            for (int i = 0; i < k; i++)
            {
                slot[1 + i] = kept[i];
                stored[i] = keptScores[i];
            }
            *slot = k;
        }

        /// <summary>Insertion sort by score, best first; ties by the smaller node (lists are short).</summary>
        private static void SortDescending(int[] ids, float[] scores, int n)
        {
            for (int i = 1; i < n; i++)
            {
                int id = ids[i];
                float s = scores[i];
                int j = i - 1;
                while (j >= 0 && (scores[j] < s || (scores[j] == s && ids[j] > id)))
                {
                    ids[j + 1] = ids[j];
                    scores[j + 1] = scores[j];
                    j--;
                }
                ids[j + 1] = id;
                scores[j + 1] = s;
            }
        }
    }
}
