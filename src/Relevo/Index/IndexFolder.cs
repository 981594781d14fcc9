using System.Text.RegularExpressions;

namespace Relevo.Index;

/// <summary>Which folders hold a Relevo index and which files in them are Relevo's. A writer creates an index only in a
/// folder that is missing or empty, and marks it with <see cref="MarkerFileName"/> before it writes anything else; it
/// deletes only files of that folder whose names follow the index's exact naming scheme (<see cref="IsOwnedFile"/>),
/// so a folder a user points at by mistake loses nothing. The marker also records whether the index ever committed:
/// a marked folder whose manifest is gone is damaged and refused, never silently started again.</summary>
internal static partial class IndexFolder
{
    /// <summary>The marker file, written first into a folder a writer creates an index in.</summary>
    public const string MarkerFileName = "relevo-index";

    private sealed record Marker(string Kind, bool Committed);

    private const string IndexKind = "relevo index", ShardedKind = "relevo sharded index";

    // _<hex>.<postings file>, _<hex>_<generation>.del, _<hex>.<key>.<vec|vq8|hnsw> (vectors and their graph),
    // _<hex>.<key>.<generation>.imp (quantized impacts); a shard's ordinals files
    // (ord_<hex>) are the sharding layer's, which removes them itself; tree.<generation>.lattice, the semantic tree;
    // _<hex>.f-<field>.<tdict|post|norm>, a text field's postings; _<hex>.p-<field>.pos, a field's positions;
    // _<hex>.dv, a segment's doc values
    [GeneratedRegex(@"^(_[0-9a-f]+\.(tdict|post|norm|ids|docs|dv)|_[0-9a-f]+\.f-[a-z0-9_]+\.(tdict|post|norm)|_[0-9a-f]+\.p-[a-z0-9_]+\.pos|_[0-9a-f]+_[0-9]+\.del|_[0-9a-f]+\.[A-Za-z0-9][A-Za-z0-9._-]*\.(vec|vq8|hnsw)|_[0-9a-f]+\.(bm25|weights)\.[0-9]+\.imp|tree\.[0-9]+\.lattice|manifest\.tmp|relevo-index\.tmp)$")]
    private static partial Regex OwnedName();

    /// <summary>Whether a file name is one the index writer writes (segment files, deletions, component data, temporary
    /// manifests).</summary>
    public static bool IsOwnedFile(string name) => OwnedName().IsMatch(name);

    /// <summary>Makes <paramref name="directory"/> ready for a writer: creates and marks it when it is missing or empty,
    /// marks an existing index that predates markers, and refuses a folder that is not a Relevo index (naming what it
    /// found) or an index whose manifest is missing. Returns whether it created the folder.</summary>
    public static bool PrepareForWriter(string directory)
    {
        string marker = Path.Combine(directory, MarkerFileName);
        if (Manifest.Exists(directory))
        {
            if (!File.Exists(marker) || !Read(marker).Committed) Write(directory, committed: true);
            return false;
        }
        if (File.Exists(marker))
        {
            var m = Read(marker);
            if (m.Kind == ShardedKind)
                throw new RelevoException($"{directory}: holds a sharded index (cluster.json); open it as one, not as an ordinary index");
            if (m.Committed) throw Damaged(directory);
            return false; // created by a writer that never committed: its files are ours to clean up
        }
        if (File.Exists(Path.Combine(directory, "cluster.json")))
            throw new RelevoException($"{directory}: holds a sharded index (cluster.json); open it as one, not as an ordinary index");
        if (System.IO.Directory.Exists(directory))
        {
            var entries = System.IO.Directory.GetFileSystemEntries(directory);
            bool indexFiles = false;
            foreach (var e in entries) indexFiles |= IsOwnedFile(Path.GetFileName(e));
            if (indexFiles) throw Damaged(directory);
            if (entries.Length > 0 && !(entries.Length == 1 && Path.GetFileName(entries[0]) == IndexWriter.LockFileName))
                throw new RelevoException($"{directory}: the folder is not empty and holds no Relevo index " +
                                          $"({entries.Length} entries, e.g. '{Path.GetFileName(entries[0])}'); index into a new or empty folder");
        }
        bool created = !System.IO.Directory.Exists(directory);
        System.IO.Directory.CreateDirectory(directory);
        Write(directory, committed: false);
        return created;
    }

    /// <summary>Undoes <see cref="PrepareForWriter"/> for a writer that closes without ever committing: removes the
    /// marker and the lock file, and the folder if the writer created it and it is empty now.</summary>
    public static void RemoveUncommitted(string directory, bool createdFolder)
    {
        if (Manifest.Exists(directory)) return;
        try
        {
            File.Delete(Path.Combine(directory, MarkerFileName));
            File.Delete(Path.Combine(directory, IndexWriter.LockFileName));
            if (createdFolder && !System.IO.Directory.EnumerateFileSystemEntries(directory).Any()) System.IO.Directory.Delete(directory);
        }
        catch (IOException)
        {
            // another writer opened it meanwhile: it is theirs now
        }
    }

    /// <summary>Makes <paramref name="root"/> ready to become a sharded index (shard folders and cluster.json inside):
    /// creates and marks it when missing or empty; accepts one this method marked before (a creation that crashed
    /// before cluster.json); refuses anything else.</summary>
    public static void PrepareForShardedRoot(string root)
    {
        string marker = Path.Combine(root, MarkerFileName);
        if (File.Exists(marker))
        {
            if (Read(marker).Kind == ShardedKind) return;
            throw new RelevoException($"{root}: holds an ordinary (unsharded) index; shard into a new folder");
        }
        if (System.IO.Directory.Exists(root) && System.IO.Directory.EnumerateFileSystemEntries(root).FirstOrDefault() is { } first)
            throw new RelevoException($"{root}: the folder is not empty and holds no Relevo index (e.g. '{Path.GetFileName(first)}'); " +
                                      "create the sharded index in a new or empty folder");
        System.IO.Directory.CreateDirectory(root);
        Formats.ChecksummedJson.Write(root, MarkerFileName, new Marker(ShardedKind, false), null, "marker-");
    }

    /// <summary>Records that the index in <paramref name="directory"/> has committed (from now on a missing manifest
    /// means damage).</summary>
    public static void MarkCommitted(string directory)
    {
        string marker = Path.Combine(directory, MarkerFileName);
        if (!File.Exists(marker) || !Read(marker).Committed) Write(directory, committed: true);
    }

    /// <summary>Deletes the index in <paramref name="directory"/>: only its own files (and <paramref name="alsoOwned"/>,
    /// files a caller wrote into it), then the folder if that leaves it empty; anything else in the folder stays.
    /// Refuses a folder that holds neither a marker nor a manifest, and deletes nothing then.</summary>
    public static void DeleteIndex(string directory, params string[] alsoOwned)
    {
        if (!System.IO.Directory.Exists(directory)) return;
        string marker = Path.Combine(directory, MarkerFileName);
        if (File.Exists(marker) ? Read(marker).Kind != IndexKind : !Manifest.Exists(directory))
            throw new RelevoException($"{directory}: not an ordinary Relevo index (no {MarkerFileName} file or manifest); not deleting anything in it");
        foreach (var file in System.IO.Directory.EnumerateFiles(directory))
        {
            string name = Path.GetFileName(file);
            if (IsOwnedFile(name) || name == Manifest.FileName || name == IndexWriter.LockFileName || Array.IndexOf(alsoOwned, name) >= 0)
                File.Delete(file);
        }
        File.Delete(marker);
        if (!System.IO.Directory.EnumerateFileSystemEntries(directory).Any()) System.IO.Directory.Delete(directory);
    }

    /// <summary>Why <paramref name="directory"/> (an existing folder without a manifest) cannot be opened for search:
    /// a damaged index, an index still being created, or no index at all.</summary>
    public static RelevoException NoIndex(string directory, string shownAs)
    {
        string marker = Path.Combine(directory, MarkerFileName);
        if (File.Exists(marker) && Read(marker) is { Kind: IndexKind } m)
            return m.Committed ? Damaged(shownAs) : new RelevoException($"{shownAs}: the index has not committed yet (no manifest); nothing to search");
        foreach (var f in System.IO.Directory.EnumerateFiles(directory))
            if (IsOwnedFile(Path.GetFileName(f))) return Damaged(shownAs);
        return new RelevoException($"{shownAs}: not an index (no manifest); create one with `relevo index`");
    }

    private static RelevoException Damaged(string directory) =>
        new($"{Path.Combine(directory, Manifest.FileName)}: missing, but the folder holds an index that has committed: the index " +
            "is damaged (restore the manifest from a backup, or delete the folder to start over); nothing was changed");

    private static Marker Read(string path) => Formats.ChecksummedJson.Read<Marker>(path);

    private static void Write(string directory, bool committed) =>
        Formats.ChecksummedJson.Write(directory, MarkerFileName, new Marker(IndexKind, committed), null, "marker-");
}
