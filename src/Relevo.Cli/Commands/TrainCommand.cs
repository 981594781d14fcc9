using System.ComponentModel;
using System.Globalization;
using Relevo.Cli.Learning;
using Relevo.Collections;
using Relevo.Evaluation;
using Relevo.Learning;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Relevo.Cli.Commands;

/// <summary>relevo train: learns a ranker over the features a pipeline computes (<c>... >> features(...)</c>), reports
/// it by cross-validation over query folds (the model never sees its test fold) against the incoming ranking, and
/// writes the model trained on every query for <c>ltr(model=DIR)</c>.</summary>
internal sealed class TrainCommand : Command<TrainCommand.Settings>
{
    public sealed class Settings : DatasetSettings
    {
        [CommandOption("--index <DIR>")] public string IndexDir { get; init; } = "";
        [CommandOption("--pipeline <TEXT>")][Description("A pipeline ending in features(...), e.g. \"bm25 >> features(bm25, ql, dense(model=arctic-xs), rank)\"")]
        public string Pipeline { get; init; } = "";
        [CommandOption("--learner <NAME>")][DefaultValue("lambdamart")][Description("lambdamart (LightGBM's lambdarank, x64), fasttree (LambdaMART by ML.NET's FastTree), linear (coordinate ascent on nDCG@10) or auto (lambdamart or linear, chosen by an inner 4-fold cross-validation of the training queries)")]
        public string Learner { get; init; } = "lambdamart";
        [CommandOption("--folds <N>")][DefaultValue(5)][Description("Cross-validation folds over the queries (0: none, only the final model)")]
        public int Folds { get; init; } = 5;
        [CommandOption("--depth <N>")][DefaultValue(100)][Description("Candidates per query the pipeline retrieves and the model reorders")]
        public int Depth { get; init; } = 100;
        [CommandOption("--output <DIR>")][Description("Folder to write model.json to (trained on every query)")]
        public string? Output { get; init; }
        [CommandOption("--export <FILE>")][Description("Also write the features in LETOR/SVMlight format (label qid:Q 1:v ... # docid), as RankLib and LightGBM read them")]
        public string? Export { get; init; }
        [CommandOption("--threads <N>")][DefaultValue(2)][Description("Queries whose features are computed in parallel")]
        public int Threads { get; init; } = 2;

        public override ValidationResult Validate()
        {
            if (IndexDir.Length == 0) return ValidationResult.Error("--index is required");
            if (Pipeline.Length == 0) return ValidationResult.Error("--pipeline is required (ending in features(...))");
            if (!LearnedRuns.Learners.Contains(Learner)) return ValidationResult.Error($"--learner must be one of {string.Join(", ", LearnedRuns.Learners)}");
            if (Folds is 1 or < 0 or > 20) return ValidationResult.Error("--folds must be 0 or between 2 and 20");
            if (Depth is < 1 or > 10_000) return ValidationResult.Error("--depth must be between 1 and 10000");
            if (Folds == 0 && Output is null && Export is null) return ValidationResult.Error("give --output (and/or --folds, --export) so training has a result");
            if (Threads < 1) return ValidationResult.Error("--threads must be at least 1");
            return ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        string qrelsPath = settings.QrelsPath() ?? throw new RelevoException("train needs judgments: give --dataset or --qrels");
        var qrels = Qrels.Load(qrelsPath);
        var judged = new HashSet<string>(qrels.QueryIds, StringComparer.Ordinal);
        var queries = JsonlReader.ReadQueries(settings.QueriesPath()).FindAll(q => judged.Contains(q.Id));
        if (queries.Count == 0) throw new RelevoException($"{qrelsPath}: no query of {settings.QueriesPath()} is judged");
        using var index = CliIndex.Open(settings.IndexDir);
        FeatureSet set;
        try
        {
            set = ProgressReporter.Run("features", "queries", report => LearnedRuns.Extract(index, settings.Pipeline, queries, qrels,
                settings.Depth, settings.Threads, n => report((double)n / queries.Count, 1, n), cancellation));
        }
        catch (RelevoException e) when (e is not Relevo.Pipelines.PipelineSyntaxException)
        {
            throw new RelevoException($"--pipeline: {e.Message}");
        }
        Console.WriteLine($"train: {queries.Count} queries × up to {settings.Depth} candidates, {set.Features.Features.Count} features: {set.Features.Text}; learner {settings.Learner}");
        if (settings.Export is { } export)
        {
            LearnedRuns.ExportLetor(set, export);
            Console.WriteLine($"features: {export} (LETOR: feature i is the i-th of {set.Features.Text})");
        }
        if (settings.Folds > 0) CrossValidate(set, qrels, settings);
        if (settings.Output is { } output)
        {
            var model = LearnedRuns.Fit(set, set.Examples, settings.Learner, settings.Dataset ?? settings.Corpus ?? "");
            model.Write(output);
            if (settings.Learner == "auto") Console.WriteLine($"auto: chose {model.Learner} for the model trained on all queries");
            Console.WriteLine($"model: {Path.Combine(output, RankingModel.FileName)} (trained on all {set.Examples.Count} queries); " +
                              $"apply it with \"{set.Before}>>{set.Features.Text} >> ltr(model={output})\"");
        }
        return 0;
    }

    /// <summary>Per fold and pooled: nDCG@10 of the incoming ranking and of the model trained on the other folds;
    /// pooled with a paired t-test and a randomization test over queries.</summary>
    private static void CrossValidate(FeatureSet set, Qrels qrels, Settings settings)
    {
        var cv = LearnedRuns.CrossValidate(set, settings.Learner, settings.Folds);
        var evaluator = new Evaluator(qrels);
        bool auto = settings.Learner == "auto";
        var table = new Table().AddColumns("fold", "queries", $"{set.Before} nDCG@10", $"{settings.Learner} nDCG@10");
        if (auto) table.AddColumn("chose");
        foreach (var (fold, n, incoming, learned) in LearnedRuns.ByFold(cv, evaluator, "ndcg_cut_10"))
        {
            var cells = new List<string> { fold.ToString(CultureInfo.InvariantCulture), n.ToString(CultureInfo.InvariantCulture), F(incoming), F(learned) };
            if (auto) cells.Add(cv.Learners[fold]);
            table.AddRow(cells.ToArray());
        }
        var b = evaluator.Evaluate(cv.Incoming, ["ndcg_cut_10"]);
        var l = evaluator.Evaluate(cv.Learned, ["ndcg_cut_10"]);
        var a = cv.QueryIds.Select(id => l.Value("ndcg_cut_10", id)).ToArray();
        var c = cv.QueryIds.Select(id => b.Value("ndcg_cut_10", id)).ToArray();
        var (_, p) = Significance.PairedTTest(a, c);
        double pr = Significance.PairedRandomizationTest(a, c);
        var pooled = new List<string> { "pooled", cv.QueryIds.Count.ToString(CultureInfo.InvariantCulture), F(b.Mean("ndcg_cut_10")), F(l.Mean("ndcg_cut_10")) };
        if (auto) pooled.Add("");
        table.AddRow(pooled.ToArray());
        AnsiConsole.Write(table);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{settings.Folds}-fold cross-validation (folds by xxHash32 of the query id): {settings.Learner} {l.Mean("ndcg_cut_10"):F4} vs {set.Before} {b.Mean("ndcg_cut_10"):F4}, " +
            $"Δ {l.Mean("ndcg_cut_10") - b.Mean("ndcg_cut_10"):+0.0000;-0.0000}; paired t-test p = {p:F4}, randomization p = {pr:F4}"));
    }

    private static string F(double v) => v.ToString("F4", CultureInfo.InvariantCulture);
}
