using Relevo.Dense;
using Relevo.Llm;

namespace Relevo.Cli;

/// <summary>The extensions every `relevo` command loads (dense retrieval; LLM stages with the endpoint the command was
/// given), and opening an index with them: the one place the CLI composes Relevo.</summary>
internal static class CliIndex
{
    /// <summary>--syntax's value as a <see cref="QuerySyntax"/>, or null when it is none of plain, lucene, auto.</summary>
    public static QuerySyntax? ParseSyntax(string value) => value.ToLowerInvariant() switch
    {
        "plain" => QuerySyntax.Plain,
        "lucene" => QuerySyntax.Lucene,
        "auto" => QuerySyntax.Auto,
        _ => null,
    };

    public static IReadOnlyList<IRelevoExtension> Extensions(LlmClient? llm = null) => [new DenseExtension(), new LlmExtension(llm)];

    /// <summary>The canonical text of a pipeline (a syntax error, with its column, before anything is opened).</summary>
    public static string CanonicalPipeline(string text, LlmClient? llm = null) =>
        Relevo.Pipelines.Pipeline.Parse(text, ExtensionRegistry.Create(Extensions(llm))).Text;

    /// <summary>Opens an index folder (ordinary or sharded) with the CLI's extensions.</summary>
    public static SearchIndex Open(string dir, LlmClient? llm = null) =>
        SearchIndex.Open(dir, new SearchIndexOptions { Extensions = Extensions(llm) });
}
