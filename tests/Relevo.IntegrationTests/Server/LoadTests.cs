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
}
