using Relevo.Index;

namespace Relevo.Sharding;

/// <summary>This node has no usable copy of the shard a request named (not listed as a copy at the version it serves,
/// or no cluster manifest yet): the caller asks another copy. Not a <see cref="RelevoException"/>, so that callers
/// treat it as a failure of the copy, not of the request.</summary>
internal sealed class ShardCopyUnavailableException(string message) : Exception(message);

/// <summary>One file of a shard commit as a copy needs it: its name in the shard folder and its length.</summary>
internal readonly record struct ShardFile(string Name, long Length);

/// <summary>Segment replication: copying a shard's committed files from the node that wrote them (the primary) to
/// another node's folder, byte for byte, so that every copy reads the same segments, document numbers and ordinals and
/// answers exactly as the primary does. Segment files never change once written and their names are never reused
/// within published commits, so a copy needs only the files it lacks; files of a commit that was prepared but never
/// published are removed first (a new primary may reuse their names).</summary>
internal static class ShardCopy
{
    /// <summary>How many bytes one read of a file carries between nodes.</summary>
    public const int ChunkBytes = 1 << 20;

    /// <summary>Every file of <paramref name="folder"/> that <paramref name="commit"/> reads: each segment's own files
    /// (postings, stored documents, field postings, positions, doc values), its deletions of the commit's generation,
    /// its component data (vectors, graphs, impacts), its ordinals, and the index's component data.</summary>
    public static ShardFile[] FilesOf(string folder, Manifest commit)
    {
        var names = Referenced(folder, commit);
        var files = new List<ShardFile>(names.Count);
        foreach (string name in names)
        {
            var info = new FileInfo(Path.Combine(folder, name));
            if (!info.Exists) throw new RelevoException($"{info.FullName}: missing, but commit {commit.Generation} of the shard needs it");
            files.Add(new ShardFile(name, info.Length));
        }
        files.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        return [.. files];
    }

    private static HashSet<string> Referenced(string folder, Manifest commit)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var segments = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in commit.Segments)
        {
            segments.Add(s.Name);
            if (s.DeletesFile is { } d) names.Add(d);
            foreach (var f in s.ComponentFiles()) names.Add(f);
            string ordinals = ShardOrdinals.FileName(s.Name);
            if (File.Exists(Path.Combine(folder, ordinals))) names.Add(ordinals);
        }
        foreach (var c in commit.IndexComponents)
            foreach (var f in c.Files) names.Add(f);
        if (!Directory.Exists(folder)) return names;
        foreach (var path in Directory.EnumerateFiles(folder))
        {
            string name = Path.GetFileName(path);
            // deletions and impacts carry a generation: only the commit's own (listed above) belong to it
            if (!IndexFolder.IsOwnedFile(name) || name.EndsWith(".del", StringComparison.Ordinal) || name.EndsWith(".imp", StringComparison.Ordinal)) continue;
            int dot = name.IndexOf('.');
            if (dot > 0 && segments.Contains(name[..dot])) names.Add(name);
        }
        return names;
    }

    /// <summary>The first file <paramref name="commit"/> cannot be read without that <paramref name="folder"/> lacks
    /// (each segment's postings, stored documents, deletions and component data; the index's component data), or null.
    /// A node checks this before it takes a manifest that lists it as a copy of the commit.</summary>
    public static string? FirstMissing(string folder, Manifest commit)
    {
        foreach (var s in commit.Segments)
        {
            foreach (var f in Index.Formats.V1.SegmentFiles.All(s.Name))
                if (!File.Exists(Path.Combine(folder, f))) return f;
            if (s.DeletesFile is { } d && !File.Exists(Path.Combine(folder, d))) return d;
            foreach (var f in s.ComponentFiles())
                if (!File.Exists(Path.Combine(folder, f))) return f;
        }
        foreach (var c in commit.IndexComponents)
            foreach (var f in c.Files)
                if (!File.Exists(Path.Combine(folder, f))) return f;
        return null;
    }

    /// <summary>Whether a node may write a file of this name into a shard folder: the index's own files and ordinals
    /// only (never a path or another program's file).</summary>
    public static void CheckName(string name)
    {
        if (name.Length == 0 || name.Contains('/') || name.Contains('\\') || name.Contains("..", StringComparison.Ordinal)
            || !(IndexFolder.IsOwnedFile(name) || ShardOrdinals.IsOrdinalsFile(name)) || name.EndsWith(".tmp", StringComparison.Ordinal))
            throw new RelevoException($"shard copy: '{name}' is not a file of a shard");
    }

    /// <summary>Prepares <paramref name="folder"/> to receive a commit whose files are <paramref name="files"/>: creates
    /// it, removes the index files and ordinals that <paramref name="keep"/> (the commit the node serves now, if any)
    /// does not read, and returns the files still to copy (missing, or of another length: a copy cut short).</summary>
    public static ShardFile[] Plan(string folder, IReadOnlyList<ShardFile> files, Manifest? keep)
    {
        foreach (var f in files) CheckName(f.Name);
        if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).FirstOrDefault() is { } first
            && !File.Exists(Path.Combine(folder, IndexFolder.MarkerFileName)) && !Manifest.Exists(folder))
            throw new RelevoException($"{folder}: the folder holds something other than a shard (e.g. '{Path.GetFileName(first)}'); not copying into it");
        // marked before anything is copied, so that a copy cut short is still recognised as a shard's folder
        if (!File.Exists(Path.Combine(folder, IndexFolder.MarkerFileName)) && !Manifest.Exists(folder)) IndexFolder.PrepareForWriter(folder);
        var kept = keep is null ? [] : Referenced(folder, keep);
        foreach (var path in Directory.EnumerateFiles(folder))
        {
            string name = Path.GetFileName(path);
            if ((IndexFolder.IsOwnedFile(name) || ShardOrdinals.IsOrdinalsFile(name)) && !kept.Contains(name)) File.Delete(path);
        }
        var needed = new List<ShardFile>();
        foreach (var f in files)
        {
            var info = new FileInfo(Path.Combine(folder, f.Name));
            if (!info.Exists || info.Length != f.Length) needed.Add(f);
        }
        return [.. needed];
    }

    /// <summary>Up to <paramref name="count"/> bytes of a file of the shard folder from <paramref name="offset"/>.</summary>
    public static byte[] Read(string folder, string name, long offset, int count)
    {
        CheckName(name);
        if (offset < 0 || count < 0 || count > ChunkBytes) throw new RelevoException($"shard copy: bad range {offset}+{count} of {name}");
        using var f = new FileStream(Path.Combine(folder, name), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        if (offset >= f.Length) return [];
        var buffer = new byte[(int)Math.Min(count, f.Length - offset)];
        f.Position = offset;
        f.ReadExactly(buffer);
        return buffer;
    }

    /// <summary>Writes a chunk of a file being copied (offset 0 starts the file over).</summary>
    public static void Write(string folder, string name, long offset, ReadOnlySpan<byte> data)
    {
        CheckName(name);
        using var f = new FileStream(Path.Combine(folder, name), offset == 0 ? FileMode.Create : FileMode.Open, FileAccess.Write, FileShare.None);
        if (f.Length != offset) throw new RelevoException($"shard copy: {name} has {f.Length} bytes, a chunk for offset {offset} arrived");
        f.Position = offset;
        f.Write(data);
    }

    /// <summary>Copies every file of <paramref name="needed"/> through <paramref name="read"/> (name, offset, count →
    /// bytes; e.g. a call to the node that has them).</summary>
    public static async Task CopyAsync(string folder, IReadOnlyList<ShardFile> needed, Func<string, long, int, Task<byte[]>> read,
        CancellationToken cancellation = default)
    {
        foreach (var f in needed)
        {
            long offset = 0;
            do
            {
                cancellation.ThrowIfCancellationRequested();
                int count = (int)Math.Min(ChunkBytes, f.Length - offset);
                byte[] chunk = count == 0 ? [] : await read(f.Name, offset, count).ConfigureAwait(false);
                if (chunk.Length != count) throw new RelevoException($"shard copy: {f.Name} ended at {offset + chunk.Length} of {f.Length} bytes at its source");
                Write(folder, f.Name, offset, chunk);
                offset += count;
            }
            while (offset < f.Length);
        }
    }

    /// <summary>Removes a copy this node no longer holds: the index's files, its ordinals, manifest, marker and lock,
    /// then the folder if nothing else is left in it (anything else stays).</summary>
    public static void Remove(string folder)
    {
        if (!Directory.Exists(folder)) return;
        foreach (var path in Directory.EnumerateFiles(folder))
        {
            string name = Path.GetFileName(path);
            if (IndexFolder.IsOwnedFile(name) || ShardOrdinals.IsOrdinalsFile(name) || name == Manifest.FileName
                || name == IndexWriter.LockFileName || name == IndexFolder.MarkerFileName)
            {
                try { File.Delete(path); } catch (IOException) { }
            }
        }
        if (!Directory.EnumerateFileSystemEntries(folder).Any()) Directory.Delete(folder);
    }

    /// <summary>Completes a copy: checks that every file is there at its length, makes them durable, and writes the
    /// commit as the folder's own (the shard's manifest, atomically) so that a writer opened here later (a promoted
    /// copy) starts from it.</summary>
    public static void Finish(string folder, IReadOnlyList<ShardFile> files, Manifest commit)
    {
        foreach (var f in files)
        {
            string path = Path.Combine(folder, f.Name);
            var info = new FileInfo(path);
            if (!info.Exists || info.Length != f.Length)
                throw new RelevoException($"{path}: {(info.Exists ? info.Length + " bytes" : "missing")}, the copied commit needs {f.Length} bytes");
            using var s = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            s.Flush(flushToDisk: true);
        }
        commit.Commit(folder);
        IndexFolder.MarkCommitted(folder);
    }
}
