using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Relevo.Collections;
using Relevo.Index;

namespace Relevo.Server.Tests;

/// <summary>Shared test collections, found as the CLI finds them: $RELEVO_DATA, then ../shared/datasets beside the repository.</summary>
internal static class TestData
{
    public static BeirDataset Dataset(string name) => DatasetLocator.Resolve(name);

    public static readonly Document[] Small =
    [
        new("d1", "Vitamin D and cancer", "Vitamin D deficiency is linked to a higher risk of several cancers."),
        new("d2", "Sleep and memory", "Deep sleep consolidates memory; missing sleep harms recall."),
        new("d3", "Coffee", "Coffee drinkers report less fatigue, and caffeine blocks adenosine."),
        new("d4", "Exercise and the heart", "Regular exercise lowers blood pressure and strengthens the heart."),
        new("d5", "Vitamin C", "Vitamin C does not prevent the common cold in most people."),
    ];

    /// <summary>A committed index of <paramref name="docs"/> in a new folder.</summary>
    public static void BuildIndex(string dir, IEnumerable<Document> docs)
    {
        using var w = IndexWriter.Open(dir, new IndexWriterOptions { ReplaceExisting = true });
        foreach (var d in docs) w.Add(d);
        w.Commit();
    }
}

/// <summary>A fresh folder under the temp directory, deleted afterwards.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "relevo-server-test-" + Guid.NewGuid().ToString("N")[..12]);

    public TempDir() => Directory.CreateDirectory(Path);

    public string this[string name] => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

/// <summary>A server on a free loopback port over an index folder, with a client pointed at it.</summary>
internal sealed class ServerHarness : IAsyncDisposable
{
    public const string Key = "test-key-0123456789";
    public RelevoServer Server { get; }
    public HttpClient Client { get; }
    public Uri BaseAddress { get; }
    public CapturingLoggerProvider Log { get; }

    private ServerHarness(RelevoServer server, CapturingLoggerProvider log)
    {
        Server = server;
        Log = log;
        BaseAddress = new Uri(server.Addresses[0]);
        Client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public static async Task<ServerHarness> StartAsync(string indexDir, Func<ServerOptions, ServerOptions>? configure = null, bool withKey = true)
    {
        var options = new ServerOptions
        {
            IndexDirectory = indexDir,
            Urls = ["http://127.0.0.1:0"],
            ApiKey = withKey ? Key : null,
            LogRequests = false,
        };
        if (configure is not null) options = configure(options);
        var log = new CapturingLoggerProvider();
        return new ServerHarness(await RelevoServer.StartAsync(options, log), log);
    }

    public HttpRequestMessage Authorized(HttpMethod method, string path, HttpContent? content = null)
    {
        var m = new HttpRequestMessage(method, path) { Content = content };
        m.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        return m;
    }

    public async Task<HttpResponseMessage> PostDocuments(string body, string contentType = "application/json") =>
        await Client.SendAsync(Authorized(HttpMethod.Post, "/api/documents", new StringContent(body, System.Text.Encoding.UTF8, contentType)));

    public async Task<JsonElement> GetJson(string path)
    {
        var r = await Client.GetAsync(path);
        string text = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, $"GET {path}: {(int)r.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public async Task<JsonElement> Search(string q, int k = 10, string extra = "") =>
        await GetJson($"/api/search?q={Uri.EscapeDataString(q)}&k={k}{extra}");

    public static List<string> Ids(JsonElement search)
    {
        var ids = new List<string>();
        foreach (var h in search.GetProperty("hits").EnumerateArray()) ids.Add(h.GetProperty("id").GetString()!);
        return ids;
    }

    public static async Task<(int Status, string Error)> Error(HttpResponseMessage r)
    {
        string text = await r.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(text);
        return ((int)r.StatusCode, json.RootElement.GetProperty("error").GetString()!);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
    }
}

/// <summary>Keeps every log event (category, message, structured state) for assertions.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(string Category, LogLevel Level, string Message, IReadOnlyList<KeyValuePair<string, object?>> State)> Events { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() { }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var kv = state as IReadOnlyList<KeyValuePair<string, object?>> ?? [];
            owner.Events.Enqueue((category, logLevel, formatter(state, exception), kv.ToArray()));
        }
    }
}
