using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Relevo.Collections;
using Relevo.Index;

using Relevo.Server;

namespace Relevo.IntegrationTests.Server;

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

/// <summary>Sends its bytes as JSON without a Content-Length (chunked), 512 bytes at a time.</summary>
internal sealed class ChunkedContent : HttpContent
{
    private readonly byte[] _bytes;

    public ChunkedContent(byte[] bytes)
    {
        _bytes = bytes;
        Headers.ContentType = new MediaTypeHeaderValue("application/json");
    }

    protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
    {
        for (int i = 0; i < _bytes.Length; i += 512)
            await stream.WriteAsync(_bytes.AsMemory(i, Math.Min(512, _bytes.Length - i)));
    }

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}
