using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;

namespace Relevo.IntegrationTests.Server;

/// <summary>Thousands of one-document writes to a real `relevo serve` under a 1,024-descriptor limit: every write is
/// answered 200, every acknowledged document is found before and after a SIGKILL and restart, and segments stay few
/// because they merge in the background.</summary>
public sealed class WriteSoakTests(ITestOutputHelper output) : IDisposable
{
    private const string Key = "soak-test-key-1234";
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Five_thousand_small_writes_under_ulimit_1024_are_all_kept()
    {
        const int Writes = 5_000, Clients = 4;
        string index = _dir["idx"];
        TestIndexes.Write(index, TestIndexes.Small);
        var acknowledged = new ConcurrentBag<string>();
        var failures = new ConcurrentQueue<string>();
        var latencies = new ConcurrentBag<double>();
        using (var server = ServeProcess.Start(["--index", index, "--api-key", Key], fileDescriptorLimit: 1024))
        {
            using var http = new HttpClient { BaseAddress = new Uri(server.Address), Timeout = TimeSpan.FromSeconds(60) };
            int next = -1;
            async Task Client()
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < Writes)
                {
                    string id = $"soak-{i}";
                    using var post = new HttpRequestMessage(HttpMethod.Post, "/api/documents")
                    {
                        Content = new StringContent($"{{\"_id\":\"{id}\",\"title\":\"soak {i}\",\"text\":\"write number {i} of the soak\"}}\n",
                            Encoding.UTF8, "application/x-ndjson"),
                    };
                    post.Headers.Authorization = new("Bearer", Key);
                    long t0 = Stopwatch.GetTimestamp();
                    using var r = await http.SendAsync(post);
                    latencies.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                    if (r.StatusCode == HttpStatusCode.OK) acknowledged.Add(id);
                    else failures.Enqueue($"{id}: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
                }
            }
            await Task.WhenAll(Enumerable.Range(0, Clients).Select(_ => Client()));
            Assert.True(failures.IsEmpty, $"{failures.Count} writes failed, e.g. {string.Join("; ", failures.Take(3))}");
            Assert.Equal(Writes, acknowledged.Count);
            await AssertAllFound(http, acknowledged, "while serving");
            using var stats = JsonDocument.Parse(await http.GetStringAsync("/api/stats"));
            int segments = stats.RootElement.GetProperty("segments").GetInt32();
            Assert.InRange(segments, 1, 60); // 5,000 commits, merged in the background as they pile up
            var sorted = latencies.Order().ToArray();
            output.WriteLine($"{Writes} writes by {Clients} clients: p50 {sorted[sorted.Length / 2]:F1} ms, p99 {sorted[(int)(sorted.Length * 0.99)]:F1} ms; " +
                             $"{segments} segments at the end");
            server.Kill();
        }
        // Restart under the same limit: the index opens, and nothing acknowledged was lost.
        using (var server = ServeProcess.Start(["--index", index, "--api-key", Key], fileDescriptorLimit: 1024))
        {
            using var http = new HttpClient { BaseAddress = new Uri(server.Address) };
            await AssertAllFound(http, acknowledged, "after a SIGKILL and a restart");
            using var health = JsonDocument.Parse(await http.GetStringAsync("/api/health"));
            Assert.Equal(TestIndexes.Small.Length + Writes, health.RootElement.GetProperty("documents").GetInt32());
        }
        Assert.InRange(Directory.GetFiles(index).Length, 1, 400);
    }

    private static async Task AssertAllFound(HttpClient http, IEnumerable<string> ids, string when)
    {
        var missing = new List<string>();
        foreach (var id in ids)
        {
            using var r = await http.GetAsync($"/api/documents/{id}");
            if (r.StatusCode != HttpStatusCode.OK) missing.Add($"{id} ({(int)r.StatusCode})");
        }
        Assert.True(missing.Count == 0, $"{missing.Count} acknowledged documents not found {when}, e.g. {string.Join(", ", missing.Take(5))}");
    }
}
