using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Relevo.Index.Formats;

/// <summary>Commit-point files (an index's <c>manifest</c>, a sharded index's <c>cluster.json</c>): indented JSON
/// followed by a line <c>checksum &lt;xxHash64 of the JSON&gt;</c>, replaced atomically (write a temp file, fsync,
/// rename, fsync the folder), so a crash leaves either the old or the new file.</summary>
internal static class ChecksummedJson
{
    private const string ChecksumPrefix = "\nchecksum ";

    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>The verified object in <paramref name="path"/> (which must exist); a damaged file is a
    /// <see cref="CorruptIndexException"/> naming it.</summary>
    public static T Read<T>(string path) where T : class
    {
        string text = Encoding.UTF8.GetString(File.ReadAllBytes(path));
        int at = text.LastIndexOf(ChecksumPrefix, StringComparison.Ordinal);
        if (at < 0) throw new CorruptIndexException(path, "the checksum line is missing");
        string body = text[..at];
        string stored = text[(at + ChecksumPrefix.Length)..].Trim();
        string actual = Checksum(body);
        if (!string.Equals(stored, actual, StringComparison.Ordinal))
            throw new CorruptIndexException(path, $"checksum mismatch (stored {stored}, computed {actual})");
        try
        {
            return JsonSerializer.Deserialize<T>(body, Options) ?? throw new CorruptIndexException(path, "unreadable: empty");
        }
        catch (JsonException e)
        {
            throw new CorruptIndexException(path, $"unreadable: {e.Message}");
        }
    }

    /// <summary>Atomically replaces <paramref name="fileName"/> in <paramref name="directory"/> with <paramref name="value"/>;
    /// <paramref name="stage"/> hears "{stagePrefix}temp-written" and "{stagePrefix}renamed" (crash-safety tests).</summary>
    public static void Write<T>(string directory, string fileName, T value, Action<string>? stage, string stagePrefix)
    {
        string body = JsonSerializer.Serialize(value, Options);
        string text = body + ChecksumPrefix + Checksum(body) + "\n";
        string temp = Path.Combine(directory, fileName + ".tmp");
        using (var f = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            f.Write(Encoding.UTF8.GetBytes(text));
            f.Flush(flushToDisk: true);
        }
        stage?.Invoke(stagePrefix + "temp-written");
        File.Move(temp, Path.Combine(directory, fileName), overwrite: true);
        stage?.Invoke(stagePrefix + "renamed");
        FsyncDirectory(directory);
    }

    private static string Checksum(string body) => XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(body)).ToString("x16");

    /// <summary>fsync on the folder makes the rename itself durable (POSIX); a no-op elsewhere.</summary>
    private static void FsyncDirectory(string directory)
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
