using System.ComponentModel;
using Relevo.Dense;
using Relevo.Index;
using Relevo.Index.Trees;
using Relevo.Llm;
using Spectre.Console.Cli;

namespace Relevo.Cli.Commands;

/// <summary>relevo tree build: organises an index's documents into a semantic tree for <c>lattice(...)</c> (LATTICE),
/// from the model's stored vectors (embedded first where segments lack them), with extractive summaries or, given an
/// LLM endpoint, LLM-written ones; committed with the index. --extend adds the documents written since instead.</summary>
internal sealed class TreeBuildCommand : Command<TreeBuildCommand.Settings>
{
    public sealed class Settings : LlmCommandSettings
    {
        [CommandOption("--index <DIR>")] public string IndexDir { get; init; } = "";
        [CommandOption("--model <MODEL>")][Description("The embedding model whose vectors are clustered (arctic-xs, minilm or a model folder); embedded first where missing.")]
        public string Model { get; init; } = "arctic-xs";
        [CommandOption("--strategy <S>")][DefaultValue("top-down")][Description("top-down (recursive k-means) or bottom-up (agglomerative).")]
        public string Strategy { get; init; } = "top-down";
        [CommandOption("--branching <N>")][DefaultValue(10)][Description("At most this many children per node (2-100).")]
        public int Branching { get; init; } = 10;
        [CommandOption("--seed <N>")][DefaultValue(42)][Description("Seed of every random choice: the same index, options and seed give the same tree.")]
        public int Seed { get; init; } = 42;
        [CommandOption("--extend")][Description("Add the documents written since the tree was built (nearest centroid, level by level) instead of rebuilding.")]
        public bool Extend { get; init; }

        public override Spectre.Console.ValidationResult Validate()
        {
            if (IndexDir.Length == 0) return Spectre.Console.ValidationResult.Error("--index is required");
            if (Branching is < TreeOptions.MinBranching or > TreeOptions.MaxBranching)
                return Spectre.Console.ValidationResult.Error($"--branching must be between {TreeOptions.MinBranching} and {TreeOptions.MaxBranching}");
            if (ParseStrategy(Strategy) is null) return Spectre.Console.ValidationResult.Error("--strategy must be top-down or bottom-up");
            return Spectre.Console.ValidationResult.Success();
        }
    }

    internal static TreeStrategy? ParseStrategy(string s) => s.ToLowerInvariant() switch
    {
        "top-down" or "topdown" => TreeStrategy.TopDown,
        "bottom-up" or "bottomup" => TreeStrategy.BottomUp,
        _ => null,
    };

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        if (!Manifest.Exists(settings.IndexDir))
            throw new RelevoException(Relevo.Sharding.ShardedManifest.Exists(settings.IndexDir)
                ? $"{settings.IndexDir}: a sharded index has no semantic tree; build one per index folder"
                : $"{Path.Combine(settings.IndexDir, Manifest.FileName)}: no index here (the manifest is missing)");
        using var llm = LlmOptions.Create(settings);
        using var writer = SearchIndex.OpenWriter(settings.IndexDir, new WriterOptions { CommitStage = CliHost.CommitStageHook() }, CliIndex.Extensions());
        IndexWriter? local = null;
        writer.ForEachIndexWriter((w, _) => local = w);
        string key;
        using (var model = EmbeddingModel.Load(settings.Model, new EncoderOptions()))
        {
            key = model.Name;
            if (!VectorComponent.Everywhere(local!.LastCommit.Segments, key)) DenseCommand.Run(writer, model, HnswParameters.Default);
        }
        var vectors = StoredVectors.ForTree(key);
        TreeBuildResult result;
        if (settings.Extend)
        {
            result = ProgressReporter.Run("extend tree", "documents", _ => TreeIndexer.Extend(local!, vectors, cancellation));
            Console.WriteLine($"tree: {result.Added:N0} document(s) added ({result.Documents:N0} in all, {result.Nodes:N0} nodes, height {result.Height}) " +
                              $"in {result.Elapsed.TotalSeconds:N1} s");
            return 0;
        }
        var options = new TreeOptions(ParseStrategy(settings.Strategy)!.Value, settings.Branching, settings.Seed);
        // one bar over the steps: clustering a fifth, extractive summaries the rest (or three tenths, before the LLM's)
        result = ProgressReporter.Run("tree", "nodes", report => TreeIndexer.Build(local!, key, vectors, options,
            llm is null ? null : new LlmLattice(llm), (step, fraction, count) => report(step switch
            {
                "cluster" => 0.2 * fraction,
                "summaries" => 0.2 + (llm is null ? 0.8 : 0.3) * fraction,
                _ => 0.5 + 0.5 * fraction,
            }, 1, step == "cluster" ? 0 : count), cancellation));
        Console.WriteLine($"tree: {result.Documents:N0} documents, {result.Nodes:N0} nodes, height {result.Height}, branching {options.Branching}, " +
                          $"{settings.Strategy}, model {key}, " +
                          (llm is null ? "extractive summaries" : $"{result.LlmSummaries:N0} LLM summaries ({result.LlmFailures:N0} failed: extractive kept)") +
                          $", in {result.Elapsed.TotalSeconds:N1} s");
        LlmOptions.Report(llm);
        return 0;
    }
}

/// <summary>relevo tree status: which tree the index has and whether writes since made it stale.</summary>
internal sealed class TreeStatusCommand : Command<TreeStatusCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--index <DIR>")] public string IndexDir { get; init; } = "";

        public override Spectre.Console.ValidationResult Validate() =>
            IndexDir.Length == 0 ? Spectre.Console.ValidationResult.Error("--index is required") : Spectre.Console.ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        using var reader = IndexReader.Open(settings.IndexDir);
        Console.WriteLine(TreeReader.For(reader)?.Describe() ?? $"{settings.IndexDir}: no semantic tree (relevo tree build --index {settings.IndexDir})");
        return 0;
    }
}
