using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Relevo.Testing;

/// <summary>What the test double was asked: the concatenated message texts and the decoding parameters.</summary>
internal sealed record ChatCall(string Prompt, int MaxTokens, int TopLogprobs);

/// <summary>A scripted answer: text, and for the first tokens their top alternatives (token, logprob); null: none.</summary>
internal sealed record ChatAnswer(string Text, IReadOnlyList<IReadOnlyList<(string Token, double Logprob)>>? Logprobs = null);

/// <summary>An OpenAI-compatible chat-completions server on loopback, answering from a scripted oracle. Faults on
/// demand: a share of HTTP 500/429 answers, slow answers, and an answer mangler (malformed permutations, refusals).</summary>
internal sealed class ChatTestDouble : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<ChatCall, ChatAnswer> _oracle;
    private readonly CancellationTokenSource _stop = new();
    private readonly Random _random = new(12345);
    private readonly Task _loop;
    private int _requests, _faults;

    public string Endpoint { get; }
    public int Requests => Volatile.Read(ref _requests);
    public int Faults => Volatile.Read(ref _faults);
    public double FaultRate { get; init; }
    public TimeSpan Delay { get; init; }
    /// <summary>Applied to each answer before it is sent (e.g. to break permutations).</summary>
    public Func<ChatCall, ChatAnswer, Random, ChatAnswer>? Mangle { get; init; }
    /// <summary>The first this many requests get 429 with Retry-After: <see cref="RetryAfterSeconds"/>.</summary>
    public int FailFirst { get; init; }
    public int RetryAfterSeconds { get; init; } = 1;
    /// <summary>The share of answers that take <see cref="SlowDelay"/> (to run past a client's timeout).</summary>
    public double SlowRate { get; init; }
    public TimeSpan SlowDelay { get; init; } = TimeSpan.FromSeconds(1.3);
    /// <summary>Whether answers carry log-probabilities when asked for them.</summary>
    public bool Logprobs { get; init; } = true;
    /// <summary>Tokenize as Qwen2.5, Llama 2 and Mistral do, one token per digit: a first position whose candidates are
    /// numbers is split into the first digits (their probabilities merged) and a second position holding the next digit
    /// of what was written, with its probability given the first digit.</summary>
    public bool SplitDigits { get; init; }

    internal static ChatAnswer SplitNumberTokens(ChatAnswer answer)
    {
        if (answer.Logprobs is not [var first, ..] || first.Count == 0 || !first.Any(t => t.Token.Length > 1 && t.Token.All(char.IsAsciiDigit)))
            return answer;
        var byDigit = new Dictionary<string, double>();
        foreach (var (token, lp) in first)
        {
            string head = token.Length > 1 && token.All(char.IsAsciiDigit) ? token[..1] : token;
            byDigit[head] = byDigit.GetValueOrDefault(head) + Math.Exp(lp);
        }
        string written = first[0].Token, writtenHead = written[..1];
        var heads = byDigit.OrderByDescending(kv => kv.Value).Select(kv => (kv.Key, Math.Log(kv.Value))).ToList();
        heads.Sort((a, b) => (b.Key == writtenHead).CompareTo(a.Key == writtenHead)); // the written digit first
        var positions = new List<IReadOnlyList<(string, double)>> { heads };
        if (written.Length > 1)
        {
            // P(next digit | first digit): the written number's share of the mass its first digit gathered
            double same = first.Where(t => t.Token.StartsWith(writtenHead, StringComparison.Ordinal)).Sum(t => Math.Exp(t.Logprob));
            double mine = Math.Exp(first[0].Logprob) / same;
            positions.Add([(written[1..2], Math.Log(mine)), ("\n", Math.Log(Math.Max(1 - mine, 1e-9)))]);
        }
        return answer with { Logprobs = positions };
    }

    public ChatTestDouble(Func<ChatCall, ChatAnswer> oracle)
    {
        _oracle = oracle;
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        Endpoint = $"http://127.0.0.1:{port}/v1";
        _loop = Task.Run(Loop);
    }

    private async Task Loop()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception) when (_stop.IsCancellationRequested || !_listener.IsListening) { return; }
            catch (HttpListenerException) { continue; }
            _ = Task.Run(() => Handle(ctx));
        }
    }

    private double NextDouble() { lock (_random) return _random.NextDouble(); }

    private async Task Handle(HttpListenerContext ctx)
    {
        try
        {
            int number = Interlocked.Increment(ref _requests);
            using var reader = new StreamReader(ctx.Request.InputStream, Encoding.UTF8);
            var body = JsonNode.Parse(await reader.ReadToEndAsync())!;
            if (Delay > TimeSpan.Zero) await Task.Delay(Delay);
            if (SlowRate > 0 && NextDouble() < SlowRate) await Task.Delay(SlowDelay);
            if (number <= FailFirst)
            {
                Interlocked.Increment(ref _faults);
                ctx.Response.StatusCode = 429;
                ctx.Response.AddHeader("Retry-After", RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
                await Write(ctx, """{"error":{"message":"slow down","type":"rate_limit"}}""");
                return;
            }
            if (FaultRate > 0 && NextDouble() < FaultRate)
            {
                Interlocked.Increment(ref _faults);
                ctx.Response.StatusCode = NextDouble() < 0.5 ? 500 : 429;
                await Write(ctx, """{"error":{"message":"scripted fault","type":"server_error"}}""");
                return;
            }
            var prompt = new StringBuilder();
            foreach (var m in body["messages"]!.AsArray())
            {
                var content = m!["content"]!;
                if (content is JsonValue) prompt.Append(content.GetValue<string>());
                else foreach (var part in content.AsArray()) prompt.Append(part!["text"]?.GetValue<string>());
                prompt.Append('\n');
            }
            int maxTokens = (int?)(body["max_completion_tokens"] ?? body["max_tokens"]) ?? 256;
            int top = body["logprobs"] is JsonValue lp && lp.GetValue<bool>() ? (int?)body["top_logprobs"] ?? 0 : 0;
            var call = new ChatCall(prompt.ToString(), maxTokens, top);
            var answer = _oracle(call);
            if (Mangle is not null) lock (_random) answer = Mangle(call, answer, _random);
            if (SplitDigits) answer = SplitNumberTokens(answer);
            var message = new JsonObject { ["role"] = "assistant", ["content"] = answer.Text };
            var choice = new JsonObject { ["index"] = 0, ["message"] = message, ["finish_reason"] = "stop" };
            if (top > 0 && Logprobs && answer.Logprobs is { Count: > 0 } alts)
            {
                var content = new JsonArray();
                foreach (var position in alts)
                {
                    var tops = new JsonArray();
                    foreach (var (t, l) in position.Take(top)) tops.Add(new JsonObject { ["token"] = t, ["logprob"] = l, ["bytes"] = null });
                    content.Add(new JsonObject { ["token"] = position[0].Token, ["logprob"] = position[0].Logprob, ["bytes"] = null, ["top_logprobs"] = tops });
                }
                choice["logprobs"] = new JsonObject { ["content"] = content };
            }
            int promptTokens = call.Prompt.Length / 4, completionTokens = Math.Max(1, answer.Text.Length / 4);
            var response = new JsonObject
            {
                ["id"] = "chatcmpl-" + Requests,
                ["object"] = "chat.completion",
                ["created"] = 0,
                ["model"] = (string?)body["model"] ?? "test",
                ["choices"] = new JsonArray(choice),
                ["usage"] = new JsonObject { ["prompt_tokens"] = promptTokens, ["completion_tokens"] = completionTokens, ["total_tokens"] = promptTokens + completionTokens },
            };
            ctx.Response.StatusCode = 200;
            await Write(ctx, response.ToJsonString());
        }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException or JsonException)
        {
            try { ctx.Response.Abort(); } catch (ObjectDisposedException) { }
        }
    }

    private static async Task Write(HttpListenerContext ctx, string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength64 = bytes.Length;
        await ctx.Response.OutputStream.WriteAsync(bytes);
        ctx.Response.Close();
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _listener.Close();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        _stop.Dispose();
    }
}
