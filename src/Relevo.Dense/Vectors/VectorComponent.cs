using Relevo.Index;

namespace Relevo.Dense;

/// <summary>The "vectors" segment component: per segment and model, the float32 and int8 vector files
/// (<see cref="VectorFiles"/>), named in the manifest under the model's name. Merges carry the rows of live documents
/// into the merged numbering (segments in order, deleted documents skipped, as the postings merge numbers them); a
/// model's vectors survive a merge only where every merged segment with live documents has them.</summary>
internal sealed class VectorComponent : SegmentComponent
{
    public const string ComponentName = "vectors";
    public static readonly VectorComponent Instance = new();

    public override string Name => ComponentName;

    /// <summary>The manifest's record of a segment's vectors for a model.</summary>
    public static ComponentData Data(string segment, string model) =>
        new(ComponentName, model, [VectorFiles.FloatFile(segment, model), VectorFiles.Int8File(segment, model)]);

    public override IReadOnlyList<ComponentData> Merge(string directory, string mergedSegment,
        IReadOnlyList<(SegmentEntry Entry, SegmentReader Reader)> sources)
    {
        var models = new List<string>();
        bool first = true;
        foreach (var (entry, reader) in sources)
        {
            if (reader.LiveDocs == 0) continue;
            var mine = entry.Components.Where(c => c.Component == ComponentName).Select(c => c.Key).ToList();
            if (first) { models.AddRange(mine); first = false; continue; }
            models.RemoveAll(m => !mine.Contains(m));
        }
        var result = new List<ComponentData>(models.Count);
        foreach (string model in models)
        {
            int dims = -1;
            var rows = new List<float>();
            foreach (var (entry, reader) in sources)
            {
                if (reader.LiveDocs == 0) continue;
                using var v = new SegmentVectors(directory, entry.Name, model, entry.MaxDoc, openInt8: false);
                if (dims < 0) dims = v.Dimensions;
                else if (dims != v.Dimensions)
                    throw new Index.Formats.CorruptIndexException(Path.Combine(directory, VectorFiles.FloatFile(entry.Name, model)),
                        $"{v.Dimensions} dimensions where other segments have {dims}");
                for (int d = 0; d < entry.MaxDoc; d++)
                    if (!reader.IsDeleted(d)) rows.AddRange(v.Row(d));
            }
            VectorFiles.Write(directory, mergedSegment, model, dims, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(rows));
            result.Add(Data(mergedSegment, model));
        }
        return result;
    }

    /// <summary>A served index with a model's vectors embeds the documents a write adds, with the same model (through
    /// the embedding cache), in the same commit.</summary>
    public override ComponentData Complete(string directory, SegmentEntry segment, SegmentReader reader, string key, ServiceSet services)
    {
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
        return Data(segment.Name, key);
    }

    /// <summary>Whether every segment holds vectors for the model.</summary>
    public static bool Everywhere(IReadOnlyList<SegmentEntry> segments, string model)
    {
        foreach (var s in segments) if (s.Component(ComponentName, model) is null) return false;
        return true;
    }
}
