using System.ComponentModel;
using System.Text.Json;
using Relevo.Llm;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Relevo.Cli.Commands;

/// <summary><c>relevo ask</c>: retrieve, keep the passages an LLM finds relevant enough, order them strongest at both
/// ends, and answer with [docid] citations checked against the passages given; JSON on stdout.</summary>
internal sealed class AskCommand : Command<AskCommand.Settings>
{
    public sealed class Settings : LlmCommandSettings
    {
        [CommandOption("--index <DIR>")] public string IndexDir { get; init; } = "";
        [CommandOption("--question <TEXT>")] public string? Question { get; init; }
        [CommandOption("--pipeline <TEXT>")][DefaultValue("bm25")][Description("How passages are retrieved, e.g. bm25 or bm25 >> llm.listwise")] public string Pipeline { get; init; } = "bm25";
        [CommandOption("--depth <N>")][DefaultValue(20)][Description("Retrieved passages scored for relevance")] public int Depth { get; init; } = 20;
        [CommandOption("--passages <N>")][DefaultValue(5)][Description("At most this many passages reach the answer")] public int Passages { get; init; } = 5;
        [CommandOption("--threshold <SCORE>")][DefaultValue(5.0)][Description("Relevance (0-10) a passage needs to be used")] public double Threshold { get; init; } = 5;
        [CommandOption("--iterations <N>")][DefaultValue(1)][Description("Retrieve-then-answer rounds; later rounds retrieve with the draft answer")] public int Iterations { get; init; } = 1;

        public override ValidationResult Validate()
        {
            if (IndexDir.Length == 0) return ValidationResult.Error("--index is required");
            if (string.IsNullOrWhiteSpace(Question)) return ValidationResult.Error("--question is required");
            if (Depth < 1 || Passages < 1 || Iterations < 1) return ValidationResult.Error("--depth, --passages and --iterations must be at least 1");
            return ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        using var llm = LlmOptions.Create(settings, required: true)!;
        using var index = CliIndex.Open(settings.IndexDir, llm);
        var r = Asker.AskAsync(index, llm, settings.Question!, new AskOptions(settings.Pipeline, settings.Depth, settings.Passages, settings.Threshold, settings.Iterations),
            cancellation).GetAwaiter().GetResult();
        var payload = new
        {
            question = r.Question, answer = r.Answer, citations = r.Citations, invalid_citations = r.InvalidCitations,
            iterations = r.Iterations,
            passages = r.Passages.Select(p => new { id = p.DocId, relevance = p.Relevance, title = p.Title, text = p.Text }),
        };
        Console.WriteLine(JsonSerializer.Serialize(payload, new JsonSerializerOptions { WriteIndented = true }));
        LlmOptions.Report(llm);
        return 0;
    }
}
