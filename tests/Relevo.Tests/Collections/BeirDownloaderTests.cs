using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Relevo.Collections;

namespace Relevo.Tests.Collections;

public sealed class BeirDownloaderTests : IDisposable
{
    private const string Name = "relevo-test-tiny";
    private readonly string _cache = Path.Combine(Path.GetTempPath(), "relevo-download-tests-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_cache))
            Directory.Delete(_cache, recursive: true);
    }

    /// <summary>A zip in BEIR layout: <c>{name}/corpus.jsonl, queries.jsonl, qrels/test.tsv</c>, large enough to
    /// arrive in several blocks.</summary>
    private static byte[] BeirZip(string name)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            var corpus = new StringBuilder();
            for (int i = 0; i < 5000; i++)
                corpus.Append($"{{\"_id\":\"d{i}\",\"title\":\"t{i}\",\"text\":\"{Guid.NewGuid():N} {Guid.NewGuid():N}\"}}\n");
            Add(zip, $"{name}/corpus.jsonl", corpus.ToString());
            Add(zip, $"{name}/queries.jsonl", "{\"_id\":\"q1\",\"text\":\"hello\"}\n");
            Add(zip, $"{name}/qrels/test.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\n");
        }
        return buffer.ToArray();
    }

    private static void Add(ZipArchive zip, string path, string text)
    {
        using var writer = new StreamWriter(zip.CreateEntry(path).Open());
        writer.Write(text);
    }

    private static string Md5(byte[] bytes) => Convert.ToHexStringLower(MD5.HashData(bytes));

    /// <summary>Collects reports synchronously (Progress&lt;T&gt; would post them later on the thread pool).</summary>
    private sealed class Recorder : IProgress<DownloadProgress>
    {
        public List<DownloadProgress> Reports { get; } = [];
        public void Report(DownloadProgress value) => Reports.Add(value);
    }

    [Fact]
    public async Task Download_VerifiesAndUnpacksIntoCache_ReportingProgress()
    {
        byte[] zip = BeirZip(Name);
        using var server = new LoopbackZipServer(new() { [$"/datasets/{Name}.zip"] = zip });
        var progress = new Recorder();

        string folder = await BeirDownloader.DownloadAsync(Name, _cache, progress, baseAddress: server.BaseAddress, expectedMd5: Md5(zip));

        Assert.Equal(Path.Combine(_cache, Name), folder);
        Assert.True(File.Exists(Path.Combine(folder, "corpus.jsonl")));
        Assert.True(File.Exists(Path.Combine(folder, "queries.jsonl")));
        Assert.True(File.Exists(Path.Combine(folder, "qrels", "test.tsv")));
        Assert.Equal([Name], Directory.GetFileSystemEntries(_cache).Select(Path.GetFileName));
        var dataset = BeirDataset.FromFolder(folder);
        Assert.Equal(Name, dataset.Name);

        Assert.True(progress.Reports.Count >= 3, $"only {progress.Reports.Count} progress reports");
        Assert.Equal(new DownloadProgress(0, zip.Length), progress.Reports[0]);
        Assert.Equal(new DownloadProgress(zip.Length, zip.Length), progress.Reports[^1]);
        for (int i = 1; i < progress.Reports.Count; i++)
            Assert.True(progress.Reports[i].BytesDone >= progress.Reports[i - 1].BytesDone);
    }

    [Fact]
    public async Task Download_WrongChecksum_IsRefusedAndLeavesNothing()
    {
        byte[] zip = BeirZip(Name);
        using var server = new LoopbackZipServer(new() { [$"/datasets/{Name}.zip"] = zip });
        const string wrong = "0123456789abcdef0123456789abcdef";

        var e = await Assert.ThrowsAsync<RelevoException>(() =>
            BeirDownloader.DownloadAsync(Name, _cache, null, baseAddress: server.BaseAddress, expectedMd5: wrong));

        Assert.Contains($"{Name}.zip", e.Message);
        Assert.Contains(wrong, e.Message);
        Assert.Contains(Md5(zip), e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(_cache));
    }

    [Fact]
    public async Task Download_NameWithoutKnownChecksum_IsRefusedBeforeAnyRequest()
    {
        using var server = new LoopbackZipServer(new() { [$"/datasets/{Name}.zip"] = BeirZip(Name) });

        var e = await Assert.ThrowsAsync<RelevoException>(() =>
            BeirDownloader.DownloadAsync(Name, _cache, null, baseAddress: server.BaseAddress));

        Assert.Contains(Name, e.Message);
        Assert.Contains("allowUnverified", e.Message);
        Assert.Contains("scifact", e.Message);
        Assert.Equal(0, server.Requests);
        Assert.False(Directory.Exists(Path.Combine(_cache, Name)));
    }

    [Fact]
    public async Task Download_AllowUnverified_DownloadsAnUnknownName()
    {
        using var server = new LoopbackZipServer(new() { [$"/datasets/{Name}.zip"] = BeirZip(Name) });

        string folder = await BeirDownloader.DownloadAsync(Name, _cache, null, baseAddress: server.BaseAddress, allowUnverified: true);

        Assert.True(File.Exists(Path.Combine(folder, "qrels", "test.tsv")));
    }

    [Fact]
    public async Task Download_Http404_GivesClearErrorAndLeavesNothing()
    {
        using var server = new LoopbackZipServer([]);

        var e = await Assert.ThrowsAsync<RelevoException>(() =>
            BeirDownloader.DownloadAsync(Name, _cache, null, baseAddress: server.BaseAddress, expectedMd5: new string('0', 32)));

        Assert.Contains("404", e.Message);
        Assert.Contains($"{Name}.zip", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(_cache));
    }

    [Fact]
    public async Task Download_PathLikeName_IsRefused()
    {
        await Assert.ThrowsAsync<RelevoException>(() =>
            BeirDownloader.DownloadAsync("../evil", _cache, null, allowUnverified: true));
    }

    [Fact]
    public void KnownChecksums_CoverThePublicBeirDatasets()
    {
        string[] names =
        [
            "msmarco", "trec-covid", "nfcorpus", "nq", "hotpotqa", "fiqa", "arguana", "webis-touche2020",
            "cqadupstack", "quora", "dbpedia-entity", "scidocs", "fever", "climate-fever", "scifact",
        ];
        Assert.Equal(names.Order(), BeirDownloader.KnownChecksums.Keys.Order());
        Assert.All(BeirDownloader.KnownChecksums.Values, md5 => Assert.Matches("^[0-9a-f]{32}$", md5));
        Assert.Equal("5f7d1de60b170fc8027bb7898e2efca1", BeirDownloader.KnownChecksums["scifact"]);
    }

    [Fact]
    public void DatasetUrl_FollowsTheBeirAddress()
    {
        Assert.Equal(
            "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/scifact.zip",
            BeirDownloader.DatasetUrl("scifact", BeirDownloader.DefaultBaseAddress).ToString());
        Assert.Equal("http://127.0.0.1:1/x/nq.zip", BeirDownloader.DatasetUrl("nq", new Uri("http://127.0.0.1:1/x")).ToString());
    }

    [Fact]
    public void ResolveOrDownload_DownloadsAKnownNameFoundNowhere()
    {
        byte[] zip = BeirZip(Name);
        using var server = new LoopbackZipServer(new() { [$"/datasets/{Name}.zip"] = zip });
        var checksums = new Dictionary<string, string> { [Name] = Md5(zip) };

        BeirDataset first = DatasetLocator.ResolveOrDownload(Name, null, null, server.BaseAddress, checksums, _cache);
        BeirDataset second = DatasetLocator.ResolveOrDownload(Name, null, null, server.BaseAddress, checksums, _cache);

        Assert.Equal(Path.Combine(_cache, Name, "corpus.jsonl"), first.CorpusPath);
        Assert.Equal(first, second);
        Assert.Equal(1, server.Requests);
    }

    [Fact]
    public void ResolveOrDownload_UnknownName_ListsFoldersAndKnownNames()
    {
        var e = Assert.Throws<RelevoException>(() => DatasetLocator.ResolveOrDownload("no-such-dataset-" + Guid.NewGuid().ToString("N")));

        foreach (string folder in DatasetLocator.SearchFolders())
            Assert.Contains(folder, e.Message);
        Assert.Contains("scifact", e.Message);
        Assert.Contains("trec-covid", e.Message);
    }
}
