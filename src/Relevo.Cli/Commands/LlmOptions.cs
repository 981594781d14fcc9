using Relevo.Llm;

namespace Relevo.Cli.Commands;

/// <summary>--llm/--llm-model (else RELEVO_LLM_ENDPOINT/RELEVO_LLM_MODEL; key in RELEVO_LLM_API_KEY) to an LLM client,
/// and the one-line cost report printed after a run.</summary>
internal static class LlmOptions
{
    public const string EndpointHelp = "OpenAI-compatible endpoint for LLM stages, e.g. http://127.0.0.1:11434/v1 (else $RELEVO_LLM_ENDPOINT; key in $RELEVO_LLM_API_KEY)";
    public const string ModelHelp = "Model for LLM stages (else $RELEVO_LLM_MODEL)";

    public static LlmClient? Create(string? endpoint, string? model, bool required = false)
    {
        var settings = LlmSettings.Resolve(endpoint, model);
        if (settings is null)
            return required ? throw new RelevoException(LlmSettings.Missing) : null;
        return new LlmClient(settings);
    }

    public static void Report(LlmClient? llm)
    {
        if (llm is not null && llm.Stats.Requests > 0) Console.Error.WriteLine(llm.Stats.ToString());
    }
}
