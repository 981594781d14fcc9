using Relevo.Index.Formats.V1;

namespace Relevo.Index.Impacts;

/// <summary>Carries a segment's quantized impacts through merges: the merged segment's impact of a posting is the one
/// its source segment stored (the values depend on the statistics when they were built, not on the segment). Impacts
/// are not written for newly added documents: BM25 impacts depend on the whole collection's statistics, as in PISA's
/// static indexes, so documents added later need `relevo index --impacts` again (until then `bm25` scores exactly, and
/// `impact` refuses, naming the segment); a pre-encoded index takes no writes of text.</summary>
internal sealed class ImpactComponent : SegmentComponent
{
    public static readonly ImpactComponent Instance = new();

    public override string Name => ImpactView.Component;

    public override IReadOnlyList<ComponentData> Merge(string directory, string mergedSegment,
        IReadOnlyList<(SegmentEntry Entry, SegmentReader Reader)> sources, MergeContext context)
    {
        var keys = SegmentEntry.CommonComponents(LiveSources(sources).Select(s => s.Entry));
        var result = new List<ComponentData>();
        if (keys is null) return result;
        int maxDoc = 0;
        foreach (var (_, r) in sources) maxDoc += r.LiveDocs;
        foreach (var data in keys)
        {
            if (data.Component != Name) continue;
            var opened = new List<(SegmentReader, ImpactFile)>();
            try
            {
                foreach (var (entry, reader) in LiveSources(sources))
                    opened.Add((reader, ImpactFile.Open(Path.Combine(directory, entry.Component(Name, data.Key)!.Files[0]), reader)));
                // impacts computed under other statistics do not mix: the merged segment goes without (bm25 then
                // scores exactly until `relevo index --impacts` rebuilds them), as with data not every source has
                if (opened.Exists(o => o.Item2.Settings != opened[0].Item2.Settings)) continue;
                string file = ImpactFile.FileName(mergedSegment, data.Key, 0);
                using (var merged = new V1SegmentReader(directory, mergedSegment, new DeletedDocs(maxDoc)))
                    ImpactFile.WriteMerged(Path.Combine(directory, file), merged, opened, context.Cancellation);
                result.Add(new ComponentData(Name, data.Key, [file]));
            }
            finally
            {
                foreach (var (_, f) in opened) f.Dispose();
            }
        }
        return result;
    }

    /// <summary>New documents change the collection's statistics, so BM25 impacts of every segment are stale after
    /// any write: the new segment goes without (bm25 scores exactly until `relevo index --impacts bm25` rebuilds them).
    /// Pre-encoded weights cannot come from a write of text: the write is refused.</summary>
    public override ComponentData? Complete(string directory, SegmentEntry segment, SegmentReader reader, ComponentTemplate template, ServiceSet services) =>
        template.Key == ImpactSettings.KeyOf(ImpactModel.Bm25)
            ? null
            : throw new RelevoException($"the index holds pre-encoded '{template.Key}' impacts (a learned sparse corpus), whose documents " +
                                       "come with their term weights: build a new index with `relevo index --vectors`");
}
