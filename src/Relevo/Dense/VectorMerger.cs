using Relevo.Index;
using Relevo.Index.Formats.V1;

namespace Relevo.Dense;

/// <summary>Carries vectors through a merge (<see cref="IndexWriter.ForceMerge"/>): rows of live documents, in the
/// merged numbering (segments in order, deleted documents skipped, as <c>SegmentMerger</c> numbers them).</summary>
internal static class VectorMerger
{
    /// <returns>The models the merged segment has vectors for: those every merged segment with live documents has.</returns>
    public static IReadOnlyList<string> Merge(string directory, string mergedName, IReadOnlyList<(SegmentEntry Entry, SegmentReader Reader)> segments)
    {
        var models = new List<string>();
        bool first = true;
        foreach (var (entry, reader) in segments)
        {
            if (reader.LiveDocs == 0) continue;
            if (first) { models.AddRange(entry.Vectors); first = false; continue; }
            models.RemoveAll(m => !entry.HasVectors(m));
        }
        foreach (string model in models)
        {
            int dims = -1;
            var rows = new List<float>();
            foreach (var (entry, reader) in segments)
            {
                if (reader.LiveDocs == 0) continue;
                using var v = new SegmentVectors(directory, entry.Name, model, entry.MaxDoc, openInt8: false);
                if (dims < 0) dims = v.Dimensions;
                else if (dims != v.Dimensions)
                    throw new Index.Formats.CorruptIndexException(System.IO.Path.Combine(directory, VectorFiles.FloatFile(entry.Name, model)),
                        $"{v.Dimensions} dimensions where other segments have {dims}");
                for (int d = 0; d < entry.MaxDoc; d++)
                    if (!reader.IsDeleted(d)) rows.AddRange(v.Row(d));
            }
            VectorFiles.Write(directory, mergedName, model, dims, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(rows));
        }
        return models;
    }
}
