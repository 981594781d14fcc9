using System.ComponentModel;
using Relevo.Collections;
using Relevo.Dense;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Relevo.Cli.Commands;

/// <summary>relevo quantize: a model folder whose least relevant matrix products run in int8 (relevance propagated over
/// calibration passages of a corpus, never its queries), or uniform int8, or a random choice at the same budget.</summary>
internal sealed class QuantizeCommand : Command<QuantizeCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--model <MODEL>")][Description("arctic-xs, minilm, or a BERT model folder.")] public string Model { get; init; } = "";
        [CommandOption("--out <DIR>")][Description("The quantized model's folder (created; its model.onnx, vocab, relevo-model.json and quantization.json are replaced).")] public string Out { get; init; } = "";
        [CommandOption("--choice <CHOICE>")][DefaultValue("lrp")][Description("lrp (the least relevant matrices first), uniform (every matrix), random (the control).")] public string Choice { get; init; } = "lrp";
        [CommandOption("--budget <F>")][DefaultValue(0.75)][Description("Fraction of the matrices' parameters in int8 (lrp, random).")] public double Budget { get; init; } = 0.75;
        [CommandOption("--dataset <NAME|PATH>")][Description("Corpus to calibrate on: titled documents, title as the query, text as the passage (no queries are read).")] public string Dataset { get; init; } = "";
        [CommandOption("--calibration <N>")][DefaultValue(64)][Description("Calibration pairs.")] public int Calibration { get; init; } = 64;
        [CommandOption("--name <NAME>")][Description("The model's name (vectors are stored under it); default: the folder's name.")] public string? Name { get; init; }
        [CommandOption("--smoothing <ALPHA>")][Description("SmoothQuant strength for int8 products reading post-LayerNorm activations (per-channel factors from the calibration passages' ranges); default 0.5 with --dataset, 0 (off) without.")] public double? Smoothing { get; init; }

        /// <summary>The smoothing strength in effect: as given, else 0.5 when there are passages to calibrate on.</summary>
        public double Alpha => Smoothing ?? (Dataset.Length > 0 ? 0.5 : 0);
        [CommandOption("--four-bit <F>")][DefaultValue(0.0)][Description("Fraction of the parameters whose weights go to 4 bits (MatMulNBits): the first in the choice's order, within --budget; with --choice uniform, 1 puts every matrix in 4 bits.")] public double FourBit { get; init; }
        [CommandOption("--seed <N>")][DefaultValue(7)][Description("The random choice's seed.")] public int Seed { get; init; } = 7;

        public override ValidationResult Validate()
        {
            if (Model.Length == 0 || Out.Length == 0) return ValidationResult.Error("--model and --out are required");
            if (Choice is not ("lrp" or "uniform" or "random")) return ValidationResult.Error("--choice must be lrp, uniform or random");
            if (!(Budget > 0 && Budget <= 1)) return ValidationResult.Error("--budget must be in (0, 1]");
            if (Choice != "uniform" && Dataset.Length == 0) return ValidationResult.Error("--dataset is required to calibrate (lrp) and for the record (random)");
            if (Calibration < 1) return ValidationResult.Error("--calibration must be at least 1");
            if (!(FourBit >= 0 && FourBit <= 1)) return ValidationResult.Error("--four-bit must be in [0, 1]");
            if (Smoothing is { } alpha && !(alpha >= 0 && alpha < 1)) return ValidationResult.Error("--smoothing must be in [0, 1)");
            if (Smoothing > 0 && Dataset.Length == 0) return ValidationResult.Error("--smoothing needs --dataset (the activations' ranges come from its passages)");
            return ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        using var model = EmbeddingModel.Load(settings.Model);
        var encoder = new NativeEncoder(BertWeights.Read(model.OnnxFile));
        var choice = Enum.Parse<PrecisionChoice>(settings.Choice, ignoreCase: true);
        double[] relevance = new double[encoder.Weights.Layers.Length * EncoderRelevance.MatricesPerLayer];
        int pairs = 0;
        float[][]? ranges = null;
        if (settings.Dataset.Length > 0)
        {
            var dataset = DatasetDownload.Resolve(settings.Dataset, needsQrels: false);
            var calibration = MixedPrecision.CalibrationPairs(JsonlReader.ReadCorpus(dataset.CorpusPath), settings.Calibration);
            pairs = calibration.Count;
            if (choice == PrecisionChoice.Lrp)
                relevance = ProgressReporter.Run($"calibrate {model.Name}", "pairs", report =>
                    MixedPrecision.Measure(model, encoder, calibration, done => report((double)done / calibration.Count, calibration.Count, done)));
            if (settings.Alpha > 0)
                ranges = MixedPrecision.PostNormRanges(model, encoder, calibration.Select(p => p.Passage).ToList());
        }
        var onnx = BertWeights.Parse(model.OnnxFile);
        var plan = MixedPrecision.Plan(onnx, relevance, choice, settings.Budget, settings.Seed, settings.FourBit);
        var smoothing = ranges is null ? null : MixedPrecision.SmoothingFactors(onnx, plan, ranges, settings.Alpha);
        string name = settings.Name ?? Path.GetFileName(Path.GetFullPath(settings.Out).TrimEnd(Path.DirectorySeparatorChar));
        MixedPrecision.Write(model, onnx, plan, settings.Out, name, choice, settings.Budget, pairs, smoothing, settings.Alpha);
        long int8 = plan.Where(m => m.Int8).Sum(m => m.Parameters), all = plan.Sum(m => m.Parameters);
        var table = new Table().AddColumns("matrix", "relevance", "precision");
        foreach (var m in plan) table.AddRow(m.Module, m.Relevance.ToString("F4", System.Globalization.CultureInfo.InvariantCulture), m.Precision);
        AnsiConsole.Write(table);
        long int4 = plan.Where(m => m.FourBit).Sum(m => m.Parameters);
        Console.WriteLine($"{name}: {plan.Count(m => m.Int8)} of {plan.Count} matrix products quantized ({100.0 * int8 / all:F1}% of their parameters" +
                          (int4 > 0 ? $", {100.0 * int4 / all:F1}% in 4 bits" : "") +
                          (smoothing is { Count: > 0 } ? $"; {smoothing.Count} of them smoothed, alpha {settings.Alpha}" : "") + "), " +
                          $"choice {settings.Choice}, written to {settings.Out}; use it as dense(model={settings.Out}) after `relevo dense --model {settings.Out}`");
        return 0;
    }
}
