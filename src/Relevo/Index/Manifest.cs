using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

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
    private const string ChecksumPrefix = "\nchecksum ";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static Manifest Empty(string analyzer) => new(CurrentFormat, 0, analyzer, 0, []);

    public static bool Exists(string directory) => File.Exists(Path.Combine(directory, FileName));

    public static Manifest Read(string directory)
    {
        string path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
            throw new RelevoException($"{path}: no index here (the manifest is missing)");
        byte[] bytes = File.ReadAllBytes(path);
        string text = Encoding.UTF8.GetString(bytes);
        int at = text.LastIndexOf(ChecksumPrefix, StringComparison.Ordinal);
        if (at < 0)
            throw new Formats.CorruptIndexException(path, "the checksum line is missing");
        string body = text[..at];
        string stored = text[(at + ChecksumPrefix.Length)..].Trim();
        string actual = Checksum(body);
        if (!string.Equals(stored, actual, StringComparison.Ordinal))
            throw new Formats.CorruptIndexException(path, $"checksum mismatch (stored {stored}, computed {actual})");
        Manifest? m;
        try
        {
            m = JsonSerializer.Deserialize<Manifest>(body, Json);
        }
        catch (JsonException e)
        {
            throw new Formats.CorruptIndexException(path, $"unreadable: {e.Message}");
        }
        if (m is null || m.Segments is null || m.Analyzer is null)
            throw new Formats.CorruptIndexException(path, "unreadable: empty manifest");
        if (m.Format != CurrentFormat)
            throw new Formats.CorruptIndexException(path, $"manifest format {m.Format} is not supported (this build reads {CurrentFormat})");
        return m;
    }

    /// <summary>Atomically makes this manifest the index's current commit.</summary>
    public void Commit(string directory, Action<string>? stage = null)
    {
        string body = JsonSerializer.Serialize(this, Json);
        string text = body + ChecksumPrefix + Checksum(body) + "\n";
        string temp = Path.Combine(directory, FileName + ".tmp");
        using (var f = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            f.Write(Encoding.UTF8.GetBytes(text));
            f.Flush(flushToDisk: true);
        }
        stage?.Invoke("manifest-temp-written");
        File.Move(temp, Path.Combine(directory, FileName), overwrite: true);
        stage?.Invoke("manifest-renamed");
        FsyncDirectory(directory);
    }

    private static string Checksum(string body) => XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(body)).ToString("x16");

    /// <summary>fsync on the folder makes the rename itself durable (POSIX); a no-op elsewhere.</summary>
    internal static void FsyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        int fd = open(directory, 0 /* O_RDONLY */);
        if (fd < 0) return;
        try { _ = fsync(fd); } finally { _ = close(fd); }
    }

    [DllImport("libc", SetLastError = true)] private static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);
    [DllImport("libc", SetLastError = true)] private static extern int fsync(int fd);
    [DllImport("libc", SetLastError = true)] private static extern int close(int fd);
}
