using System.ComponentModel;
using Relevo.Collections;
using Relevo.Evaluation;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Relevo.Cli.Commands;

/// <summary>The README's main job: index SciFact, run BM25 over its test queries and print the evaluation table
/// beside the published Pyserini figures.</summary>
internal sealed class QuickstartCommand : Command<QuickstartCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--dataset <NAME|PATH>")][DefaultValue("scifact")] public string Dataset { get; init; } = "scifact";
        [CommandOption("--index <DIR>")][Description("Where to build the index (default ./idx/<dataset>).")] public string? IndexDir { get; init; }
        [CommandOption("--threads <N>")] public int? Threads { get; init; }
        [CommandOption("--dense <MODEL>")][Description("Also embed the corpus with MODEL (arctic-xs, minilm; about 20 minutes for SciFact on 2 CPU cores the first time, cached after) and add dense and hybrid rows.")]
        public string? Dense { get; init; }
    }

    // Pyserini 2CR, BEIR v1.0.0, bm25-flat (see ../shared/datasets/BASELINES.md).
    private static readonly Dictionary<string, (double Ndcg10, double R100, double R1000)> Published = new()
    {
        ["scifact"] = (0.6789, 0.9253, 0.9767),
    };

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var dataset = DatasetDownload.Resolve(settings.Dataset);
        string indexDir = settings.IndexDir ?? Path.Combine("idx", dataset.Name);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        DatasetIndexes.Ensure(dataset, indexDir, rebuild: true);
        double indexSeconds = clock.Elapsed.TotalSeconds;

        if (settings.Dense is { } model) DatasetIndexes.EnsureVectors(indexDir, model);

        using var index = CliIndex.Open(indexDir);
        var status = index.StatusAsync().GetAwaiter().GetResult();
        var queries = JsonlReader.ReadQueries(dataset.QueriesPath);
        var evaluator = new Evaluator(Qrels.Load(dataset.QrelsPath));
        var pipelines = new List<string> { "bm25", "bm25 >> rm3(terms=10,docs=10,weight=0.5) >> bm25" };
        if (settings.Dense is { } m)
            pipelines.AddRange([$"dense(model={m})", $"fuse(rrf, bm25, dense(model={m}))", $"fuse(minmax, bm25, dense(model={m}), alpha=0.5)"]);

        var table = new Table().Title($"{dataset.Name}: {status.Documents:N0} documents, {queries.Count} queries")
            .AddColumn("pipeline").AddColumn(new TableColumn("nDCG@10").RightAligned()).AddColumn(new TableColumn("R@100").RightAligned())
            .AddColumn(new TableColumn("R@1000").RightAligned()).AddColumn(new TableColumn("MAP").RightAligned());
        string F(double v) => v.ToString("F4", System.Globalization.CultureInfo.InvariantCulture);
        double searchSeconds = 0;
        foreach (var text in pipelines)
        {
            string pipeline = index.CanonicalPipeline(text);
            clock.Restart();
            var run = ProgressReporter.Run(pipeline, "queries", report =>
                index.Run(queries, pipeline, 1000, new RunOptions
                {
                    Threads = settings.Threads ?? Environment.ProcessorCount,
                    Progress = n => report((double)n / queries.Count, 1, n),
                    Cancellation = cancellation,
                }));
            if (text == "bm25") searchSeconds = clock.Elapsed.TotalSeconds;
            var result = evaluator.Evaluate(run, ["ndcg_cut_10", "recall_100", "recall_1000", "map"]);
            table.AddRow(Markup.Escape(pipeline), F(result.Mean("ndcg_cut_10")), F(result.Mean("recall_100")), F(result.Mean("recall_1000")), F(result.Mean("map")));
        }
        if (Published.TryGetValue(dataset.Name, out var p))
            table.AddRow("[grey]Pyserini bm25-flat (published)[/]", F(p.Ndcg10), F(p.R100), F(p.R1000), "[grey]-[/]");
        AnsiConsole.Write(table);
        Console.WriteLine($"index: {indexSeconds:N1} s ({status.Documents / Math.Max(indexSeconds, 1e-9):N0} docs/s), {status.SizeBytes / 1048576.0:N1} MiB in {indexDir}; BM25 search: {queries.Count} queries in {searchSeconds:N2} s");
        return 0;
    }
}
