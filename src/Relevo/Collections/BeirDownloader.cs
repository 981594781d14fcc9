using System.IO.Compression;
using System.Security.Cryptography;

namespace Relevo.Collections;

/// <summary>How far a download has got: bytes received so far and, when the server says, the total.</summary>
internal readonly record struct DownloadProgress(long BytesDone, long? BytesTotal);

/// <summary>Downloads a BEIR dataset zip, checks its MD5 against the value BEIR publishes, and unpacks it into
/// the cache so that <c>{cache}/{name}/corpus.jsonl, queries.jsonl, qrels/*.tsv</c> appear all at once or not at
/// all.</summary>
internal static class BeirDownloader
{
    /// <summary>Where BEIR hosts its dataset zips; a dataset is <c>{DefaultBaseAddress}{name}.zip</c>.</summary>
    public static readonly Uri DefaultBaseAddress = new("https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/");

    /// <summary>MD5 of each public BEIR dataset zip, copied from the "Available Datasets" table of README.md in
    /// github.com/beir-cellar/beir (main, README last changed in commit 17a4b4f8, June 2025).</summary>
    public static IReadOnlyDictionary<string, string> KnownChecksums { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["msmarco"] = "444067daf65d982533ea17ebd59501e4",
        ["trec-covid"] = "ce62140cb23feb9becf6270d0d1fe6d1",
        ["nfcorpus"] = "a89dba18a62ef92f7d323ec890a0d38d",
        ["nq"] = "d4d3d2e48787a744b6f6e691ff534307",
        ["hotpotqa"] = "f412724f78b0d91183a0e86805e16114",
        ["fiqa"] = "17918ed23cd04fb15047f73e6c3bd9d9",
        ["arguana"] = "8ad3e3c2a5867cdced806d6503f29b99",
        ["webis-touche2020"] = "46f650ba5a527fc69e0a6521c5a23563",
        ["cqadupstack"] = "4e41456d7df8ee7760a7f866133bda78",
        ["quora"] = "18fb154900ba42a600f84b839c173167",
        ["dbpedia-entity"] = "c2a39eb420a3164af735795df012ac2c",
        ["scidocs"] = "38121350fc3a4d2f48850f6aff52e4a9",
        ["fever"] = "5a818580227bfb4b35bb6fa46d9b6c03",
        ["climate-fever"] = "8b66f0a9126c521bae2bde127b4dc99d",
        ["scifact"] = "5f7d1de60b170fc8027bb7898e2efca1",
    };

    private const int BufferSize = 1 << 16;

    /// <summary>Downloads <c>{baseAddress}{name}.zip</c>, verifies it and unpacks it to
    /// <c>{cacheDatasetsFolder}/{name}</c>, returning that folder.</summary>
    /// <param name="name">A BEIR dataset name such as <c>scifact</c>.</param>
    /// <param name="cacheDatasetsFolder">The folder that receives <c>{name}/</c>; created if missing.</param>
    /// <param name="progress">Told the bytes received so far, after each block and once at the end.</param>
    /// <param name="http">The client to use; a private one is created (and disposed) when null.</param>
    /// <param name="baseAddress">The folder URL holding the zips; <see cref="DefaultBaseAddress"/> when null.</param>
    /// <param name="ct">Cancels the download; nothing is left behind.</param>
    /// <param name="expectedMd5">The MD5 the zip must have (hex); looked up in <see cref="KnownChecksums"/> when null.</param>
    /// <param name="allowUnverified">Download a name with no known checksum without checking it.</param>
    /// <exception cref="RelevoException">The name has no known checksum, the server refused, the checksum did not
    /// match, the zip is not in BEIR layout, or the target folder already exists.</exception>
    public static async Task<string> DownloadAsync(
        string name,
        string cacheDatasetsFolder,
        IProgress<DownloadProgress>? progress,
        HttpClient? http = null,
        Uri? baseAddress = null,
        CancellationToken ct = default,
        string? expectedMd5 = null,
        bool allowUnverified = false)
    {
        ValidateName(name);
        expectedMd5 ??= KnownChecksums.GetValueOrDefault(name);
        if (expectedMd5 is null && !allowUnverified)
            throw new RelevoException(
                $"dataset '{name}': no known MD5 checksum, so the download cannot be verified " +
                $"(known BEIR datasets: {string.Join(", ", KnownChecksums.Keys)}); pass allowUnverified to download it anyway");
        expectedMd5 = expectedMd5?.Trim().ToLowerInvariant();

        string target = Path.Combine(Path.GetFullPath(cacheDatasetsFolder), name);
        if (Directory.Exists(target))
            throw new RelevoException($"{target}: already exists; delete it to download '{name}' again");

        Uri url = DatasetUrl(name, baseAddress ?? DefaultBaseAddress);
        Directory.CreateDirectory(cacheDatasetsFolder);
        // Everything is staged in a hidden folder beside the target (same file system, so the final move is a
        // rename) and that folder is deleted whatever happens.
        string staging = Path.Combine(Path.GetFullPath(cacheDatasetsFolder), $".download-{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            string zipPath = Path.Combine(staging, name + ".zip");
            string actualMd5 = await DownloadToFileAsync(url, zipPath, progress, http, ct).ConfigureAwait(false);
            if (expectedMd5 is not null && actualMd5 != expectedMd5)
            {
                File.Delete(zipPath);
                throw new RelevoException(
                    $"{url}: checksum mismatch for {name}.zip: expected md5 {expectedMd5}, got {actualMd5}; the download was discarded");
            }

            string unpacked = Path.Combine(staging, "unpacked");
            Unpack(zipPath, unpacked);
            File.Delete(zipPath);
            string datasetFolder = FindDatasetFolder(unpacked, name, url);
            ct.ThrowIfCancellationRequested();
            try
            {
                Directory.Move(datasetFolder, target);
            }
            catch (IOException) when (Directory.Exists(target))
            {
                // Another process finished the same download first; its copy is as good as ours.
            }
            return target;
        }
        finally
        {
            TryDeleteFolder(staging);
        }
    }

    /// <summary>The URL of a dataset's zip under <paramref name="baseAddress"/>.</summary>
    public static Uri DatasetUrl(string name, Uri baseAddress)
    {
        string text = baseAddress.ToString();
        if (!text.EndsWith('/'))
            baseAddress = new Uri(text + "/");
        return new Uri(baseAddress, Uri.EscapeDataString(name) + ".zip");
    }

    /// <summary>Streams <paramref name="url"/> into <paramref name="path"/>, hashing as it goes; returns the MD5 in
    /// lower-case hex.</summary>
    private static async Task<string> DownloadToFileAsync(
        Uri url, string path, IProgress<DownloadProgress>? progress, HttpClient? http, CancellationToken ct)
    {
        HttpClient client = http ?? new HttpClient();
        try
        {
            using HttpResponseMessage response = await SendAsync(client, url, ct).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
                throw new RelevoException(
                    $"{url}: download failed: HTTP {(int)response.StatusCode} ({response.ReasonPhrase ?? response.StatusCode.ToString()})");

            long? total = response.Content.Headers.ContentLength;
            progress?.Report(new DownloadProgress(0, total));
            // MD5 here only checks the file against the checksum BEIR publishes; it is not a security measure.
            using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
            long done = 0;
            try
            {
                using Stream body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
                await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize, useAsync: true);
                byte[] buffer = new byte[BufferSize];
                int read;
                while ((read = await body.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
                {
                    md5.AppendData(buffer, 0, read);
                    await file.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
                    done += read;
                    progress?.Report(new DownloadProgress(done, total));
                }
            }
            catch (Exception e) when (e is HttpRequestException or IOException && !ct.IsCancellationRequested)
            {
                throw new RelevoException($"{url}: download interrupted after {done} bytes: {e.Message}", e);
            }
            if (total is long expected && done != expected)
                throw new RelevoException($"{url}: download incomplete: got {done} of {expected} bytes");
            progress?.Report(new DownloadProgress(done, total ?? done));
            return Convert.ToHexStringLower(md5.GetHashAndReset());
        }
        finally
        {
            if (http is null)
                client.Dispose();
        }
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, Uri url, CancellationToken ct)
    {
        try
        {
            return await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new RelevoException($"{url}: download failed: {e.Message}", e);
        }
        catch (TaskCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new RelevoException($"{url}: download timed out", e);
        }
    }

    private static void Unpack(string zipPath, string folder)
    {
        try
        {
            // ExtractToDirectory refuses entries that would land outside the folder.
            ZipFile.ExtractToDirectory(zipPath, folder);
        }
        catch (InvalidDataException e)
        {
            throw new RelevoException($"{zipPath}: not a valid zip file: {e.Message}", e);
        }
    }

    /// <summary>The unpacked dataset folder: <c>{name}/</c> as BEIR zips are laid out, or the root itself when the
    /// zip holds the files directly.</summary>
    private static string FindDatasetFolder(string unpacked, string name, Uri url)
    {
        string nested = Path.Combine(unpacked, name);
        if (Directory.Exists(nested))
            return nested;
        if (File.Exists(Path.Combine(unpacked, "corpus.jsonl")) || File.Exists(Path.Combine(unpacked, "corpus.jsonl.gz")))
            return unpacked;
        throw new RelevoException($"{url}: the zip holds neither a '{name}/' folder nor corpus.jsonl");
    }

    private static void ValidateName(string name)
    {
        bool ok = name.Length > 0 && !name.StartsWith('.') &&
                  name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
        if (!ok)
            throw new RelevoException($"'{name}' is not a valid dataset name (letters, digits, '-', '_' and '.' only)");
    }

    private static void TryDeleteFolder(string folder)
    {
        try
        {
            if (Directory.Exists(folder))
                Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
            // Leftover staging folders are hidden and harmless; the next download uses a fresh one.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
