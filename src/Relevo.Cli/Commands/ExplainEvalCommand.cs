using System.ComponentModel;
using System.Globalization;
using System.Text;
using Relevo.Dense;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Relevo.Cli.Commands;

/// <summary>relevo explain-eval: how faithful explanations of dense scores are (LRP, gradient × input, occlusion,
/// random), by deletion over a dataset's top pairs, written as one model's section of a Markdown results file.</summary>
internal sealed class ExplainEvalCommand : Command<ExplainEvalCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--dataset <NAME|PATH>")][Description("A BEIR folder or name with qrels (the judged test queries are used in file order).")] public string Dataset { get; init; } = "";
        [CommandOption("--model <MODEL>")][Description("arctic-xs, minilm, or a BERT model folder.")] public string Model { get; init; } = "minilm";
        [CommandOption("--queries <N>")][DefaultValue(100)][Description("Judged queries, each with its top pairs by cosine.")] public int Queries { get; init; } = 100;
        [CommandOption("--top <N>")][DefaultValue(10)][Description("Documents per query.")] public int Top { get; init; } = 10;
        [CommandOption("--occlusion-queries <N>")][DefaultValue(10)][Description("Queries whose pairs occlusion also explains (one forward pass per token).")] public int OcclusionQueries { get; init; } = 10;
        [CommandOption("--output <FILE>")][Description("Markdown file whose section for this model is written (replaced if there), e.g. docs/results/explanations.md.")] public string? Output { get; init; }

        public override ValidationResult Validate()
        {
            if (Dataset.Length == 0) return ValidationResult.Error("--dataset is required");
            if (Queries < 1 || Top < 1) return ValidationResult.Error("--queries and --top must be at least 1");
            if (OcclusionQueries < 0) return ValidationResult.Error("--occlusion-queries must be 0 or more");
            return ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var dataset = DatasetDownload.Resolve(settings.Dataset, needsQrels: true);
        using var model = EmbeddingModel.Load(settings.Model);
        var encoder = new NativeEncoder(BertWeights.Read(model.OnnxFile));
        var report = ProgressReporter.Run($"explain {model.Name}", "queries", progress =>
            Faithfulness.Run(model, encoder, dataset, settings.Queries, settings.Top, settings.OcclusionQueries,
                (done, total) => progress((double)done / total, total, done), cancellation));
        string command = $"relevo explain-eval --dataset {settings.Dataset} --model {settings.Model} --queries {settings.Queries} --top {settings.Top} " +
                         $"--occlusion-queries {settings.OcclusionQueries}" + (settings.Output is { } o ? $" --output {o}" : "");
        string section = Section(report, dataset.Name, command);
        Console.WriteLine(section);
        if (settings.Output is { } output) Write(output, report.Model, section);
        return 0;
    }

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>The model's section: conservation, time per attribution, and the deletion table.</summary>
    internal static string Section(FaithfulnessReport r, string dataset, string command)
    {
        var e = r.ConservationErrors;
        int within = e.Count(x => x <= 0.01);
        var lrp = r.Methods[AttributionMethod.Lrp];
        var b = new StringBuilder();
        b.AppendLine(F($"## {r.Model} ({r.MaxTokens} tokens): {dataset}, {r.Queries} queries × their top pairs by cosine"));
        b.AppendLine();
        b.AppendLine(F($"`{command}`, {DateTime.UtcNow:yyyy-MM-dd}, {Environment.ProcessorCount} cores; attributions by the C# encoder on one thread, scores of edited token sequences by ONNX Runtime."));
        b.AppendLine();
        b.AppendLine(F($"- LRP conservation (|Σ shares − score| / |score|) over {e.Count} pairs: median {e[e.Count / 2]:E1}, 99th percentile {e[Math.Min(e.Count - 1, (int)(e.Count * 0.99))]:E1}, max {e[^1]:E1}; within 1%: {within} of {e.Count} ({100.0 * within / e.Count:F1}%)."));
        b.Append("- Time to attribute one pair:");
        foreach (var (m, t) in r.Methods)
            if (m != AttributionMethod.Random && t.Pairs > 0) b.Append(F($" {Name(m)} {1000 * t.Seconds / t.Pairs:F0} ms;"));
        b.AppendLine(" occlusion's forward passes use every core.");
        b.AppendLine();
        Table(b, r.Methods);
        int n = r.OcclusionPairs[AttributionMethod.Occlusion].Pairs;
        if (n > 0 && n < lrp.Pairs)
        {
            b.AppendLine();
            b.AppendLine(F($"Occlusion costs one forward pass per token, so it ran on the first {n} pairs only; every method on those same pairs:"));
            b.AppendLine();
            Table(b, r.OcclusionPairs);
        }
        return b.ToString();
    }

    private static void Table(StringBuilder b, Dictionary<AttributionMethod, MethodTotals> methods)
    {
        var p = FaithfulnessReport.Percents;
        b.AppendLine("| method | pairs | " + string.Join(" | ", p.Select(x => $"comp. {x}%")) + " | **AOPC comp.** ↑ | " +
                     string.Join(" | ", p.Select(x => $"suff. {x}%")) + " | **AOPC suff.** ↓ |");
        b.AppendLine("|---|---:|" + string.Concat(Enumerable.Repeat("---:|", 2 * p.Length + 2)));
        foreach (var (m, t) in methods)
        {
            if (t.Pairs == 0) continue;
            b.AppendLine(F($"| {Name(m)} | {t.Pairs} | {string.Join(" | ", Enumerable.Range(0, p.Length).Select(i => t.Comp(i).ToString("F4", CultureInfo.InvariantCulture)))} | **{t.AopcComp:F4}** | ") +
                         F($"{string.Join(" | ", Enumerable.Range(0, p.Length).Select(i => t.Suff(i).ToString("F4", CultureInfo.InvariantCulture)))} | **{t.AopcSuff:F4}** |"));
        }
    }

    private static string Name(AttributionMethod m) => m switch
    {
        AttributionMethod.Lrp => "LRP",
        AttributionMethod.GradientInput => "gradient × input",
        AttributionMethod.Occlusion => "occlusion",
        _ => "random",
    };

    /// <summary>Writes the section between this model's markers, replacing what was there, keeping the rest of the file.</summary>
    internal static void Write(string path, string model, string section)
    {
        string begin = $"<!-- explain-eval {model} -->", end = $"<!-- /explain-eval {model} -->";
        string block = begin + "\n" + section.TrimEnd() + "\n" + end;
        string text = File.Exists(path) ? File.ReadAllText(path) : "# Explanations: faithfulness of dense-score attributions\n";
        int i = text.IndexOf(begin, StringComparison.Ordinal), j = text.IndexOf(end, StringComparison.Ordinal);
        text = i >= 0 && j > i ? text[..i] + block + text[(j + end.Length)..] : text.TrimEnd() + "\n\n" + block + "\n";
        string temp = path + ".tmp";
        File.WriteAllText(temp, text);
        File.Move(temp, path, overwrite: true);
    }
}
