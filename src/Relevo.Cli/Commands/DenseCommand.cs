using System.ComponentModel;
using Relevo.Dense;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Relevo.Cli.Commands;

/// <summary>relevo dense: adds a model's vectors to an existing index (only segments that lack them are encoded).</summary>
internal sealed class DenseCommand : Command<DenseCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--index <DIR>")] public string IndexDir { get; init; } = "";
        [CommandOption("--model <MODEL>")][Description("arctic-xs, minilm, or a folder with model.onnx, vocab.txt, relevo-model.json")] public string Model { get; init; } = "";
        [CommandOption("--batch <N>")][DefaultValue(1)][Description("Passages per ONNX Runtime call (1 was fastest on 2 cores; see docs/benchmarks.md).")] public int Batch { get; init; } = 1;
        [CommandOption("--threads <N>")][DefaultValue(0)][Description("ONNX Runtime threads (0: one per core).")] public int Threads { get; init; }
        [CommandOption("--no-cache")][Description("Do not read or write the embedding cache.")] public bool NoCache { get; init; }

        public override ValidationResult Validate()
        {
            if (IndexDir.Length == 0) return ValidationResult.Error("--index is required");
            if (Model.Length == 0) return ValidationResult.Error("--model is required");
            if (Batch < 1) return ValidationResult.Error("--batch must be at least 1");
            return ValidationResult.Success();
        }

        internal EncoderOptions EncoderOptions => new() { BatchSize = Batch, Threads = Threads, UseCache = !NoCache };
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        if (!Relevo.Index.Manifest.Exists(settings.IndexDir) && !Relevo.Sharding.ShardedManifest.Exists(settings.IndexDir))
            throw new RelevoException($"{Path.Combine(settings.IndexDir, Relevo.Index.Manifest.FileName)}: no index here (the manifest is missing)");
        using var model = EmbeddingModel.Load(settings.Model, settings.EncoderOptions);
        using var writer = SearchIndex.OpenWriter(settings.IndexDir, new WriterOptions(), CliIndex.Extensions());
        Run(writer, model);
        return 0;
    }

    /// <summary>Encodes the missing segments with a progress bar (passages/s) and prints one summary line.</summary>
    internal static DenseIndexResult Run(DocumentWriter writer, EmbeddingModel model)
    {
        var result = ProgressReporter.Run($"embed {model.Name}", "passages", report =>
            DenseIndexer.AddVectors(writer, model, (fraction, n) => report(fraction, 1, n)));
        Console.WriteLine($"{model.Name}: {result.Passages:N0} passages embedded in {result.SegmentsEncoded} segment(s) " +
                          $"({result.SegmentsSkipped} already had vectors) in {result.Elapsed.TotalSeconds:N1} s");
        return result;
    }
}
