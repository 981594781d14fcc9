namespace Relevo.Index.Trees;

/// <summary>One commit's semantic tree, opened once per reader: the tree, where each of its documents lives in this
/// commit (segment and number; -1 where it was deleted since the build) and how stale it is.</summary>
internal sealed class TreeReader
{
    private const string CacheKey = "tree:lattice";

    public SemanticTree Tree { get; }
    /// <summary>Segment of tree document d in this commit, -1 where deleted.</summary>
    public int[] Segment { get; }
    /// <summary>Document number of tree document d within <see cref="Segment"/>.</summary>
    public int[] Doc { get; }
    /// <summary>Tree documents deleted since the build (skipped when reached).</summary>
    public int Deleted { get; }
    /// <summary>Live documents the tree does not hold (added since the build): no navigation reaches them.</summary>
    public int Uncovered { get; }
    /// <summary>The commit this view is of.</summary>
    public long Generation { get; }

    public bool IsStale => Deleted > 0 || Uncovered > 0;

    private TreeReader(SemanticTree tree, IndexReader reader)
    {
        Tree = tree;
        Generation = reader.Manifest.Generation;
        Segment = new int[tree.DocIds.Length];
        Doc = new int[tree.DocIds.Length];
        int covered = 0, deleted = 0;
        for (int d = 0; d < tree.DocIds.Length; d++)
        {
            Segment[d] = -1;
            for (int s = 0; s < reader.Segments.Count; s++)
            {
                int doc = reader.Segments[s].FindId(tree.DocIds[d]);
                if (doc < 0 || reader.Segments[s].IsDeleted(doc)) continue;
                Segment[d] = s;
                Doc[d] = doc;
                break;
            }
            if (Segment[d] < 0) deleted++; else covered++;
        }
        Deleted = deleted;
        Uncovered = reader.LiveDocs - covered;
    }

    /// <summary>A tree on its own, every document live (segment 0, numbered as in the tree): for measuring navigation
    /// over synthetic trees without an index.</summary>
    internal TreeReader(SemanticTree tree)
    {
        Tree = tree;
        Segment = new int[tree.DocIds.Length];
        Doc = new int[tree.DocIds.Length];
        for (int d = 0; d < Doc.Length; d++) Doc[d] = d;
    }

    /// <summary>The tree of the reader's commit, opened on first use and shared by its searches; null when the index
    /// has none.</summary>
    public static TreeReader? For(IndexReader reader)
    {
        if (reader.Manifest.IndexComponent(SemanticTree.ComponentName) is not { } data) return null;
        return reader.Component(CacheKey, r => new TreeReader(SemanticTree.Read(Path.Combine(r.Directory, data.Files[0])), r));
    }

    /// <summary>A line for <c>relevo tree status</c> and errors: built from which commit, how stale.</summary>
    public string Describe() =>
        $"{Tree.Strategy switch { TreeStrategy.TopDown => "top-down", _ => "bottom-up" }} tree over {Tree.DocIds.Length:N0} documents " +
        $"({Tree.NodeCount:N0} nodes, branching {Tree.Branching}, height {Tree.Height()}, model {Tree.Model}, " +
        $"{(Tree.LlmSummaries ? "LLM" : "extractive")} summaries), built at commit {Tree.Generation}; this commit ({Generation}): " +
        (IsStale ? $"stale — {Uncovered:N0} live document(s) not in the tree, {Deleted:N0} tree document(s) deleted" : "up to date");
}
