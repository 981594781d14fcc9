using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Relevo.Server;

/// <summary>`relevo serve`: an index as a JSON API (described at /openapi.json) and a search page at /, on Kestrel.
/// Start it with <see cref="StartAsync"/>; dispose it to stop.</summary>
public sealed class RelevoServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly SearchIndex _index;

    /// <summary>The addresses actually bound (a port 0 in the options is replaced by the port chosen).</summary>
    public IReadOnlyList<string> Addresses { get; }

    /// <summary>What is served: the index folder, or the sharded index's description (e.g. "4 shards in /data/idx").</summary>
    public string Serving => _index.Description;

    private RelevoServer(WebApplication app, SearchIndex index, IReadOnlyList<string> addresses)
    {
        _app = app;
        _index = index;
        Addresses = addresses;
    }

    /// <summary>Opens the index (an index folder, a sharded index folder, or <see cref="ServerOptions.Connect"/>), binds
    /// the addresses and starts serving. <paramref name="extraLogger"/> receives
    /// every log event too (tests use it).</summary>
    public static async Task<RelevoServer> StartAsync(ServerOptions options, ILoggerProvider? extraLogger = null,
        CancellationToken cancellation = default)
    {
        options.Validate();
        var problems = new ProblemLog();
        var index = Open(options, problems);
        try
        {
            var app = Build(options, index, extraLogger, Allowed(options, index));
            problems.Log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Relevo.Server.Index");
            try
            {
                await app.StartAsync(cancellation);
            }
            catch (IOException e)
            {
                await app.DisposeAsync();
                throw new RelevoException($"--urls {string.Join(';', options.Urls)}: cannot listen ({e.Message})", e);
            }
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToArray() ?? [];
            s_serving(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Relevo.Server"),
                index.IsSharded ? "sharded" : "local", index.Description, options.ApiKey is not null, null);
            return new RelevoServer(app, index, addresses);
        }
        catch
        {
            index.Dispose();
            throw;
        }
    }

    /// <summary>Runs until the process is asked to stop (Ctrl+C, SIGTERM) or <paramref name="cancellation"/> fires.</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellation = default) => _app.WaitForShutdownAsync(cancellation);

    /// <summary>Stops serving and closes the index.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await _app.StopAsync();
        }
        finally
        {
            await _app.DisposeAsync();
            _index.Dispose();
        }
    }

    /// <summary>The served index the options name: a cluster's (through <see cref="ServerOptions.Connect"/>), or the index
    /// folder (an ordinary or a sharded index, whose shards are then served in this process).</summary>
    internal static SearchIndex Open(ServerOptions options, ProblemLog problems)
    {
        if (options.Connect is { } connect) return connect();
        string dir = Path.GetFullPath(options.IndexDirectory);
        if (!Directory.Exists(dir)) throw new RelevoException($"{dir}: no such index folder");
        return SearchIndex.Open(dir, new SearchIndexOptions
        {
            // clients name learned models by name only (the CLI passes its --models folder; none by default)
            Extensions = options.Extensions.Any(e => e is ServedModels) ? options.Extensions : [.. options.Extensions, new ServedModels(null)],
            Writable = options.ApiKey is not null,
            Problem = problems.Report,
        });
    }

    /// <summary>Problems that fail no request (a reader refresh, a background merge), logged once the log exists.</summary>
    internal sealed class ProblemLog
    {
        public ILogger? Log { get; set; }
        public void Report(string message, Exception e) => Log?.LogWarning(e, "{Problem}", message);
    }

    /// <summary>The canonical texts of the operator's allowed pipelines (a syntax error names the option).</summary>
    internal static List<string>? Allowed(ServerOptions options, SearchIndex index)
    {
        if (options.AllowedPipelines is not { } given) return null;
        var list = new List<string>();
        foreach (var p in given)
        {
            try
            {
                string canonical = index.CanonicalPipeline(p);
                if (!list.Contains(canonical)) list.Add(canonical);
            }
            catch (RelevoException e)
            {
                throw new RelevoException($"--pipelines: '{p}': {e.Message}", e);
            }
        }
        return list;
    }

    private static WebApplication Build(ServerOptions options, SearchIndex index, ILoggerProvider? extraLogger, List<string>? allowed)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(RelevoServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            Args = [],
        });
        builder.WebHost.UseUrls([.. options.Urls]);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            // RequestBodies sets each request's own limit before its body is read; this is only the ceiling. Kestrel's
            // minimum body data rate (240 bytes/s after a 5 s grace) stays on beside ServerOptions.BodyTimeout.
            k.Limits.MaxRequestBodySize = RequestBodies.DrainLimit(Math.Max(options.MaxBodyBytes, options.MaxSearchBodyBytes));
        });

        builder.Logging.ClearProviders();
        if (options.LogRequests)
        {
            builder.Logging.AddJsonConsole(o =>
            {
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.UseUtcTimestamp = true;
                o.JsonWriterOptions = new System.Text.Json.JsonWriterOptions { Indented = false };
            });
        }
        if (extraLogger is not null) builder.Logging.AddProvider(extraLogger);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);

        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.Configure<JsonOptions>(o => o.SerializerOptions.WriteIndented = false);
        builder.Services.AddOpenApi(o => o.AddDocumentTransformer((doc, _, _) =>
        {
            doc.Info.Title = "Relevo";
            doc.Info.Description = "Search an index (BM25 and, where the index has them, other pipelines), read and write its documents. " +
                                   "Writes need `Authorization: Bearer <api key>`.";
            doc.Info.Version = "1";
            return Task.CompletedTask;
        }));
        builder.Services.AddSingleton(_ => new Admission(options)); // created by the container, so disposed with it

        var context = new ServerContext(options, index, new QueryStats(), Stopwatch.StartNew()) { Allowed = allowed };
        builder.Services.AddSingleton(context);
        if (options.Mcp)
        {
            // stateless: every MCP request is one POST, admitted, bounded and timed like any other request
            var mcp = builder.Services.AddMcpServer(o => RelevoMcpServer.Configure(o, context)).WithHttpTransport(t => t.Stateless = true);
            RelevoMcpServer.AddTools(mcp, context);
        }

        var app = builder.Build();
        var requestLog = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Relevo.Server.Requests");
        var errorLog = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Relevo.Server");
        app.Use((ctx, next) => LogRequest(ctx, next, requestLog));
        app.Use((ctx, next) => MapErrors(ctx, next, errorLog));
        // Routing first, so that the body step knows the endpoint's body limit; the body is read before admission,
        // so neither a large body nor a slow one holds one of the concurrent places.
        app.UseRouting();
        app.Use((ctx, next) => RequestBodies.HandleAsync(ctx, next, context));
        var admission = app.Services.GetRequiredService<Admission>();
        app.Use((ctx, next) => admission.HandleAsync(ctx, next));
        app.MapOpenApi("/openapi.json");
        Endpoints.Map(app);
        if (options.Mcp) app.MapMcp("/mcp").WithMetadata(new TakesBody(BodyKind.Mcp));
        WebPage.Map(app);
        return app;
    }

    private static readonly Action<ILogger, string, string, bool, Exception?> s_serving =
        LoggerMessage.Define<string, string, bool>(LogLevel.Information, new EventId(2, "serving"),
            "serving {Mode} index {Index} (writable: {Writable})");

    private static readonly Action<ILogger, string, string, int, double, Exception?> s_request =
        LoggerMessage.Define<string, string, int, double>(LogLevel.Information, new EventId(1, "request"),
            "{Method} {Path} {Status} {ElapsedMs} ms");

    private static async Task LogRequest(HttpContext ctx, RequestDelegate next, ILogger log)
    {
        long start = Stopwatch.GetTimestamp();
        try
        {
            await next(ctx);
        }
        finally
        {
            double ms = Math.Round(Stopwatch.GetElapsedTime(start).TotalMilliseconds, 3);
            s_request(log, ctx.Request.Method, ctx.Request.Path.Value ?? "", ctx.Response.StatusCode, ms, null);
        }
    }

    private static async Task MapErrors(HttpContext ctx, RequestDelegate next, ILogger log)
    {
        try
        {
            await next(ctx);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nobody reads an answer.
        }
        catch (Exception e) when (!ctx.Response.HasStarted)
        {
            var (status, message) = e switch
            {
                ApiException a => (a.StatusCode, a.Message),
                RelevoException r => (400, r.Message),
                BadHttpRequestException { InnerException: System.Text.Json.JsonException j } b => (b.StatusCode, $"{b.Message} {j.Message}"),
                BadHttpRequestException b => (b.StatusCode, b.Message),
                _ => (500, "internal error; see the server log"),
            };
            if (status >= 500 && e is not ApiException) log.LogError(e, "{Method} {Path} failed", ctx.Request.Method, ctx.Request.Path.Value);
            var api = e as ApiException;
            // Kestrel refused the body (too large, too slow), leaving it unread: close the connection too.
            bool close = api?.CloseConnection ?? e is BadHttpRequestException { StatusCode: 408 or 413 };
            await WriteError(ctx, status, message, api?.RetryAfterSeconds, close);
        }
    }

    internal static Task WriteError(HttpContext ctx, int status, string message, int? retryAfterSeconds = null, bool closeConnection = false)
    {
        ctx.Response.Clear();
        ctx.Response.StatusCode = status;
        if (status == 401) ctx.Response.Headers.WWWAuthenticate = "Bearer";
        if (retryAfterSeconds is { } seconds) ctx.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (closeConnection) ctx.Response.Headers.Connection = "close";
        return ctx.Response.WriteAsJsonAsync(new ErrorResponse(message, status));
    }
}

/// <summary>What every endpoint needs: the options, the served index and the statistics.</summary>
internal sealed record ServerContext(ServerOptions Options, SearchIndex Index, QueryStats Stats, Stopwatch Uptime)
{
    /// <summary>Writes are accepted (the server has an API key).</summary>
    public bool Writable => Options.ApiKey is not null;

    /// <summary>The canonical texts of <see cref="ServerOptions.AllowedPipelines"/>, in order; null: any pipeline.</summary>
    public IReadOnlyList<string>? Allowed { get; init; }

    /// <summary>The pipeline a request without one runs.</summary>
    public string DefaultPipeline => Allowed is { } a ? a[0] : "bm25";

    /// <summary>The canonical pipeline to run for what a client asked (a syntax error is a 400 naming the column; a
    /// pipeline the operator did not allow is a 403).</summary>
    public string Pipeline(string? requested)
    {
        string text = string.IsNullOrWhiteSpace(requested) ? DefaultPipeline : requested;
        if (Allowed is not { } allowed) return text;
        string canonical = Index.CanonicalPipeline(text);
        foreach (var a in allowed) if (a == canonical) return canonical;
        throw new ApiException(403, $"pipeline: '{canonical}' is not offered by this server; it offers {string.Join("; ", allowed)}");
    }

    /// <summary>The choices a page offers: the index's, only those allowed, and the allowed ones it lacks.</summary>
    public IReadOnlyList<PipelineChoice> Choices()
    {
        var choices = Index.PipelineChoices();
        if (Allowed is not { } allowed) return choices;
        var list = new List<PipelineChoice>();
        foreach (var a in allowed)
        {
            PipelineChoice? found = null;
            foreach (var c in choices) if (Index.CanonicalPipeline(c.Pipeline) == a) found = c;
            list.Add(found ?? new PipelineChoice(a, a, a));
        }
        return list;
    }

    /// <summary>Runs <paramref name="work"/> with a token that stops it when the client leaves or
    /// <see cref="ServerOptions.RequestTimeout"/> passes; work the time budget stopped answers 503.</summary>
    public async Task<T> WithinBudget<T>(string what, CancellationToken aborted, Func<CancellationToken, Task<T>> work)
    {
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        budget.CancelAfter(Options.RequestTimeout);
        try
        {
            return await work(budget.Token);
        }
        catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
        {
            throw new ApiException(503, $"the {what} ran past this server's time budget of {Options.RequestTimeout.TotalSeconds:0.###} s " +
                                        "and was stopped; try a simpler pipeline or a smaller k") { RetryAfterSeconds = 1 };
        }
    }
}
