namespace Relevo.Index;

internal sealed record IndexWriterOptions
{
    /// <summary>Analyzer for a new index; an existing index keeps the one it was created with.</summary>
    public string Analyzer { get; init; } = "english";

    /// <summary>In-memory buffer size that triggers writing a segment (not a commit).</summary>
    public long RamBudgetBytes { get; init; } = 256L << 20;

    /// <summary>When true, adding a document whose id exists replaces it; otherwise a duplicate id is an error.</summary>
    public bool ReplaceExisting { get; init; }

    /// <summary>Commits other than the writer's own whose files must not be removed (a shard of a sharded index keeps
    /// the commit the cluster manifest names until the next cluster-wide commit replaces it).</summary>
    public Func<IReadOnlyList<Manifest>>? ProtectedCommits { get; init; }

    /// <summary>The segment components (vectors, ...) this writer carries through merges; a merge of segments that hold
    /// data of a component not listed here is refused rather than dropping it.</summary>
    public IReadOnlyList<SegmentComponent> Components { get; init; } = [];

    /// <summary>When segments merge by themselves at a commit (adjacent ones, a level at a time); null: only when asked
    /// (<see cref="IndexWriter.ForceMerge"/>, <see cref="IndexWriter.MergeNewSegments"/>).</summary>
    public MergePolicy? MergePolicy { get; init; }

    /// <summary>Threads a merge may use for the components' data (an HNSW graph); 0: one per core.</summary>
    public int Threads { get; init; }

    /// <summary>Test hook: called at each commit stage (crash-safety tests kill the process there).</summary>
    public Action<string>? CommitStage { get; init; }
}
