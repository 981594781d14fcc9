namespace Relevo.Collections;

/// <summary>Finds a dataset by path or bare name: $RELEVO_DATA, then ../shared/datasets beside the repository
/// root, then the user cache.</summary>
internal static class DatasetLocator
{
    public static string CacheRoot =>
        Environment.GetEnvironmentVariable("RELEVO_CACHE") is { Length: > 0 } c
            ? c
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "relevo");

    /// <summary>The folders searched for a bare dataset name, in order.</summary>
    public static IReadOnlyList<string> SearchFolders()
    {
        var folders = new List<string>();
        if (Environment.GetEnvironmentVariable("RELEVO_DATA") is { Length: > 0 } data)
            folders.Add(data);
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            string? root = FindRepositoryRoot(start);
            if (root is not null)
            {
                string shared = Path.GetFullPath(Path.Combine(root, "..", "shared", "datasets"));
                if (!folders.Contains(shared)) folders.Add(shared);
            }
        }
        folders.Add(Path.Combine(CacheRoot, "datasets"));
        return folders;
    }

    /// <summary>Resolves NAME or PATH to a dataset without touching the network; null if a bare name is found nowhere.</summary>
    public static BeirDataset? TryResolveLocal(string nameOrPath)
    {
        if (LooksLikePath(nameOrPath))
            return BeirDataset.FromFolder(nameOrPath);
        foreach (string folder in SearchFolders())
        {
            string candidate = Path.Combine(folder, nameOrPath);
            if (Directory.Exists(candidate))
                return BeirDataset.FromFolder(candidate);
        }
        return null;
    }

    /// <summary>Resolves NAME or PATH locally or fails with the folders that were searched.</summary>
    public static BeirDataset Resolve(string nameOrPath) =>
        TryResolveLocal(nameOrPath) ?? throw new RelevoException(
            $"dataset '{nameOrPath}' not found in: {string.Join(", ", SearchFolders())}");

    /// <summary>Resolves NAME or PATH locally; a bare name found nowhere that is a known BEIR dataset is downloaded
    /// into the user cache (<see cref="CacheRoot"/>/datasets) first. Anything else fails with the folders searched
    /// and the names that can be downloaded.</summary>
    public static BeirDataset ResolveOrDownload(
        string nameOrPath, IProgress<DownloadProgress>? progress = null, HttpClient? http = null, Uri? baseAddress = null) =>
        ResolveOrDownload(nameOrPath, progress, http, baseAddress, BeirDownloader.KnownChecksums, Path.Combine(CacheRoot, "datasets"));

    /// <summary><see cref="ResolveOrDownload(string, IProgress{DownloadProgress}?, HttpClient?, Uri?)"/> with the
    /// checksum table and the cache folder given, so tests can serve their own zip.</summary>
    internal static BeirDataset ResolveOrDownload(
        string nameOrPath, IProgress<DownloadProgress>? progress, HttpClient? http, Uri? baseAddress,
        IReadOnlyDictionary<string, string> checksums, string cacheDatasetsFolder)
    {
        if (TryResolveLocal(nameOrPath) is { } local)
            return local;
        string cached = Path.Combine(cacheDatasetsFolder, nameOrPath);
        if (Directory.Exists(cached))
            return BeirDataset.FromFolder(cached);
        if (!checksums.TryGetValue(nameOrPath, out string? md5))
            throw new RelevoException(
                $"dataset '{nameOrPath}' not found in: {string.Join(", ", SearchFolders())}; " +
                $"it is not a BEIR dataset that can be downloaded either (known: {string.Join(", ", checksums.Keys)})");
        string folder = BeirDownloader.DownloadAsync(nameOrPath, cacheDatasetsFolder, progress, http, baseAddress, expectedMd5: md5)
            .GetAwaiter().GetResult();
        return BeirDataset.FromFolder(folder);
    }

    private static bool LooksLikePath(string s) =>
        s.Contains('/') || s.Contains('\\') || s.StartsWith('.') || Path.IsPathRooted(s);

    /// <summary>The nearest folder at or above <paramref name="start"/> holding Relevo.slnx.</summary>
    public static string? FindRepositoryRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Relevo.slnx")))
                return dir.FullName;
        return null;
    }
}
