using System.Diagnostics;
using System.Globalization;
using System.Net;
using Relevo.Collections;
using Relevo.Index;
using Xunit.Abstractions;

using Relevo.Server;

namespace Relevo.IntegrationTests.Server;

/// <summary>A bounded load run on loopback against the SciFact index: N clients send its queries for a fixed time
/// (and at most a fixed count); every answer must be a 200. CI runs it for 3 s; the figures in docs/benchmarks.md
/// come from `RELEVO_LOAD_SECONDS=60` (see there).</summary>
public sealed class LoadTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Eight_clients_against_scifact_get_no_errors()
    {
        int seconds = int.TryParse(Environment.GetEnvironmentVariable("RELEVO_LOAD_SECONDS"), out int s) ? Math.Clamp(s, 1, 600) : 3;
        int clients = int.TryParse(Environment.GetEnvironmentVariable("RELEVO_LOAD_CLIENTS"), out int c) ? Math.Clamp(c, 1, 64) : 8;
        const int maxRequests = 5_000_000;

        var data = TestData.Dataset("scifact");
        using (var writer = IndexWriter.Open(_dir["idx"]))
        {
            CorpusIndexer.AddCorpus(writer, data.CorpusPath);
            writer.Commit();
        }
        var queries = JsonlReader.ReadQueries(data.QueriesPath).Select(q => q.Text).ToArray();
        await using var h = await ServerHarness.StartAsync(_dir["idx"], withKey: false);

        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = clients, UseProxy = false };
        using var client = new HttpClient(handler) { BaseAddress = h.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        long issued = 0, errors = 0;
        var firstErrors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var latencies = new List<double>[clients];
        var clock = Stopwatch.StartNew();
        var deadline = TimeSpan.FromSeconds(seconds);
        var workers = Enumerable.Range(0, clients).Select(w => Task.Run(async () =>
        {
            var mine = latencies[w] = new List<double>(1 << 16);
            while (clock.Elapsed < deadline)
            {
                long n = Interlocked.Increment(ref issued);
                if (n > maxRequests) break;
                string q = queries[(int)(n % queries.Length)];
                long start = Stopwatch.GetTimestamp();
                try
                {
                    using var r = await client.GetAsync($"/api/search?k=10&q={Uri.EscapeDataString(q)}");
                    await r.Content.ReadAsByteArrayAsync();
                    if (r.StatusCode != HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref errors);
                        if (firstErrors.Count < 5) firstErrors.Enqueue($"{(int)r.StatusCode} for '{q}'");
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    Interlocked.Increment(ref errors);
                    if (firstErrors.Count < 5) firstErrors.Enqueue(e.Message);
                }
                mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        })).ToArray();
        await Task.WhenAll(workers);
        double elapsed = clock.Elapsed.TotalSeconds;

        var all = latencies.SelectMany(l => l).Order().ToArray();
        var stats = await h.GetJson("/api/stats");
        var server = stats.GetProperty("latency");
        string report = string.Format(CultureInfo.InvariantCulture,
            "load: {0} clients, {1:F1} s, {2} requests, {3} errors, {4:F0} req/s; client latency p50 {5:F2} ms, p99 {6:F2} ms, max {7:F2} ms; " +
            "server search p50 {8} ms, p99 {9} ms (last {10})",
            clients, elapsed, all.Length, errors, all.Length / elapsed, QueryStats.Percentile(all, 0.50), QueryStats.Percentile(all, 0.99), all[^1],
            server.GetProperty("p50Ms").GetDouble(), server.GetProperty("p99Ms").GetDouble(), server.GetProperty("window").GetInt32());
        output.WriteLine(report);
        if (Environment.GetEnvironmentVariable("RELEVO_LOAD_REPORT") is { Length: > 0 } path) File.WriteAllText(path, report + Environment.NewLine);

        Assert.True(errors == 0, $"{errors} errors, first: {string.Join("; ", firstErrors)}");
        Assert.True(all.Length > clients, "the load run sent almost no requests");
        Assert.Equal(all.Length, stats.GetProperty("queriesServed").GetInt64());
    }

    [Fact]
    public async Task Eight_clients_searching_and_writing_lose_no_acknowledged_write()
    {
        int seconds = int.TryParse(Environment.GetEnvironmentVariable("RELEVO_LOAD_SECONDS"), out int s) ? Math.Clamp(s, 1, 600) : 3;
        int clients = int.TryParse(Environment.GetEnvironmentVariable("RELEVO_LOAD_CLIENTS"), out int c) ? Math.Clamp(c, 1, 64) : 8;
        const int WriteEvery = 5; // one request in five is a one-document write

        var data = TestData.Dataset("scifact");
        using (var writer = IndexWriter.Open(_dir["mixed"]))
        {
            CorpusIndexer.AddCorpus(writer, data.CorpusPath);
            writer.Commit();
        }
        var queries = JsonlReader.ReadQueries(data.QueriesPath).Select(q => q.Text).ToArray();
        await using var h = await ServerHarness.StartAsync(_dir["mixed"]);

        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = clients, UseProxy = false };
        using var client = new HttpClient(handler) { BaseAddress = h.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        long issued = 0, errors = 0;
        var firstErrors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var acknowledged = new System.Collections.Concurrent.ConcurrentBag<string>();
        var searchLatencies = new List<double>[clients];
        var writeLatencies = new List<double>[clients];
        var clock = Stopwatch.StartNew();
        var deadline = TimeSpan.FromSeconds(seconds);
        var workers = Enumerable.Range(0, clients).Select(w => Task.Run(async () =>
        {
            var searches = searchLatencies[w] = new List<double>(1 << 14);
            var writes = writeLatencies[w] = new List<double>(1 << 12);
            while (clock.Elapsed < deadline)
            {
                long n = Interlocked.Increment(ref issued);
                bool write = n % WriteEvery == 0;
                string q = queries[(int)(n % queries.Length)];
                string id = $"load-{n}";
                long start = Stopwatch.GetTimestamp();
                try
                {
                    using var r = write
                        ? await client.SendAsync(h.Authorized(HttpMethod.Post, "/api/documents", new StringContent(
                            $"{{\"_id\":\"{id}\",\"title\":\"written under load\",\"text\":{System.Text.Json.JsonSerializer.Serialize(q)}}}",
                            System.Text.Encoding.UTF8, "application/json")))
                        : await client.GetAsync($"/api/search?k=10&q={Uri.EscapeDataString(q)}");
                    await r.Content.ReadAsByteArrayAsync();
                    if (r.StatusCode != HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref errors);
                        if (firstErrors.Count < 5) firstErrors.Enqueue($"{(int)r.StatusCode} for {(write ? "a write" : $"'{q}'")}");
                    }
                    else if (write) acknowledged.Add(id);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    Interlocked.Increment(ref errors);
                    if (firstErrors.Count < 5) firstErrors.Enqueue(e.Message);
                }
                (write ? writes : searches).Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        })).ToArray();
        await Task.WhenAll(workers);
        double elapsed = clock.Elapsed.TotalSeconds;

        // every acknowledged write is there, and nothing else was added
        var lost = new List<string>();
        foreach (var id in acknowledged)
        {
            using var r = await client.GetAsync($"/api/documents/{id}");
            if (r.StatusCode != HttpStatusCode.OK) lost.Add(id);
        }
        var health = await h.GetJson("/api/health");
        var stats = await h.GetJson("/api/stats");
        var search = searchLatencies.SelectMany(l => l).Order().ToArray();
        var write = writeLatencies.SelectMany(l => l).Order().ToArray();
        string report = string.Format(CultureInfo.InvariantCulture,
            "mixed load: {0} clients, {1:F1} s, {2} searches and {3} writes ({4} acknowledged), {5} errors, {6} acknowledged writes lost; " +
            "search p50 {7:F2} ms, p99 {8:F2} ms; write p50 {9:F2} ms, p99 {10:F2} ms; {11} segments at the end",
            clients, elapsed, search.Length, write.Length, acknowledged.Count, errors, lost.Count,
            QueryStats.Percentile(search, 0.50), QueryStats.Percentile(search, 0.99),
            write.Length == 0 ? 0 : QueryStats.Percentile(write, 0.50), write.Length == 0 ? 0 : QueryStats.Percentile(write, 0.99),
            stats.GetProperty("segments").GetInt32());
        output.WriteLine(report);
        if (Environment.GetEnvironmentVariable("RELEVO_LOAD_REPORT") is { Length: > 0 } path) File.AppendAllText(path, report + Environment.NewLine);

        Assert.True(errors == 0, $"{errors} errors, first: {string.Join("; ", firstErrors)}");
        Assert.True(lost.Count == 0, $"{lost.Count} acknowledged writes not found, e.g. {string.Join(", ", lost.Take(5))}");
        Assert.Equal(5_183 + acknowledged.Count, health.GetProperty("documents").GetInt32());
        Assert.True(write.Length > 0 && search.Length > clients, "the load run sent almost no requests");
    }
}
