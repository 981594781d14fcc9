using System.ComponentModel;
using Relevo.Index;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Relevo.Cli.Commands;

internal sealed class DeleteCommand : Command<DeleteCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--index <DIR>")] public string IndexDir { get; init; } = "";
        [CommandOption("--id <ID>")][Description("Document id to delete; repeat for several.")] public string[] Ids { get; init; } = [];

        public override ValidationResult Validate() =>
            IndexDir.Length == 0 ? ValidationResult.Error("--index is required")
            : Ids.Length == 0 ? ValidationResult.Error("give at least one --id")
            : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        if (!Manifest.Exists(settings.IndexDir)) throw new RelevoException($"{settings.IndexDir}: no index here");
        using var writer = SearchIndex.OpenWriter(settings.IndexDir, new WriterOptions(), CliIndex.Extensions());
        int deleted = 0;
        var missing = new List<string>();
        foreach (var id in settings.Ids)
        {
            if (writer.Delete(id)) deleted++;
            else missing.Add(id);
        }
        writer.Commit();
        Console.WriteLine($"deleted {deleted} document(s); {writer.LiveDocs:N0} live documents remain");
        if (missing.Count > 0) Console.Error.WriteLine($"not found: {string.Join(", ", missing)}");
        return 0;
    }
}
