using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;

using Relevo.Server;

namespace Relevo.IntegrationTests.Server;

/// <summary>The real `relevo serve` (relevo.dll beside the tests) as a child process: it binds loopback, logs one JSON
/// line per request, and a write it answered 200 survives the process being killed (SIGKILL, no clean shutdown).</summary>
public sealed class ServeCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private ServeProcess Serve(params string[] extra) => ServeProcess.Start(["--index", _dir["idx"], .. extra]);

    [Fact]
    public async Task Relevo_serve_answers_logs_json_lines_and_keeps_a_write_through_a_kill()
    {
        TestIndexes.Write(_dir["idx"], TestIndexes.Small);
        const string key = "cli-test-key-42";
        using (var child = Serve("--api-key", key))
        {
            using var http = new HttpClient { BaseAddress = new Uri(child.Address) };
            var post = new HttpRequestMessage(HttpMethod.Post, "/api/documents")
            {
                Content = new StringContent("{\"_id\":\"k1\",\"title\":\"Quagga\",\"text\":\"extinct zebra\"}\n", Encoding.UTF8, "application/x-ndjson"),
            };
            post.Headers.Authorization = new("Bearer", key);
            Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(post)).StatusCode);
            Assert.Contains("\"k1\"", await http.GetStringAsync("/api/search?q=quagga"));
            Assert.Contains("<input id=\"q\"", await http.GetStringAsync("/"));
            // The console logger writes from a background queue: give it a moment before the kill.
            static string[] RequestLines(string output) => output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Where(l => l.Contains("\"Relevo.Server.Requests\"", StringComparison.Ordinal)).ToArray();
            child.WaitForOutput(o => RequestLines(o).Length >= 3, TimeSpan.FromSeconds(20));
            child.Process.Kill(); // SIGKILL: no shutdown, no flush
            await child.Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            var lines = RequestLines(child.Stdout);
            Assert.Equal(3, lines.Length);
            Assert.All(lines, l => Assert.StartsWith("{", l.TrimStart()));
            Assert.Contains("\"Path\":\"/api/documents\"", lines[0]);
        }
        using (var child = Serve())
        {
            using var http = new HttpClient { BaseAddress = new Uri(child.Address) };
            Assert.Contains("\"Quagga\"", await http.GetStringAsync("/api/documents/k1"));
            var r = await http.PostAsync("/api/documents", new StringContent("[]"));
            Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
        }
    }

    [Fact]
    public async Task Relevo_serve_on_a_folder_without_an_index_fails_with_one_clear_line()
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "relevo.dll"), "serve", "--index", _dir.Path, "--urls", "http://127.0.0.1:0" })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(1, p.ExitCode);
        Assert.Equal($"error: {_dir.Path}: not an index (no manifest); create one with `relevo index`", (await stderr).Trim());
        await stdout;
    }
    [Fact]
    public async Task Relevo_serve_serves_a_sharded_folder_in_process()
    {
        using (var w = SearchIndex.OpenWriter(_dir["idx"], new WriterOptions { Shards = 3 }))
        {
            w.AddRange(TestIndexes.Small);
            w.Commit();
        }
        using var child = Serve();
        using var http = new HttpClient { BaseAddress = new Uri(child.Address) };
        Assert.Contains("\"d1\"", await http.GetStringAsync("/api/search?q=vitamin+cancer"));
        Assert.Contains("\"shards\":3", await http.GetStringAsync("/api/stats"));
        child.WaitForOutput(o => o.Contains("\"Mode\":\"sharded\"", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
        Assert.Contains("\"Index\":\"3 shards in ", child.Stdout);
    }

    [Theory]
    [InlineData(2, "error: --index and --cluster are mutually exclusive: serve an index folder or a cluster", "--index", "idx", "--cluster", "redis://localhost:6379")]
    // No cluster answers there: one error line naming the membership, after the connect timeout.
    [InlineData(1, "error: --cluster redis://127.0.0.1:1: no Relevo cluster", "--cluster", "redis://127.0.0.1:1", "--connect-timeout", "3")]
    public async Task Relevo_serve_cluster_option_is_checked(int exitCode, string messageStart, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])[Path.Combine(AppContext.BaseDirectory, "relevo.dll"), "serve", .. args, "--urls", "http://127.0.0.1:0"])
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(exitCode, p.ExitCode);
        string error = (await stderr).Trim();
        Assert.StartsWith(messageStart, error);
        Assert.DoesNotContain('\n', error);
        await stdout;
    }
}
