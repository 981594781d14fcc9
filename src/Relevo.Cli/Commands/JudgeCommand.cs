using System.ComponentModel;
using Relevo.Llm;
using Relevo.Collections;
using Relevo.Evaluation;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Relevo.Cli.Commands;

/// <summary><c>relevo judge</c>: graded 0–3 LLM judgments (UMBRELA-style prompt) of the top documents of runs,
/// written as TREC qrels.</summary>
internal sealed class JudgeCommand : Command<JudgeCommand.Settings>
{
    public sealed class Settings : LlmDatasetSettings
    {
        [CommandOption("--index <DIR>")][Description("Index holding the documents (default: a fresh BM25 index is not built; give one)")] public string IndexDir { get; init; } = "";
        [CommandOption("--run <PATH>")][Description("TREC run whose top documents are judged; repeat to pool several")] public string[] Runs { get; init; } = [];
        [CommandOption("--depth <N>")][DefaultValue(10)] public int Depth { get; init; } = 10;
        [CommandOption("--output <FILE>")][Description("Qrels to write (qid 0 docid grade)")] public string Output { get; init; } = "";

        public override ValidationResult Validate()
        {
            if (IndexDir.Length == 0) return ValidationResult.Error("--index is required (the documents' text comes from it)");
            if (Runs.Length == 0) return ValidationResult.Error("give at least one --run PATH");
            if (Output.Length == 0) return ValidationResult.Error("--output is required");
            if (Depth < 1) return ValidationResult.Error("--depth must be at least 1");
            return ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        using var llm = LlmOptions.Create(settings, required: true)!;
        var queries = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (id, text) in JsonlReader.ReadQueries(settings.QueriesPath())) queries.TryAdd(id, text);
        var runs = settings.Runs.Select(TrecRun.Load).ToList();
        using var index = CliIndex.Open(settings.IndexDir, llm);
        var result = Judge.Run(index, queries, runs, settings.Depth, llm);
        if (Path.GetDirectoryName(Path.GetFullPath(settings.Output)) is { } dir) Directory.CreateDirectory(dir);
        using (var w = new StreamWriter(settings.Output)) Judge.Write(w, result.Judgments);
        Console.WriteLine($"wrote {result.Judgments.Count:N0} judgments to {settings.Output}" +
                          (result.Unjudged > 0 ? $" ({result.Unjudged:N0} pairs left unjudged: no reply or no grade)" : ""));
        LlmOptions.Report(llm);
        return 0;
    }
}
