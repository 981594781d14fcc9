using System.ComponentModel;
using Relevo.Llm;
using Spectre.Console.Cli;

namespace Relevo.Cli.Commands;

/// <summary>The LLM options a command with LLM stages takes.</summary>
internal interface ILlmCommandOptions
{
    string? Llm { get; }
    string? LlmModel { get; }
    int? LlmTimeout { get; }
    int? LlmRetries { get; }
}

/// <summary>Settings with the LLM options.</summary>
internal abstract class LlmCommandSettings : CommandSettings, ILlmCommandOptions
{
    [CommandOption("--llm <URL>")][Description(LlmOptions.EndpointHelp)]
    public string? Llm { get; init; }
    [CommandOption("--llm-model <NAME>")][Description(LlmOptions.ModelHelp)]
    public string? LlmModel { get; init; }
    [CommandOption("--llm-timeout <SECONDS>")][Description(LlmOptions.TimeoutHelp)]
    public int? LlmTimeout { get; init; }
    [CommandOption("--llm-retries <N>")][Description(LlmOptions.RetriesHelp)]
    public int? LlmRetries { get; init; }
}

/// <summary>Dataset settings with the LLM options (<c>run</c>, <c>judge</c>): the same four options as
/// <see cref="LlmCommandSettings"/>, declared once more only because a settings class has one base.</summary>
internal abstract class LlmDatasetSettings : DatasetSettings, ILlmCommandOptions
{
    [CommandOption("--llm <URL>")][Description(LlmOptions.EndpointHelp)]
    public string? Llm { get; init; }
    [CommandOption("--llm-model <NAME>")][Description(LlmOptions.ModelHelp)]
    public string? LlmModel { get; init; }
    [CommandOption("--llm-timeout <SECONDS>")][Description(LlmOptions.TimeoutHelp)]
    public int? LlmTimeout { get; init; }
    [CommandOption("--llm-retries <N>")][Description(LlmOptions.RetriesHelp)]
    public int? LlmRetries { get; init; }
}

/// <summary>--llm/--llm-model (else RELEVO_LLM_ENDPOINT/RELEVO_LLM_MODEL; key in RELEVO_LLM_API_KEY) to an LLM client,
/// and the one-line cost report printed after a run.</summary>
internal static class LlmOptions
{
    public const string EndpointHelp = "OpenAI-compatible endpoint for LLM stages, e.g. http://127.0.0.1:11434/v1 (else $RELEVO_LLM_ENDPOINT; key in $RELEVO_LLM_API_KEY)";
    public const string ModelHelp = "Model for LLM stages (else $RELEVO_LLM_MODEL)";

    public const string TimeoutHelp = "Longest wait for one LLM call attempt, 1-3600 s (else $RELEVO_LLM_TIMEOUT; default 120): more for a slow local model";
    public const string RetriesHelp = "Retries of an LLM call that failed (429, 5xx, timeout), 0-20 (else $RELEVO_LLM_RETRIES; default 6)";

    public static LlmClient? Create(ILlmCommandOptions options, bool required = false) =>
        Create(options.Llm, options.LlmModel, required, options.LlmTimeout, options.LlmRetries);

    public static LlmClient? Create(string? endpoint, string? model, bool required = false, int? timeoutSeconds = null, int? retries = null)
    {
        var settings = LlmSettings.Resolve(endpoint, model, timeoutSeconds: timeoutSeconds, retries: retries);
        if (settings is null)
            return required ? throw new RelevoException(LlmSettings.Missing) : null;
        return new LlmClient(settings);
    }

    /// <summary>The cost line; with <paramref name="queries"/> (--verbose) also one line per query whose calls failed
    /// or needed repair, else how many such queries there were.</summary>
    public static void Report(LlmClient? llm, IReadOnlyList<(string Id, string Text)>? queries = null)
    {
        if (llm is null || llm.Stats.Requests == 0) return;
        Console.Error.WriteLine(llm.Stats.ToString());
        var troubled = llm.Stats.ByQuery();
        if (troubled.Count == 0) return;
        if (queries is null)
        {
            Console.Error.WriteLine($"llm: {troubled.Count} queries had failed or repaired calls (--verbose lists them)");
            return;
        }
        var ids = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (id, text) in queries)
        {
            if (!ids.TryGetValue(text, out var list)) ids[text] = list = [];
            list.Add(id);
        }
        foreach (var (text, failed, repaired) in troubled)
        {
            string who = ids.TryGetValue(text, out var list) ? string.Join(",", list) : $"\"{(text.Length > 60 ? text[..60] + "…" : text)}\"";
            Console.Error.WriteLine($"llm: query {who}: {failed} failed, {repaired} repaired");
        }
    }
}
