using Relevo.Index;

namespace Relevo.Dense;

/// <summary>The "vectors" segment component: per segment and model, the float32 and int8 vector files
/// (<see cref="VectorFiles"/>) and, unless it was built without one, the HNSW graph over them
/// (<see cref="HnswFile"/>), named in the manifest under the model's name. Merges carry the rows of live documents
/// into the merged numbering (segments in order, deleted documents skipped, as the postings merge numbers them) and
/// build the merged segment's graph when any source had one; a model's vectors survive a merge only where every
/// merged segment with live documents has them.</summary>
internal sealed class VectorComponent : SegmentComponent
{
    public const string ComponentName = "vectors";
    public static readonly VectorComponent Instance = new();

    public override string Name => ComponentName;

    /// <summary>Whether a merge starts the merged graph from its largest source's graph (when that source lost no
    /// documents) instead of building it from scratch. Measured in docs/benchmarks.md; settable for that measurement.</summary>
    internal static bool MergeInsert { get; set; } = true;

    /// <summary>The manifest's record of a segment's vectors for a model, with or without a graph.</summary>
    public static ComponentData Data(string segment, string model, bool graph = false) =>
        new(ComponentName, model, graph
            ? [VectorFiles.FloatFile(segment, model), VectorFiles.Int8File(segment, model), HnswFile.FileName(segment, model)]
            : [VectorFiles.FloatFile(segment, model), VectorFiles.Int8File(segment, model)]);

    public override IReadOnlyList<ComponentData> Merge(string directory, string mergedSegment,
        IReadOnlyList<(SegmentEntry Entry, SegmentReader Reader)> sources, MergeContext context)
    {
        var models = new List<string>();
        foreach (var c in SegmentEntry.CommonComponents(sources.Where(s => s.Reader.LiveDocs > 0).Select(s => s.Entry)) ?? [])
            if (c.Component == ComponentName) models.Add(c.Key);
        var result = new List<ComponentData>(models.Count);
        foreach (string model in models)
        {
            int dims = -1;
            long live = 0;
            // the merged graph takes the parameters of the largest source that has one, and starts from that source's
            // graph when the source lost no documents (its nodes keep their links, shifted to where its documents land)
            HnswParameters? graph = null;
            (string File, int Count, int Offset)? seed = null;
            int graphSource = -1;
            foreach (var (entry, reader) in sources)
            {
                if (reader.LiveDocs == 0) continue;
                var data = entry.Component(ComponentName, model)!;
                if (reader.LiveDocs > graphSource && SegmentGraphs.ParametersOf(directory, data) is { } p)
                {
                    graph = p;
                    graphSource = reader.LiveDocs;
                    seed = MergeInsert && reader.Deletes.Count == 0 ? (SegmentGraphs.GraphFile(data)!, entry.MaxDoc, (int)live) : null;
                }
                live += reader.LiveDocs;
            }
            float[]? rows = null;
            long at = 0;
            foreach (var (entry, reader) in sources)
            {
                if (reader.LiveDocs == 0) continue;
                using var v = new SegmentVectors(directory, entry.Name, model, entry.MaxDoc, openInt8: false);
                if (dims < 0)
                {
                    dims = v.Dimensions;
                    rows = new float[checked(live * dims)];
                }
                else if (dims != v.Dimensions)
                    throw new Index.Formats.CorruptIndexException(Path.Combine(directory, VectorFiles.FloatFile(entry.Name, model)),
                        $"{v.Dimensions} dimensions where other segments have {dims}");
                for (int d = 0; d < entry.MaxDoc; d++)
                {
                    if (reader.IsDeleted(d)) continue;
                    v.Row(d).CopyTo(rows.AsSpan((int)at, dims));
                    at += dims;
                }
            }
            VectorFiles.Write(directory, mergedSegment, model, dims, rows);
            // the graph from the rows in hand (not from the file just written, which would be read and verified again)
            if (graph is { } parameters) SegmentGraphs.BuildMerged(directory, mergedSegment, model, rows!, dims, parameters, context, seed);
            result.Add(Data(mergedSegment, model, graph is not null));
        }
        return result;
    }

    /// <summary>A served index with a model's vectors embeds the documents a write adds, with the same model (through
    /// the embedding cache), in the same commit, and builds their graph with the parameters of the template's.</summary>
    public override ComponentData? Complete(string directory, SegmentEntry segment, SegmentReader reader, ComponentTemplate template, ServiceSet services)
    {
        string key = template.Key;
        var models = services.TryGet<DenseModels>()
            ?? throw new RelevoException($"the index holds '{key}' vectors, and new documents cannot be embedded here (no dense models)");
        EmbeddingModel model;
        try
        {
            model = models.Model(key);
        }
        catch (RelevoException e)
        {
            throw new RelevoException($"the index holds '{key}' vectors, so new documents must be embedded with that model, and it " +
                                      $"cannot be loaded here ({e.Message}); nothing was written", e);
        }
        DenseIndexer.Encode(directory, segment, reader, model, _ => { });
        var graph = SegmentGraphs.ParametersOf(template.Directory, template.Data);
        if (graph is { } parameters)
            SegmentGraphs.Build(directory, segment.Name, key, segment.MaxDoc, parameters, d => !reader.IsDeleted(d), Environment.ProcessorCount, null);
        return Data(segment.Name, key, graph is not null);
    }

    /// <summary>Whether every segment holds vectors for the model.</summary>
    public static bool Everywhere(IReadOnlyList<SegmentEntry> segments, string model)
    {
        foreach (var s in segments) if (s.Component(ComponentName, model) is null) return false;
        return true;
    }
}
