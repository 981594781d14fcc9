using System.ComponentModel;
using System.Globalization;
using Relevo.Cli.Learning;
using Relevo.Collections;
using Relevo.Evaluation;
using Relevo.Learning;
using Relevo.Pipelines;
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
        [CommandOption("--learner <NAME>")][DefaultValue("lambdamart")][Description("lambdamart (ML.NET FastTree, trees) or linear (coordinate ascent on nDCG@10)")]
        public string Learner { get; init; } = "lambdamart";
        [CommandOption("--folds <N>")][DefaultValue(5)][Description("Cross-validation folds over the queries (0: none, only the final model)")]
        public int Folds { get; init; } = 5;
        [CommandOption("--depth <N>")][DefaultValue(100)][Description("Candidates per query the pipeline retrieves and the model reorders")]
        public int Depth { get; init; } = 100;
        [CommandOption("--output <DIR>")][Description("Folder to write model.json to (trained on every query)")]
        public string? Output { get; init; }
        [CommandOption("--threads <N>")][DefaultValue(2)][Description("Queries whose features are computed in parallel")]
        public int Threads { get; init; } = 2;

        public override ValidationResult Validate()
        {
            if (IndexDir.Length == 0) return ValidationResult.Error("--index is required");
            if (Pipeline.Length == 0) return ValidationResult.Error("--pipeline is required (ending in features(...))");
            if (Learner is not ("lambdamart" or "linear")) return ValidationResult.Error("--learner must be lambdamart or linear");
            if (Folds is 1 or < 0 or > 20) return ValidationResult.Error("--folds must be 0 or between 2 and 20");
            if (Depth is < 1 or > 10_000) return ValidationResult.Error("--depth must be between 1 and 10000");
            if (Folds == 0 && Output is null) return ValidationResult.Error("give --output (and/or --folds) so training has a result");
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
        var parsed = Relevo.Pipelines.Pipeline.Parse(settings.Pipeline, index.Registry);
        var stages = parsed.Root is SequenceStage seq ? seq.Stages : [parsed.Root];
        if (stages[^1] is not FeaturesStage features || stages.Count < 2)
            throw new RelevoException($"--pipeline: '{parsed.Text}' must retrieve, then end with features(...), e.g. \"bm25 >> features(bm25, ql, rank)\"");
        string before = string.Join(">>", stages.Take(stages.Count - 1).Select(s => s.Text));
        var (examples, columns) = Extract(index, parsed.Text, features, queries, qrels, settings, cancellation);
        Console.WriteLine($"train: {queries.Count} queries × up to {settings.Depth} candidates, {features.Features.Count} features: {features.Text}; learner {settings.Learner}");

        if (settings.Folds > 0) CrossValidate(examples, features, qrels, settings, before);
        if (settings.Output is { } output)
        {
            var model = Fit(examples, features.Features.Count, settings.Learner, features, before, DatasetName(settings)) with { Stages = columns };
            model.Write(output);
            Console.WriteLine($"model: {Path.Combine(output, RankingModel.FileName)} (trained on all {examples.Count} queries); apply it with \"{parsed.Text} >> ltr(model={output})\"");
        }
        return 0;
    }

    private static string DatasetName(Settings s) => s.Dataset ?? s.Corpus ?? "";

    private static RankingModel Fit(IReadOnlyList<QueryExamples> train, int n, string learner, FeaturesStage features, string pipeline, string trainedOn) =>
        learner == "linear"
            ? new RankingModel(RankingModel.CurrentFormat, "linear", features.Text, features.Names, pipeline, [], trainedOn, CoordinateAscent.Train(train, n), null)
            : new RankingModel(RankingModel.CurrentFormat, "lambdamart", features.Text, features.Names, pipeline, [], trainedOn, null, LambdaMart.Train(train, n));

    /// <summary>Every judged query's candidates with their feature columns and graded labels (0 where unjudged).</summary>
    private static (List<QueryExamples> Examples, List<string> Stages) Extract(SearchIndex index, string pipeline, FeaturesStage features, List<(string Id, string Text)> queries,
        Qrels qrels, Settings settings, CancellationToken cancellation)
    {
        var result = new QueryExamples[queries.Count];
        List<string>? stages = null;
        ProgressReporter.Run("features", "queries", report =>
        {
            int done = 0;
            Parallel.For(0, queries.Count, new ParallelOptions { MaxDegreeOfParallelism = settings.Threads, CancellationToken = cancellation }, q =>
            {
                var (id, text) = queries[q];
                var found = index.Search(text, pipeline, settings.Depth);
                var at = features.Names.Select(n => found.Stages.ToList().IndexOf(FeaturesStage.ColumnPrefix + n)).ToArray();
                var judged = qrels.ForQuery(id);
                if (q == 0) stages = found.Stages.Where(x => !x.StartsWith(FeaturesStage.ColumnPrefix, StringComparison.Ordinal)).ToList();
                var ids = new string[found.Hits.Count];
                var rows = new float[ids.Length][];
                var labels = new int[ids.Length];
                for (int i = 0; i < ids.Length; i++)
                {
                    ids[i] = found.Hits[i].Id;
                    rows[i] = new float[at.Length];
                    for (int f = 0; f < at.Length; f++) rows[i][f] = found.StageScores(at[f])[i];
                    labels[i] = judged is not null && judged.TryGetValue(ids[i], out int g) ? Math.Max(0, g) : 0;
                }
                result[q] = new QueryExamples(id, ids, rows, labels);
                int n = Interlocked.Increment(ref done);
                report((double)n / queries.Count, 1, n);
            });
            return 0;
        });
        return ([.. result], stages!);
    }

    /// <summary>Per fold and pooled: nDCG@10 of the incoming ranking and of the model trained on the other folds;
    /// pooled with a paired t-test and a randomization test over queries.</summary>
    private static void CrossValidate(List<QueryExamples> examples, FeaturesStage features, Qrels qrels, Settings settings, string before)
    {
        var folds = QueryFolds.Assign(examples.Select(e => e.QueryId).ToList(), settings.Folds);
        var baseline = new TrecRun("baseline");
        var learned = new TrecRun("learned");
        foreach (var q in examples) baseline.AddRanking(q.QueryId, q.DocIds.Select((d, i) => (d, (double)(q.DocIds.Length - i))).ToList());
        var evaluator = new Evaluator(qrels);
        var table = new Table().AddColumns("fold", "queries", $"{before} nDCG@10", $"{settings.Learner} nDCG@10");
        for (int f = 0; f < settings.Folds; f++)
        {
            var train = examples.Where((_, i) => folds[i] != f).ToList();
            var test = examples.Where((_, i) => folds[i] == f).ToList();
            var model = Fit(train, features.Features.Count, settings.Learner, features, before, "");
            var foldRun = new TrecRun("fold");
            var foldBase = new TrecRun("base");
            foreach (var q in test)
            {
                var scores = model.Score(q.Rows);
                var ranked = q.DocIds.Select((d, i) => (d, scores[i])).ToList();
                learned.AddRanking(q.QueryId, ranked);
                foldRun.AddRanking(q.QueryId, ranked);
                foldBase.AddRanking(q.QueryId, baseline.ForQuery(q.QueryId));
            }
            table.AddRow(f.ToString(CultureInfo.InvariantCulture), test.Count.ToString(CultureInfo.InvariantCulture),
                F(evaluator.Evaluate(foldBase, ["ndcg_cut_10"]).Mean("ndcg_cut_10")), F(evaluator.Evaluate(foldRun, ["ndcg_cut_10"]).Mean("ndcg_cut_10")));
        }
        var b = evaluator.Evaluate(baseline, ["ndcg_cut_10"]);
        var l = evaluator.Evaluate(learned, ["ndcg_cut_10"]);
        var ids = examples.Select(e => e.QueryId).ToList();
        var a = ids.Select(id => l.Value("ndcg_cut_10", id)).ToArray();
        var c = ids.Select(id => b.Value("ndcg_cut_10", id)).ToArray();
        var (t, p) = Significance.PairedTTest(a, c);
        double pr = Significance.PairedRandomizationTest(a, c);
        table.AddRow("pooled", examples.Count.ToString(CultureInfo.InvariantCulture), F(b.Mean("ndcg_cut_10")), F(l.Mean("ndcg_cut_10")));
        AnsiConsole.Write(table);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{settings.Folds}-fold cross-validation (folds by xxHash32 of the query id): {settings.Learner} {l.Mean("ndcg_cut_10"):F4} vs {before} {b.Mean("ndcg_cut_10"):F4}, " +
            $"Δ {l.Mean("ndcg_cut_10") - b.Mean("ndcg_cut_10"):+0.0000;-0.0000}; paired t-test p = {p:F4}, randomization p = {pr:F4}"));
    }

    private static string F(double v) => v.ToString("F4", CultureInfo.InvariantCulture);
}
