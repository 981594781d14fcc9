using System.Reflection;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Relevo.Tests.Architecture;

/// <summary>The layers ARCHITECTURE.md describes, checked: which assembly may reference which (the core references no
/// ONNX, LLM, Orleans or HTTP package and none of Relevo's upper layers), which folder of the core may use which
/// (data flows one way), and what is public (the API, nothing else).</summary>
public sealed partial class LayeringTests(ITestOutputHelper output)
{
    private static readonly Assembly Core = typeof(SearchIndex).Assembly;
    private static readonly Assembly Dense = typeof(Relevo.Dense.DenseExtension).Assembly;
    private static readonly Assembly Llm = typeof(Relevo.Llm.LlmExtension).Assembly;
    private static readonly Assembly Cluster = typeof(Relevo.Cluster.RelevoCluster).Assembly;
    private static readonly Assembly Server = typeof(Relevo.Server.RelevoServer).Assembly;

    /// <summary>Assembly-name prefixes each layer must not reference.</summary>
    public static TheoryData<string, string[]> Forbidden => new()
    {
        { "Relevo.Core", ["Relevo.Dense", "Relevo.Llm", "Relevo.Cluster", "Relevo.Server", "relevo", "Microsoft.ML.OnnxRuntime",
            "SentenceTransformers", "Microsoft.Extensions.AI", "OpenAI", "Polly", "Orleans", "Microsoft.Orleans", "Microsoft.AspNetCore",
            "Spectre", "YamlDotNet", "ScottPlot"] },
        { "Relevo.Dense", ["Relevo.Llm", "Relevo.Cluster", "Relevo.Server", "relevo", "Microsoft.Extensions.AI", "OpenAI", "Polly",
            "Orleans", "Microsoft.Orleans", "Microsoft.AspNetCore"] },
        { "Relevo.Llm", ["Relevo.Dense", "Relevo.Cluster", "Relevo.Server", "relevo", "Microsoft.ML.OnnxRuntime", "SentenceTransformers",
            "Orleans", "Microsoft.Orleans", "Microsoft.AspNetCore"] },
        { "Relevo.Cluster", ["Relevo.Dense", "Relevo.Llm", "Relevo.Server", "relevo", "Microsoft.AspNetCore", "Microsoft.ML.OnnxRuntime", "OpenAI"] },
        { "Relevo.Server", ["Relevo.Dense", "Relevo.Llm", "Relevo.Cluster", "relevo", "Microsoft.ML.OnnxRuntime", "OpenAI", "Orleans", "Microsoft.Orleans"] },
    };

    [Theory]
    [MemberData(nameof(Forbidden))]
    public void Assemblies_reference_only_the_layers_below(string assembly, string[] forbidden)
    {
        var a = new[] { Core, Dense, Llm, Cluster, Server }.Single(x => x.GetName().Name == assembly);
        var references = a.GetReferencedAssemblies().Select(r => r.Name!).ToList();
        output.WriteLine($"{assembly}: {string.Join(", ", references.Order())}");
        foreach (var r in references)
            foreach (var f in forbidden)
                Assert.False(r == f || r.StartsWith(f + ".", StringComparison.Ordinal), $"{assembly} references {r}");
    }

    /// <summary>The core's folders in data-flow order: a folder may use the ones before it, never those after (root
    /// value types such as Document and Hit are everyone's; the root's API types belong to the last layer).</summary>
    private static readonly string[] CoreOrder = ["Collections", "Analysis", "Evaluation", "Index", "Search", "Fusion", "Feedback", "Learning", "Pipelines", "Sharding"];

    private static readonly HashSet<string> RootValueTypes = ["Document", "Hit", "RelevoException", "Explanation", "TermContribution"];

    [Fact]
    public void Core_folders_use_only_the_folders_before_them()
    {
        string core = Path.Combine(TestData.RepoRoot, "src", "Relevo");
        var problems = new List<string>();
        int files = 0;
        for (int i = 0; i < CoreOrder.Length; i++)
        {
            var allowed = CoreOrder.Take(i + 1).ToHashSet();
            foreach (var file in Directory.EnumerateFiles(Path.Combine(core, CoreOrder[i]), "*.cs", SearchOption.AllDirectories))
            {
                files++;
                string text = StripComments(File.ReadAllText(file));
                foreach (Match m in UsedNamespace().Matches(text))
                    if (!allowed.Contains(m.Groups[1].Value))
                        problems.Add($"{Path.GetRelativePath(core, file)} uses Relevo.{m.Groups[1].Value}");
                if (i < CoreOrder.Length - 2) // below Pipelines: only the root's value types
                    foreach (var type in RootApiTypes())
                        if (Regex.IsMatch(text, $@"\b{type}\b"))
                            problems.Add($"{Path.GetRelativePath(core, file)} uses the entry point's {type}");
            }
        }
        Assert.True(files > 50);
        Assert.True(problems.Count == 0, string.Join("\n", problems.Distinct()));
    }

    /// <summary>The public types of the root namespace that are not value types (SearchIndex, DocumentWriter, ...).</summary>
    private static IEnumerable<string> RootApiTypes() =>
        Core.GetExportedTypes().Where(t => t.Namespace == "Relevo" && !RootValueTypes.Contains(t.Name)).Select(t => t.Name.Split('`')[0]);

    [GeneratedRegex(@"\bRelevo\.(Collections|Analysis|Evaluation|Index|Search|Fusion|Feedback|Learning|Pipelines|Sharding)\b")]
    private static partial Regex UsedNamespace();

    private static string StripComments(string text) => Regex.Replace(text, @"//[^\n]*", "");

    /// <summary>What each assembly makes public: the API and nothing else. A type added here is a decision.</summary>
    [Fact]
    public void Only_the_api_is_public()
    {
        var expected = new Dictionary<Assembly, string[]>
        {
            [Core] =
            [
                "Relevo.Collections.BeirDataset", "Relevo.Document", "Relevo.DocumentWriter", "Relevo.Evaluation.EvaluationOptions",
                "Relevo.Evaluation.EvaluationResult", "Relevo.Evaluation.Evaluator", "Relevo.Evaluation.Qrels", "Relevo.Evaluation.Significance",
                "Relevo.Evaluation.TrecRun", "Relevo.Explanation", "Relevo.ExplanationPart", "Relevo.ExtensionRegistry", "Relevo.Hit", "Relevo.IRelevoExtension",
                "Relevo.IndexStatus", "Relevo.PipelineChoice", "Relevo.Pipelines.PipelineQuery", "Relevo.Pipelines.PipelineState",
                "Relevo.Pipelines.PipelineSyntaxException", "Relevo.Pipelines.Ranking", "Relevo.Pipelines.RerankStage",
                "Relevo.Pipelines.RetrieverStage", "Relevo.Pipelines.Stage", "Relevo.Pipelines.StageContext", "Relevo.Pipelines.StageSyntax",
                "Relevo.QuerySyntax", "Relevo.RelevoException", "Relevo.RunOptions", "Relevo.SearchIndex", "Relevo.SearchIndexOptions", "Relevo.SearchOptions",
                "Relevo.SearchResult", "Relevo.SpanShare", "Relevo.StageFactory", "Relevo.TermContribution", "Relevo.TokenAttribution",
                "Relevo.TokenShare", "Relevo.WeightedTerm", "Relevo.WriterOptions",
            ],
            [Dense] = ["Relevo.Dense.DenseExtension"],
            [Llm] = ["Relevo.Llm.LlmExtension"],
            [Cluster] = ["Relevo.Cluster.RelevoCluster"],
            [Server] = ["Relevo.Server.RelevoMcpServer", "Relevo.Server.RelevoServer", "Relevo.Server.ServerOptions"],
        };
        foreach (var (assembly, types) in expected)
        {
            var actual = assembly.GetExportedTypes().Select(t => t.FullName!).Where(n => !n.Contains('+')).Order().ToArray();
            output.WriteLine($"{assembly.GetName().Name}: {actual.Length} public types");
            Assert.Equal(types.Order(), actual);
        }
    }
}
