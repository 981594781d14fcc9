using System.Buffers.Binary;
using System.IO.Hashing;
using Relevo.Index;

namespace Relevo.Sharding;

/// <summary>Per segment of a shard, each document's cluster-wide ordinal, in a file beside the segment
/// (<c>ord{segment}</c>: "RLVORD01", int32 count, int64 × count, xxHash64 of all before it; little-endian). Written
/// when a shard commit first names the segment, before the cluster-wide commit that publishes it; segments are
/// immutable, so the file never changes. Not part of the segment format: the index writer leaves these files alone,
/// and the shard removes those of segments that no commit it may still read names.</summary>
internal static class ShardOrdinals
{
    private static ReadOnlySpan<byte> Magic => "RLVORD01"u8;

    public static string FileName(string segment) => "ord" + segment;

    public static bool IsOrdinalsFile(string name) => name.StartsWith("ord_", StringComparison.Ordinal);

    public static long[]? TryRead(string folder, string segment, int maxDoc)
    {
        string path = Path.Combine(folder, FileName(segment));
        if (!File.Exists(path)) return null;
        byte[] bytes = File.ReadAllBytes(path);
        int body = 8 + 4 + 8 * maxDoc;
        if (bytes.Length != body + 8 || !bytes.AsSpan(0, 8).SequenceEqual(Magic)
            || BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8)) != maxDoc)
            throw new Index.Formats.CorruptIndexException(path, $"not an ordinals file for {maxDoc} documents");
        if (BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(body)) != XxHash64.HashToUInt64(bytes.AsSpan(0, body)))
            throw new Index.Formats.CorruptIndexException(path, "checksum mismatch");
        var result = new long[maxDoc];
        for (int i = 0; i < maxDoc; i++) result[i] = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(12 + 8 * i));
        return result;
    }

    public static void Write(string folder, string segment, long[] ordinals)
    {
        var bytes = new byte[8 + 4 + 8 * ordinals.Length + 8];
        Magic.CopyTo(bytes);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), ordinals.Length);
        for (int i = 0; i < ordinals.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(12 + 8 * i), ordinals[i]);
        int body = bytes.Length - 8;
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(body), XxHash64.HashToUInt64(bytes.AsSpan(0, body)));
        string path = Path.Combine(folder, FileName(segment));
        string temp = path + ".tmp";
        using (var f = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            f.Write(bytes);
            f.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Writes the ordinals of every segment of <paramref name="commit"/> that has none yet: a document added
    /// since the last cluster-wide commit takes the ordinal the coordinator sent with it, any other document (a merge
    /// moved it) keeps the one it had in an older segment — of this commit, or of <paramref name="published"/> (the
    /// cluster-wide commit before it, whose segments a merge may have replaced; their files are still there).</summary>
    public static void WriteMissing(string folder, Manifest commit, IReadOnlyDictionary<string, long> pending, Manifest? published = null)
    {
        using var reader = IndexReader.Open(folder, commit);
        using var before = published is null ? null : IndexReader.Open(folder, published);
        var sources = new List<(SegmentReader Segment, long[] Ordinals)>();
        var known = new long[]?[reader.Segments.Count];
        for (int s = 0; s < known.Length; s++)
        {
            known[s] = TryRead(folder, reader.Segments[s].Name, reader.Segments[s].MaxDoc);
            if (known[s] is { } o) sources.Add((reader.Segments[s], o));
        }
        if (before is not null)
            foreach (var seg in before.Segments)
                if (TryRead(folder, seg.Name, seg.MaxDoc) is { } o) sources.Add((seg, o));
        for (int s = 0; s < known.Length; s++)
        {
            if (known[s] is not null) continue;
            var seg = reader.Segments[s];
            var ordinals = new long[seg.MaxDoc];
            for (int d = 0; d < seg.MaxDoc; d++)
            {
                string id = seg.GetId(d);
                if (pending.TryGetValue(id, out long o)) { ordinals[d] = o; continue; }
                ordinals[d] = long.MaxValue; // deleted copies and documents of unknown origin sort last among ties
                foreach (var (other, otherOrdinals) in sources)
                {
                    int doc = other.FindId(id);
                    if (doc >= 0 && !other.IsDeleted(doc)) { ordinals[d] = otherOrdinals[doc]; break; }
                }
            }
            Write(folder, seg.Name, ordinals);
            known[s] = ordinals;
            sources.Add((seg, ordinals));
        }
    }

    /// <summary>Removes ordinals files of segments that none of <paramref name="keep"/> names.</summary>
    public static void RemoveUnreferenced(string folder, IEnumerable<Manifest> keep)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var m in keep) foreach (var s in m.Segments) names.Add(FileName(s.Name));
        foreach (var file in Directory.EnumerateFiles(folder, "ord_*"))
        {
            string name = Path.GetFileName(file);
            if (!names.Contains(name) && IsOrdinalsFile(name))
            {
                try { File.Delete(file); } catch (IOException) { }
            }
        }
    }
}
