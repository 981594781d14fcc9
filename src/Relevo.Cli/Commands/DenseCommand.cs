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
        [CommandOption("--model <MODEL>")][Description("arctic-xs, minilm, or a model folder (model.onnx, vocab.txt, relevo-model.json; or a Sentence-Transformers export)")] public string Model { get; init; } = "";
        [CommandOption("--batch <N>")][DefaultValue(1)][Description("Passages per ONNX Runtime call (1 was fastest on 2 cores; see docs/benchmarks.md).")] public int Batch { get; init; } = 1;
        [CommandOption("--threads <N>")][DefaultValue(0)][Description("ONNX Runtime threads and graph-building threads (0: one per core).")] public int Threads { get; init; }
        [CommandOption("--no-cache")][Description("Do not read or write the embedding cache.")] public bool NoCache { get; init; }
        [CommandOption("--hnsw-m <M>")][DefaultValue(HnswParameters.DefaultM)][Description(GraphFlags.MDescription)] public int HnswM { get; init; } = HnswParameters.DefaultM;
        [CommandOption("--hnsw-ef-construction <N>")][DefaultValue(HnswParameters.DefaultEfConstruction)][Description(GraphFlags.EfDescription)] public int HnswEfConstruction { get; init; } = HnswParameters.DefaultEfConstruction;

        public override ValidationResult Validate()
        {
            if (IndexDir.Length == 0) return ValidationResult.Error("--index is required");
            if (Model.Length == 0) return ValidationResult.Error("--model is required");
            if (Batch < 1) return ValidationResult.Error("--batch must be at least 1");
            if (Threads < 0) return ValidationResult.Error("--threads must be 0 (one per core) or more");
            return GraphFlags.Validate(HnswM, HnswEfConstruction);
        }

        internal EncoderOptions EncoderOptions => new() { BatchSize = Batch, Threads = Threads, UseCache = !NoCache };
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        if (!Relevo.Index.Manifest.Exists(settings.IndexDir) && !Relevo.Sharding.ShardedManifest.Exists(settings.IndexDir))
            throw new RelevoException($"{Path.Combine(settings.IndexDir, Relevo.Index.Manifest.FileName)}: no index here (the manifest is missing)");
        using var model = EmbeddingModel.Load(settings.Model, settings.EncoderOptions);
        using var writer = SearchIndex.OpenWriter(settings.IndexDir, new WriterOptions { CommitStage = CliHost.CommitStageHook(), Threads = settings.Threads }, CliIndex.Extensions());
        Run(writer, model, GraphFlags.Parameters(settings.HnswM, settings.HnswEfConstruction), settings.Threads);
        return 0;
    }

    /// <summary>Encodes the missing segments with a progress bar (passages/s), builds the missing graphs with another
    /// (nodes/s), commits both at once and prints one summary line.</summary>
    internal static DenseIndexResult Run(DocumentWriter writer, EmbeddingModel model, HnswParameters? graph, int threads = 0, bool summary = true)
    {
        var result = ProgressReporter.Run($"embed {model.Name}", "passages", report =>
            DenseIndexer.Embed(writer, model, (fraction, n) => report(fraction, 1, n)));
        var graphs = ProgressReporter.Run($"graph {model.Name}", "nodes", report =>
            DenseIndexer.BuildGraphs(writer, model.Name, new GraphOptions(graph, threads, (fraction, n) => report(fraction, 1, n))));
        if (result.SegmentsEncoded > 0 || graphs.Built > 0) writer.Commit();
        if (summary)
            Console.WriteLine($"{model.Name}: {result.Passages:N0} passages embedded in {result.SegmentsEncoded} segment(s) " +
                          $"({result.SegmentsSkipped} already had vectors) in {result.Elapsed.TotalSeconds:N1} s" +
                          (graph is { } p
                              ? $"; HNSW graphs (M {p.M}, ef_construction {p.EfConstruction}) built for {graphs.Built} segment(s), {graphs.Nodes:N0} nodes in {graphs.Elapsed.TotalSeconds:N1} s"
                              : "; no graphs (--hnsw-m 0): dense search scans every vector"));
        return result with { GraphsBuilt = graphs.Built, GraphTime = graphs.Elapsed };
    }
}

/// <summary>The graph flags of `relevo index --dense` and `relevo dense`.</summary>
internal static class GraphFlags
{
    public const string MDescription = "HNSW graph: neighbours per node (2M on the bottom layer); 0 builds no graph, so dense search scans every vector.";
    public const string EfDescription = "HNSW graph: candidates each node considers when it is linked (higher: better graph, slower build).";

    public static ValidationResult Validate(int m, int ef) =>
        m != 0 && (m < 2 || m > HnswParameters.MaxM) ? ValidationResult.Error($"--hnsw-m must be 0 (no graph) or between 2 and {HnswParameters.MaxM}")
        : ef < 1 || ef > HnswParameters.MaxEfConstruction ? ValidationResult.Error($"--hnsw-ef-construction must be between 1 and {HnswParameters.MaxEfConstruction}")
        : ValidationResult.Success();

    public static HnswParameters? Parameters(int m, int ef) => m == 0 ? null : new HnswParameters(m, ef);
}
