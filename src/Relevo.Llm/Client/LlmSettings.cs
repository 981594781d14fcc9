namespace Relevo.Llm;

/// <summary>How to reach an OpenAI-compatible chat endpoint (Ollama, vLLM, llama.cpp server, OpenAI, Azure OpenAI):
/// the base address (…/v1), the model, an optional key, how many calls may be in flight, the per-attempt timeout,
/// retries on 429/5xx, and the folder of the response cache (null: no cache).</summary>
internal sealed record LlmSettings(string Endpoint, string Model)
{
    public string? ApiKey { get; init; }
    public int Concurrency { get; init; } = 4;
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(120);
    public int MaxRetries { get; init; } = 6;
    /// <summary>First backoff delay; it doubles per retry (with jitter).</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);
    public string? CacheDir { get; init; }

    public const string EndpointVariable = "RELEVO_LLM_ENDPOINT";
    public const string ModelVariable = "RELEVO_LLM_MODEL";
    public const string KeyVariable = "RELEVO_LLM_API_KEY";
    public const string CacheVariable = "RELEVO_LLM_CACHE";
    public const string ConcurrencyVariable = "RELEVO_LLM_CONCURRENCY";
    public const string TimeoutVariable = "RELEVO_LLM_TIMEOUT";
    public const string RetriesVariable = "RELEVO_LLM_RETRIES";

    public const string Missing =
        "this pipeline has an LLM stage: pass --llm ENDPOINT --llm-model NAME (e.g. --llm http://127.0.0.1:11434/v1 --llm-model qwen2.5:7b) " +
        "or set RELEVO_LLM_ENDPOINT and RELEVO_LLM_MODEL";

    /// <summary>Settings from options, falling back to the environment; null when neither names an endpoint.
    /// The cache defaults to ~/.cache/relevo/llm (RELEVO_LLM_CACHE overrides; "none" turns it off); the per-attempt
    /// timeout (seconds) and the retries come from the options, else RELEVO_LLM_TIMEOUT and RELEVO_LLM_RETRIES.</summary>
    public static LlmSettings? Resolve(string? endpoint, string? model, string? cacheDir = null, int? concurrency = null,
        int? timeoutSeconds = null, int? retries = null)
    {
        endpoint ??= Env(EndpointVariable);
        model ??= Env(ModelVariable);
        if (endpoint is null && model is null) return null;
        if (endpoint is null) throw new RelevoException($"--llm-model {model} needs an endpoint: pass --llm URL or set {EndpointVariable}");
        if (model is null) throw new RelevoException($"--llm {endpoint} needs a model: pass --llm-model NAME or set {ModelVariable}");
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
            throw new RelevoException($"--llm: '{endpoint}' is not an http(s) address (e.g. http://127.0.0.1:11434/v1)");
        cacheDir ??= Env(CacheVariable) ?? Path.Combine(
            Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "relevo", "llm");
        if (cacheDir == "none") cacheDir = null;
        var s = new LlmSettings(endpoint, model) { ApiKey = Env(KeyVariable), CacheDir = cacheDir };
        if (concurrency is null && Env(ConcurrencyVariable) is { } cv)
            concurrency = int.TryParse(cv, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int parsed)
                ? parsed : throw new RelevoException($"{ConcurrencyVariable}={cv}: not a whole number");
        if (concurrency is { } c)
        {
            if (c < 1) throw new RelevoException($"{ConcurrencyVariable} must be at least 1");
            s = s with { Concurrency = c };
        }
        string timeoutSource = timeoutSeconds is null ? TimeoutVariable : "--llm-timeout";
        timeoutSeconds ??= Whole(TimeoutVariable);
        if (timeoutSeconds is { } t)
        {
            if (t is < 1 or > 3600) throw new RelevoException($"{timeoutSource}: {t} seconds is outside 1..3600");
            s = s with { Timeout = TimeSpan.FromSeconds(t) };
        }
        string retriesSource = retries is null ? RetriesVariable : "--llm-retries";
        retries ??= Whole(RetriesVariable);
        if (retries is { } r)
        {
            if (r is < 0 or > 20) throw new RelevoException($"{retriesSource}: {r} retries is outside 0..20");
            s = s with { MaxRetries = r };
        }
        return s;
    }

    private static int? Whole(string variable) => Env(variable) is not { } v ? null
        : int.TryParse(v, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out int parsed)
            ? parsed : throw new RelevoException($"{variable}={v}: not a whole number");

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;
}
