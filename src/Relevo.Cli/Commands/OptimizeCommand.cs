using Relevo.Index;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Relevo.Cli.Commands;

internal sealed class OptimizeCommand : Command<OptimizeCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--index <DIR>")] public string IndexDir { get; init; } = "";

        public override ValidationResult Validate() =>
            IndexDir.Length == 0 ? ValidationResult.Error("--index is required") : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        if (!Manifest.Exists(settings.IndexDir)) throw new RelevoException($"{settings.IndexDir}: no index here");
        int before = Manifest.Read(settings.IndexDir).Segments.Count;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using (var writer = SearchIndex.OpenWriter(settings.IndexDir, new WriterOptions { CommitStage = CliHost.CommitStageHook() }, CliIndex.Extensions()))
        {
            // one merge, without a measure of progress inside it (postings, vectors and their HNSW graphs): a spinner
            // on a terminal, one line before and after otherwise
            string what = $"merging {before} segment(s) (postings, and vectors with their graphs where present)";
            if (CliHost.Interactive) AnsiConsole.Status().Start(what + "...", _ => writer.ForceMerge());
            else
            {
                Console.Error.WriteLine($"optimize: {what}...");
                writer.ForceMerge();
            }
        }
        var after = Manifest.Read(settings.IndexDir);
        Console.WriteLine($"merged {before} segment(s) into {after.Segments.Count}; {after.Segments.Sum(s => s.MaxDoc - s.DeleteCount):N0} documents " +
                          $"in {clock.Elapsed.TotalSeconds:N1} s");
        return 0;
    }
}
