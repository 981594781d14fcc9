using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;
using Polly;
using Polly.Retry;
using Polly.Timeout;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace Relevo.Llm;

/// <summary>One generated token with its log-probability and the most likely alternatives at its position.</summary>
internal sealed record LlmToken(string Token, double Logprob, IReadOnlyList<(string Token, double Logprob)> Top);

/// <summary>A chat reply: its text and, when the endpoint returns them, per-token log-probabilities.</summary>
internal sealed record LlmReply(string Text, IReadOnlyList<LlmToken>? Tokens);

/// <summary>One call: an optional system message, the user prompt and the decoding parameters (part of the cache key).</summary>
internal sealed record LlmRequest(string? System, string Prompt, int MaxTokens = 256, int TopLogprobs = 0);

/// <summary>What a run cost and what it had to repair (thread-safe counters).</summary>
internal sealed class LlmStats
{
    private long _requests, _httpCalls, _cacheHits, _retries, _failures, _promptTokens, _completionTokens, _repairs;
    public long Requests => Interlocked.Read(ref _requests);
    public long HttpCalls => Interlocked.Read(ref _httpCalls);
    public long CacheHits => Interlocked.Read(ref _cacheHits);
    public long Retries => Interlocked.Read(ref _retries);
    /// <summary>Calls that failed after every retry; the stage kept the incoming order for what they covered.</summary>
    public long Failures => Interlocked.Read(ref _failures);
    public long PromptTokens => Interlocked.Read(ref _promptTokens);
    public long CompletionTokens => Interlocked.Read(ref _completionTokens);
    /// <summary>Replies that needed repair: missing or duplicate identifiers, unparsable scores, refusals.</summary>
    public long Repairs => Interlocked.Read(ref _repairs);

    internal void Request() => Interlocked.Increment(ref _requests);
    internal void HttpCall() => Interlocked.Increment(ref _httpCalls);
    internal void CacheHit() => Interlocked.Increment(ref _cacheHits);
    internal void Retry(TimeSpan delay)
    {
        Interlocked.Increment(ref _retries);
        LastRetryDelay = delay;
    }

    /// <summary>How long the last retry waited (the server's Retry-After when it sent one, else the backoff).</summary>
    public TimeSpan LastRetryDelay { get; private set; }
    internal void Failure()
    {
        Interlocked.Increment(ref _failures);
        if (Current.Value is { } q) Interlocked.Increment(ref q.Failed);
    }

    /// <summary>Failures and repairs of one query's LLM calls.</summary>
    internal sealed class QueryTally
    {
        public int Failed, Repaired;
    }

    private static readonly AsyncLocal<QueryTally?> Current = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, QueryTally> _byQuery = new(StringComparer.Ordinal);

    /// <summary>Counts the failures and repairs of the calls made until the scope is disposed (on this async flow)
    /// against <paramref name="query"/> as well, for <see cref="ByQuery"/>.</summary>
    public IDisposable ForQuery(string query)
    {
        var outer = Current.Value;
        var tally = _byQuery.GetOrAdd(query, _ => new QueryTally());
        Current.Value = tally;
        return new Restore(() => Current.Value = outer);
    }

    /// <summary>The queries whose calls failed or needed repair, with their counts, ordered by query text.</summary>
    public IReadOnlyList<(string Query, int Failed, int Repaired)> ByQuery()
    {
        var list = new List<(string, int, int)>();
        foreach (var (query, t) in _byQuery)
            if (t.Failed > 0 || t.Repaired > 0) list.Add((query, t.Failed, t.Repaired));
        list.Sort((a, b) => string.CompareOrdinal(a.Item1, b.Item1));
        return list;
    }

    private sealed class Restore(Action restore) : IDisposable
    {
        public void Dispose() => restore();
    }
    internal void Tokens(long prompt, long completion)
    {
        Interlocked.Add(ref _promptTokens, prompt);
        Interlocked.Add(ref _completionTokens, completion);
    }
    public void Repair()
    {
        Interlocked.Increment(ref _repairs);
        if (Current.Value is { } q) Interlocked.Increment(ref q.Repaired);
    }

    public override string ToString() =>
        $"llm: {Requests} requests, {HttpCalls} HTTP calls, {CacheHits} cached, {Retries} retries, {Failures} failed, " +
        $"{Repairs} repaired, {PromptTokens} prompt + {CompletionTokens} completion tokens";
}

/// <summary>An OpenAI-compatible chat endpoint as <see cref="IChatClient"/>: at most <see cref="LlmSettings.Concurrency"/>
/// calls in flight, a per-attempt timeout and retries with exponential backoff and jitter on 429, 5xx and timeouts
/// (Polly), token and call counts, and an on-disk response cache keyed by (model, messages, parameters): a re-run
/// makes no calls and gets the same replies. Temperature is 0.</summary>
internal sealed class LlmClient : IDisposable
{
    private readonly IChatClient _chat;
    private readonly HttpClient _http;
    private readonly SemaphoreSlim _slots;
    private readonly string? _cacheDir;

    public LlmSettings Settings { get; }
    public LlmStats Stats { get; } = new();

    public LlmClient(LlmSettings settings)
    {
        Settings = settings;
        _slots = new SemaphoreSlim(Math.Max(1, settings.Concurrency));
        _cacheDir = settings.CacheDir;
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage>();
        if (settings.MaxRetries > 0) // Polly needs at least one; none: one attempt
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                ShouldHandle = new PredicateBuilder<HttpResponseMessage>()
                    .Handle<HttpRequestException>()
                    .Handle<TimeoutRejectedException>()
                    .HandleResult(r => r.StatusCode == HttpStatusCode.TooManyRequests || (int)r.StatusCode >= 500),
                MaxRetryAttempts = settings.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = settings.RetryDelay,
                MaxDelay = TimeSpan.FromSeconds(60),
                // a 429 or 503 that says when to come back is believed (up to a minute); else exponential backoff
                DelayGenerator = a =>
                {
                    if (a.Outcome.Result?.Headers.RetryAfter is { } ra)
                    {
                        var wait = ra.Delta ?? (ra.Date is { } at ? at - DateTimeOffset.UtcNow : TimeSpan.Zero);
                        if (wait > TimeSpan.Zero) return ValueTask.FromResult<TimeSpan?>(wait < TimeSpan.FromSeconds(60) ? wait : TimeSpan.FromSeconds(60));
                    }
                    return ValueTask.FromResult<TimeSpan?>(null);
                },
                OnRetry = a =>
                {
                    Stats.Retry(a.RetryDelay);
                    a.Outcome.Result?.Dispose();
                    return default;
                },
            });
        var retry = builder.AddTimeout(settings.Timeout).Build();
        _http = new HttpClient(new RetryHandler(retry, Stats) { InnerHandler = new SocketsHttpHandler() })
        {
            Timeout = System.Threading.Timeout.InfiniteTimeSpan,
        };
        var options = new OpenAIClientOptions
        {
            Endpoint = new Uri(settings.Endpoint),
            Transport = new HttpClientPipelineTransport(_http),
            RetryPolicy = new ClientRetryPolicy(0),
            NetworkTimeout = System.Threading.Timeout.InfiniteTimeSpan,
        };
        _chat = new ChatClient(settings.Model, new ApiKeyCredential(settings.ApiKey ?? "none"), options).AsIChatClient();
    }

    // The cancellation of the request a stage or an answer is working for: set around the (synchronous) reranking
    // code, it flows into every call made meanwhile, so a client that leaves or a time budget that runs out stops them.
    private static readonly AsyncLocal<CancellationToken> s_cancellation = new();

    /// <summary>Calls made until the result is disposed (in this async flow) are cancelled by <paramref name="token"/>.</summary>
    public static IDisposable CancelWith(CancellationToken token)
    {
        var previous = s_cancellation.Value;
        s_cancellation.Value = token;
        return new Restore(previous);
    }

    private sealed class Restore(CancellationToken previous) : IDisposable
    {
        public void Dispose() => s_cancellation.Value = previous;
    }

    private static readonly AsyncLocal<List<(LlmRequest Request, LlmReply Reply)>?> s_transcript = new();

    /// <summary>Every answered call made until the result is disposed (in this async flow) is added to
    /// <paramref name="calls"/> with its reply (cached ones too), for explanations.</summary>
    public static IDisposable Record(List<(LlmRequest Request, LlmReply Reply)> calls)
    {
        var previous = s_transcript.Value;
        s_transcript.Value = calls;
        return new RestoreTranscript(previous);
    }

    private sealed class RestoreTranscript(List<(LlmRequest, LlmReply)>? previous) : IDisposable
    {
        public void Dispose() => s_transcript.Value = previous;
    }

    /// <summary>The reply, or null when the endpoint failed after every retry (counted in <see cref="LlmStats.Failures"/>).
    /// Throws <see cref="OperationCanceledException"/> when the request it works for is cancelled (<see cref="CancelWith"/>).</summary>
    public LlmReply? Complete(LlmRequest request) => CompleteAsync(request).GetAwaiter().GetResult();

    /// <summary>Many requests, at most Concurrency at a time; replies in request order.</summary>
    public LlmReply?[] CompleteAll(IReadOnlyList<LlmRequest> requests) =>
        Task.WhenAll(requests.Select(CompleteAsync)).GetAwaiter().GetResult();

    public async Task<LlmReply?> CompleteAsync(LlmRequest request)
    {
        var reply = await CompleteUnrecordedAsync(request).ConfigureAwait(false);
        if (reply is not null && s_transcript.Value is { } calls)
            lock (calls) calls.Add((request, reply));
        return reply;
    }

    private async Task<LlmReply?> CompleteUnrecordedAsync(LlmRequest request)
    {
        Stats.Request();
        string key = CacheKey(request);
        if (ReadCache(key) is { } cached)
        {
            Stats.CacheHit();
            return cached;
        }
        var cancellation = s_cancellation.Value;
        await _slots.WaitAsync(cancellation).ConfigureAwait(false);
        try
        {
            var messages = new List<AiChatMessage>();
            if (request.System is { } sys) messages.Add(new AiChatMessage(ChatRole.System, sys));
            messages.Add(new AiChatMessage(ChatRole.User, request.Prompt));
            var options = new ChatOptions { Temperature = 0, MaxOutputTokens = request.MaxTokens };
            if (request.TopLogprobs > 0)
                options.RawRepresentationFactory = _ => new ChatCompletionOptions
                {
                    IncludeLogProbabilities = true,
                    TopLogProbabilityCount = Math.Min(20, request.TopLogprobs),
                };
            ChatResponse response;
            try
            {
                response = await _chat.GetResponseAsync(messages, options, cancellation).ConfigureAwait(false);
            }
            catch (Exception e) when (!cancellation.IsCancellationRequested
                                      && e is ClientResultException or HttpRequestException or TimeoutRejectedException
                                          or TaskCanceledException or JsonException or InvalidOperationException)
            {
                Stats.Failure();
                return null;
            }
            if (response.Usage is { } u) Stats.Tokens(u.InputTokenCount ?? 0, u.OutputTokenCount ?? 0);
            List<LlmToken>? tokens = null;
            if (response.RawRepresentation is ChatCompletion { ContentTokenLogProbabilities: { Count: > 0 } lp })
            {
                tokens = new List<LlmToken>(lp.Count);
                foreach (var t in lp)
                    tokens.Add(new LlmToken(t.Token, t.LogProbability,
                        t.TopLogProbabilities.Select(a => (a.Token, (double)a.LogProbability)).ToList()));
            }
            var reply = new LlmReply(response.Text ?? "", tokens);
            WriteCache(key, reply);
            return reply;
        }
        finally
        {
            _slots.Release();
        }
    }

    // ---- cache: one JSON file per key, written atomically ----
    private sealed record CachedToken(string T, double L, string[] TopT, double[] TopL);
    private sealed record CachedReply(string Text, CachedToken[]? Tokens);

    private string CacheKey(LlmRequest r)
    {
        string material = JsonSerializer.Serialize(new object?[] { Settings.Model, r.System, r.Prompt, r.MaxTokens, r.TopLogprobs, 0 });
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(material)));
    }

    private string? CachePath(string key) => _cacheDir is null ? null : Path.Combine(_cacheDir, key[..2], key + ".json");

    private LlmReply? ReadCache(string key)
    {
        if (CachePath(key) is not { } path || !File.Exists(path)) return null;
        try
        {
            var c = JsonSerializer.Deserialize<CachedReply>(File.ReadAllText(path));
            if (c is null) return null;
            return new LlmReply(c.Text, c.Tokens?.Select(t =>
                new LlmToken(t.T, t.L, t.TopT.Zip(t.TopL, (a, b) => (a, b)).ToList())).ToList());
        }
        catch (JsonException) { return null; }
        catch (IOException) { return null; }
    }

    private void WriteCache(string key, LlmReply reply)
    {
        if (CachePath(key) is not { } path) return;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var c = new CachedReply(reply.Text, reply.Tokens?.Select(t =>
            new CachedToken(t.Token, t.Logprob, t.Top.Select(a => a.Token).ToArray(), t.Top.Select(a => a.Logprob).ToArray())).ToArray());
        string tmp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(c));
        File.Move(tmp, path, overwrite: true);
    }

    public void Dispose()
    {
        _chat.Dispose();
        _http.Dispose();
        _slots.Dispose();
    }

    /// <summary>Sends each attempt through the Polly pipeline, with a fresh copy of the request.</summary>
    private sealed class RetryHandler(ResiliencePipeline<HttpResponseMessage> pipeline, LlmStats stats) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            byte[]? body = request.Content is null ? null : await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            return await pipeline.ExecuteAsync(async ct =>
            {
                stats.HttpCall();
                using var copy = new HttpRequestMessage(request.Method, request.RequestUri) { Version = request.Version };
                foreach (var h in request.Headers) copy.Headers.TryAddWithoutValidation(h.Key, h.Value);
                if (body is not null)
                {
                    copy.Content = new ByteArrayContent(body);
                    foreach (var h in request.Content!.Headers) copy.Content.Headers.TryAddWithoutValidation(h.Key, h.Value);
                }
                var response = await base.SendAsync(copy, ct).ConfigureAwait(false);
                if (response.Content is not null) await response.Content.LoadIntoBufferAsync(ct).ConfigureAwait(false);
                return response;
            }, cancellationToken).ConfigureAwait(false);
        }
    }
}
