using System.ComponentModel;
using Relevo.Index;
using Spectre.Console.Cli;

namespace Relevo.Cli.Commands;

public sealed class IndexCommand : Command<IndexCommand.Settings>
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

        [CommandOption("--shards <N>")]
        [Description("Create (or add to) a sharded index of N shards: one ordinary index folder per shard, documents routed by a stable hash of _id, and cluster.json naming each cluster-wide commit. Served by `relevo silo`/`relevo serve --cluster`, or searched in process by search/run.")]
        public int? Shards { get; init; }

        public override Spectre.Console.ValidationResult Validate() =>
            IndexDir.Length == 0 ? Spectre.Console.ValidationResult.Error("--index is required") : base.Validate();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        if (settings.Shards is not null || Relevo.Sharding.ClusterManifest.Exists(settings.IndexDir))
            return IndexSharded(settings);
        string corpus = settings.CorpusPath();
        var options = new IndexWriterOptions
        {
            Analyzer = settings.Analyzer,
            ReplaceExisting = settings.Replace,
            RamBudgetBytes = (long)settings.RamMb << 20,
            CommitStage = CliHost.CommitStageHook(),
        };
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var writer = IndexWriter.Open(settings.IndexDir, options);
        long added = ProgressReporter.Run("index", "docs", report =>
            CorpusIndexer.AddCorpus(writer, corpus, (fraction, docs) => report(fraction, 1, docs)));
        writer.Commit();
        Console.WriteLine($"indexed {added:N0} documents from {corpus} into {settings.IndexDir} " +
                          $"({writer.LiveDocs:N0} live documents) in {clock.Elapsed.TotalSeconds:N1} s");
        if (settings.Dense is { } dense)
        {
            using var model = Relevo.Dense.EmbeddingModel.Load(dense);
            DenseCommand.Run(settings.IndexDir, model, writer);
        }
        return 0;
    }

    private static int IndexSharded(Settings settings)
    {
        string corpus = settings.CorpusPath();
        if (!File.Exists(corpus)) throw new RelevoException($"{corpus}: file not found");
        int shards = settings.Shards ?? Relevo.Sharding.ClusterManifest.Read(settings.IndexDir).ShardCount;
        Relevo.Sharding.ShardedIndex.CreateOrOpen(settings.IndexDir, shards, settings.Analyzer);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var hosts = Relevo.Sharding.ShardedIndex.OpenLocal(settings.IndexDir);
        try
        {
            var writer = new Relevo.Sharding.ClusterWriter(settings.IndexDir, hosts);
            var position = new Relevo.Collections.JsonlReader.Position();
            double fraction = 0;
            long line = 0;
            IEnumerable<Document> Documents()
            {
                foreach (var r in Relevo.Collections.JsonlReader.Read(corpus, requireText: false, position))
                {
                    fraction = position.TotalBytes == 0 ? 0 : (double)position.BytesRead / position.TotalBytes;
                    line = r.Line;
                    yield return new Document(r.Id, r.Title, r.Text);
                }
                fraction = 1;
            }
            long added;
            try
            {
                added = ProgressReporter.Run("index", "docs", report =>
                    writer.AddAsync(Documents(), settings.Replace, added: n => report(fraction, 1, n)).GetAwaiter().GetResult());
            }
            catch (DuplicateDocumentIdException e)
            {
                // documents go to the shards in batches, so the line is the last one read (at or after the duplicate)
                throw new RelevoException($"{corpus}: field _id: {e.Message} (found by line {line}); nothing was committed", e);
            }
            long version = writer.CommitAsync().GetAwaiter().GetResult();
            long live = 0;
            foreach (var h in hosts) live += h.LiveDocsAsync(Relevo.Sharding.ClusterVersion.Latest).GetAwaiter().GetResult().LiveDocs;
            Console.WriteLine($"indexed {added:N0} documents from {corpus} into {settings.IndexDir} ({shards} shards, " +
                              $"{live:N0} live documents, cluster version {version}) in {clock.Elapsed.TotalSeconds:N1} s");
            if (settings.Dense is { } dense)
            {
                using var model = Relevo.Dense.EmbeddingModel.Load(dense);
                for (int i = 0; i < hosts.Length; i++)
                {
                    var host = hosts[i];
                    var result = ProgressReporter.Run($"embed {model.Name} shard {i}", "passages", report =>
                        host.AddVectors(model, (fraction, n) => report(fraction, 1, n)));
                    Console.WriteLine($"{model.Name}: shard {i}: {result.Passages:N0} passages embedded in {result.Elapsed.TotalSeconds:N1} s");
                }
                version = writer.CommitAsync().GetAwaiter().GetResult();
                Console.WriteLine($"vectors committed as cluster version {version}");
            }
        }
        finally
        {
            foreach (var h in hosts) h.Dispose();
        }
        return 0;
    }
}
