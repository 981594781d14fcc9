using System.ComponentModel;
using Spectre.Console.Cli;

namespace Relevo.Cli.Commands;

internal sealed class IndexCommand : Command<IndexCommand.Settings>
{
    public sealed class Settings : DatasetSettings
    {
        [CommandOption("--index <DIR>")]
        [Description("Index folder; created if absent, otherwise the documents are added to it.")]
        public string IndexDir { get; init; } = "";

        [CommandOption("--analyzer <NAME>")]
        [Description("english (Lucene's EnglishAnalyzer: stop words, Porter stemming) or lowercase. Only for a new index.")]
        [DefaultValue("english")]
        public string Analyzer { get; init; } = "english";

        [CommandOption("--replace")]
        [Description("A document whose _id is already indexed replaces it (otherwise a duplicate _id is an error).")]
        public bool Replace { get; init; }

        [CommandOption("--ram-mb <MB>")]
        [Description("Memory for buffered documents before a segment is written.")]
        [DefaultValue(256)]
        public int RamMb { get; init; } = 256;

        [CommandOption("--dense <MODEL>")]
        [Description("Also store vectors of this model (arctic-xs, minilm, or a model folder); only segments without them are encoded.")]
        public string? Dense { get; init; }

        [CommandOption("--hnsw-m <M>")]
        [Description(GraphFlags.MDescription)]
        [DefaultValue(Relevo.Dense.HnswParameters.DefaultM)]
        public int HnswM { get; init; } = Relevo.Dense.HnswParameters.DefaultM;

        [CommandOption("--hnsw-ef-construction <N>")]
        [Description(GraphFlags.EfDescription)]
        [DefaultValue(Relevo.Dense.HnswParameters.DefaultEfConstruction)]
        public int HnswEfConstruction { get; init; } = Relevo.Dense.HnswParameters.DefaultEfConstruction;

        [CommandOption("--shards <N>")]
        [Description("Create (or add to) a sharded index of N shards: one ordinary index folder per shard, documents routed by a stable hash of _id, and cluster.json naming each cluster-wide commit. Served by `relevo silo`/`relevo serve --cluster`, or searched in process by search/run.")]
        public int? Shards { get; init; }

        [CommandOption("--merge <WHEN>")]
        [Description("final: the segments this run writes are merged into one when it commits (what was indexed before is not rewritten); log: Lucene's log merge policy at the commit (ten segments of one size become one); none: segments stay as written (`relevo optimize` merges them later).")]
        [DefaultValue("final")]
        public string Merge { get; init; } = "final";

        public override Spectre.Console.ValidationResult Validate() =>
            IndexDir.Length == 0 ? Spectre.Console.ValidationResult.Error("--index is required")
            : Merge is not ("final" or "log" or "none") ? Spectre.Console.ValidationResult.Error($"--merge: '{Merge}' is not one of final, log, none")
            : GraphFlags.Validate(HnswM, HnswEfConstruction) is { Successful: false } bad ? bad
            : base.Validate();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        string corpus = settings.CorpusPath();
        var options = new WriterOptions
        {
            Analyzer = settings.Analyzer,
            Shards = settings.Shards,
            ReplaceExisting = settings.Replace,
            RamBudgetBytes = (long)settings.RamMb << 20,
            CommitStage = CliHost.CommitStageHook(),
            MergeSegments = settings.Merge == "log",
        };
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var writer = SearchIndex.OpenWriter(settings.IndexDir, options, CliIndex.Extensions());
        long added;
        try
        {
            added = ProgressReporter.Run("index", "docs", report =>
                writer.AddCorpus(corpus, (fraction, docs) => report(fraction, 1, docs)));
        }
        catch (RelevoException e) when (!e.Message.Contains("nothing was committed", StringComparison.Ordinal))
        {
            throw new RelevoException($"{e.Message}; nothing was committed (the index is as it was)", e);
        }
        long version = settings.Merge == "final" ? writer.CommitMerged() : writer.Commit();
        bool sharded = Relevo.Sharding.ShardedManifest.Exists(settings.IndexDir);
        Console.WriteLine($"indexed {added:N0} documents from {corpus} into {settings.IndexDir} " +
                          (sharded
                              ? $"({Relevo.Sharding.ShardedManifest.Read(settings.IndexDir).ShardCount} shards, {writer.LiveDocs:N0} live documents, cluster version {version}) "
                              : $"({writer.LiveDocs:N0} live documents) ") +
                          $"in {clock.Elapsed.TotalSeconds:N1} s");
        if (settings.Dense is { } dense)
        {
            using var model = Relevo.Dense.EmbeddingModel.Load(dense);
            DenseCommand.Run(writer, model, GraphFlags.Parameters(settings.HnswM, settings.HnswEfConstruction));
        }
        return 0;
    }
}
