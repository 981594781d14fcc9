namespace Relevo.Index;

/// <summary>A committed segment's data that a new segment should get too, the folder its files are in (the
/// index's own, or a sibling shard's), and the name of the index's analyzer.</summary>
internal readonly record struct ComponentTemplate(ComponentData Data, string Directory, string Analyzer)
{
    public string Key => Data.Key;

    /// <summary>The writer's schema of typed fields (doc values are written by it).</summary>
    public Values.Schema? Schema { get; init; }
}

/// <summary>What a merge may spend on a component's data: threads, and a token that a closing server cancels (the
/// merge is then abandoned, its files removed as in no commit).</summary>
internal readonly record struct MergeContext(int Threads, CancellationToken Cancellation = default)
{
    /// <summary>Every core, not cancellable: a merge the caller waits for (`relevo optimize`, a commit's log merge).</summary>
    public static MergeContext Foreground(int threads = 0) => new(threads > 0 ? threads : Environment.ProcessorCount);
}

/// <summary>Data a segment carries beside its postings, written by an extension (the dense extension's vectors; an
/// ANN graph or impacts later) and committed with the segment: its files are named in the manifest
/// (<see cref="SegmentEntry.Components"/>), so every writer keeps them. A writer knows the components registered with
/// it (<see cref="IndexWriterOptions.Components"/>) and asks them to carry their data through merges.</summary>
internal abstract class SegmentComponent
{
    /// <summary>The name the manifest records the data under (e.g. "vectors").</summary>
    public abstract string Name { get; }

    /// <summary>When this component's data is written in a merge or for new documents, relative to the others (lower
    /// first): data computed from another component's (positions from a field's postings) comes after it.</summary>
    public virtual int Order => 0;

    /// <summary>Writes (and fsyncs) the merged segment's data for this component from the source segments, in the
    /// merged numbering: the sources' live documents in order, deleted ones dropped (each source's
    /// <see cref="SegmentReader.Deletes"/> are the deletions the merge applies). Returns the data the merged segment
    /// has; data that not every source with live documents has is dropped.</summary>
    public abstract IReadOnlyList<ComponentData> Merge(string directory, string mergedSegment,
        IReadOnlyList<(SegmentEntry Entry, SegmentReader Reader)> sources, MergeContext context);

    /// <summary>The sources of a merge that still have live documents (a source whose documents were all deleted
    /// contributes nothing and may lack the data).</summary>
    protected static List<(SegmentEntry Entry, SegmentReader Reader)> LiveSources(IReadOnlyList<(SegmentEntry Entry, SegmentReader Reader)> sources)
    {
        var live = new List<(SegmentEntry Entry, SegmentReader Reader)>(sources.Count);
        foreach (var s in sources)
            if (s.Reader.LiveDocs > 0) live.Add(s);
        return live;
    }

    /// <summary>Writes (and fsyncs) this component's data for a segment of newly added documents, because every other
    /// segment of the index has it (a served index with a model's vectors embeds what a write adds, so dense search
    /// keeps working); <paramref name="template"/> is a committed segment's data (its key, and files the component may
    /// read its settings from, in the template's folder). Returns null when the data is not carried to new documents (the
    /// new segment goes without it, and whoever reads the data must cope: quantized BM25 impacts, which any write makes
    /// stale). Throws a <see cref="RelevoException"/> saying why it cannot; the write is then refused. By default a
    /// component cannot.</summary>
    public virtual ComponentData? Complete(string directory, SegmentEntry segment, SegmentReader reader, ComponentTemplate template, ServiceSet services) =>
        throw new RelevoException($"the index's segments hold '{Name}' data for '{template.Key}', which this program cannot write for new documents " +
                                  "(the extension that wrote it is not loaded)");
}
