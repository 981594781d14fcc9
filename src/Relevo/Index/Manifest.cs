
namespace Relevo.Index;

/// <summary>One live segment as the manifest records it.</summary>
public sealed record SegmentEntry(
    string Name, int MaxDoc, long SumTotalTermFreq, int DocsWithTerms, int TermCount,
    long DeleteGeneration, int DeleteCount)
{
    public string? DeletesFile => DeleteGeneration == 0 ? null : Formats.V1.SegmentFiles.Deletes(Name, DeleteGeneration);

    // --- Dense vectors (src/Relevo/Dense) ---
    /// <summary>Models this segment has vector files for (<c>{segment}.{model}.vec/.vq8</c>); empty in manifests
    /// written before dense retrieval, which therefore still read.</summary>
    public IReadOnlyList<string> Vectors { get; init; } = [];

    public bool HasVectors(string model)
    {
        foreach (var m in Vectors) if (string.Equals(m, model, StringComparison.Ordinal)) return true;
        return false;
    }
}

/// <summary>The one file that says which segments make up the index at a commit. It is replaced atomically
/// (write a temp file, fsync, rename, fsync the folder), so a crash leaves either the old or the new commit.</summary>
public sealed record Manifest(int Format, long Generation, string Analyzer, int NextSegment, IReadOnlyList<SegmentEntry> Segments)
{
    public const string FileName = "manifest";
    public const int CurrentFormat = 1;

    public static Manifest Empty(string analyzer) => new(CurrentFormat, 0, analyzer, 0, []);

    public static bool Exists(string directory) => File.Exists(Path.Combine(directory, FileName));

    public static Manifest Read(string directory)
    {
        string path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
            throw new RelevoException($"{path}: no index here (the manifest is missing)");
        var m = Formats.ChecksummedJson.Read<Manifest>(path);
        if (m.Segments is null || m.Analyzer is null)
            throw new Formats.CorruptIndexException(path, "unreadable: empty manifest");
        if (m.Format != CurrentFormat)
            throw new Formats.CorruptIndexException(path, $"manifest format {m.Format} is not supported (this build reads {CurrentFormat})");
        return m;
    }

    /// <summary>Atomically makes this manifest the index's current commit.</summary>
    public void Commit(string directory, Action<string>? stage = null) =>
        Formats.ChecksummedJson.Write(directory, FileName, this, stage, "manifest-");
}
