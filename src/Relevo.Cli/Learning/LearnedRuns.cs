using Relevo.Evaluation;
using Relevo.Learning;
using Relevo.Pipelines;

namespace Relevo.Cli.Learning;

/// <summary>One query set's candidates and features for learning: the examples, the features stage, the pipeline
/// before it and the score columns that pipeline leaves.</summary>
internal sealed record FeatureSet(List<QueryExamples> Examples, FeaturesStage Features, string Before, List<string> Stages)
{
    /// <summary>The incoming ranking of every query (the pipeline before features), as a run.</summary>
    public TrecRun Incoming()
    {
        var run = new TrecRun("incoming");
        foreach (var q in Examples) run.AddRanking(q.QueryId, q.DocIds.Select((d, i) => (d, (double)(q.DocIds.Length - i))).ToList());
        return run;
    }
}

/// <summary>Cross-validated runs: the pooled run of every fold's model on its own test fold, which queries each fold
/// held, and the learner each fold's model is (with <c>auto</c>, the one it chose).</summary>
internal sealed record CrossValidated(TrecRun Learned, TrecRun Incoming, int[] Folds, IReadOnlyList<string> QueryIds, IReadOnlyList<string> Learners);

/// <summary>What <c>relevo train</c> and <c>relevo experiment</c> share: feature extraction, fitting a learner,
/// cross-validation over query folds, and applying a model to a query set.</summary>
internal static class LearnedRuns
{
    public static readonly string[] Learners = ["lambdamart", "fasttree", "linear", "auto"];

    /// <summary>What <c>auto</c> chooses from: trees where there are queries enough, the linear model where there are few.</summary>
    public static readonly string[] AutoChoices = ["lambdamart", "linear"];

    /// <summary>Folds of the inner cross-validation by which <c>auto</c> chooses.</summary>
    public const int AutoFolds = 4;

    /// <summary>Runs <paramref name="pipeline"/> (which must end with features(...)) for every query and keeps the top
    /// <paramref name="depth"/> candidates with their features and their qrels grades (0 where unjudged).</summary>
    public static FeatureSet Extract(SearchIndex index, string pipeline, IReadOnlyList<(string Id, string Text)> queries, Qrels qrels,
        int depth, int threads, Action<int>? progress, CancellationToken cancellation)
    {
        var parsed = Pipeline.Parse(pipeline, index.Registry);
        var (features, before) = Split(parsed);
        var result = new QueryExamples[queries.Count];
        List<string>? columns = null;
        int done = 0;
        Parallel.For(0, queries.Count, new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = cancellation }, q =>
        {
            var (id, text) = queries[q];
            var found = index.Search(text, parsed.Text, depth);
            var names = found.Stages.ToList();
            var at = features.Names.Select(n => names.IndexOf(FeaturesStage.ColumnPrefix + n)).ToArray();
            if (q == 0) columns = names.Where(x => !x.StartsWith(FeaturesStage.ColumnPrefix, StringComparison.Ordinal)).ToList();
            var judged = qrels.ForQuery(id);
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
            progress?.Invoke(Interlocked.Increment(ref done));
        });
        return new FeatureSet([.. result], features, before, columns ?? []);
    }

    /// <summary>Writes the examples in LETOR/SVMlight format: <c>label qid:Q 1:v1 2:v2 ... # docid</c>, one line per
    /// candidate, queries in order; NaN features are written as 0.</summary>
    public static void ExportLetor(FeatureSet set, string path)
    {
        using var w = new StreamWriter(path);
        var sb = new System.Text.StringBuilder();
        foreach (var q in set.Examples)
            for (int i = 0; i < q.DocIds.Length; i++)
            {
                sb.Clear().Append(q.Labels[i].ToString(System.Globalization.CultureInfo.InvariantCulture)).Append(" qid:").Append(q.QueryId);
                for (int f = 0; f < q.Rows[i].Length; f++)
                {
                    float v = q.Rows[i][f];
                    sb.Append(' ').Append(f + 1).Append(':').Append((float.IsNaN(v) ? 0 : v).ToString("R", System.Globalization.CultureInfo.InvariantCulture));
                }
                sb.Append(" # ").Append(q.DocIds[i]);
                w.WriteLine(sb.ToString());
            }
    }

    /// <summary>A learned pipeline's features stage and the pipeline before it (its text); anything that does not
    /// retrieve and then end with features(...) is refused.</summary>
    public static (FeaturesStage Features, string Before) Split(Pipeline parsed)
    {
        var stages = parsed.Root is SequenceStage seq ? seq.Stages : [parsed.Root];
        if (stages[^1] is not FeaturesStage features || stages.Count < 2)
            throw new RelevoException($"'{parsed.Text}' must retrieve, then end with features(...), e.g. \"bm25 >> features(bm25, ql, rank)\"");
        return (features, string.Join(">>", stages.Take(stages.Count - 1).Select(s => s.Text)));
    }

    public static RankingModel Fit(FeatureSet set, IReadOnlyList<QueryExamples> train, string learner, string trainedOn)
    {
        if (learner == "auto") learner = Choose(set, train).Learner;
        int n = set.Features.Features.Count;
        return learner switch
        {
            "linear" => new RankingModel(RankingModel.CurrentFormat, "linear", set.Features.Text, set.Features.Names, set.Before, set.Stages,
                trainedOn, CoordinateAscent.Train(train, n), null),
            "lambdamart" or "fasttree" => new RankingModel(RankingModel.CurrentFormat, learner, set.Features.Text, set.Features.Names, set.Before, set.Stages,
                trainedOn, null, LambdaMart.Train(train, n, new LambdaMart.Options(Engine: learner == "fasttree" ? LambdaMart.Engine.FastTree : LambdaMart.Engine.LightGbm))),
            _ => throw new RelevoException($"unknown learner '{learner}' ({string.Join(", ", Learners)})"),
        };
    }

    /// <summary>The learner of <see cref="AutoChoices"/> with the best mean nDCG@10 over an inner cross-validation of the
    /// training queries alone (<see cref="AutoFolds"/> folds by <see cref="QueryFolds"/>; a candidate's gain is its
    /// grade, the ideal is over the candidates), so the choice never sees a test query. A learner that cannot train on
    /// this platform (LightGBM on arm64) is left out. Ties go to the earlier choice.</summary>
    public static (string Learner, IReadOnlyList<(string Learner, double Ndcg)> Scores) Choose(FeatureSet set, IReadOnlyList<QueryExamples> train)
    {
        var assignment = QueryFolds.Assign(train.Select(q => q.QueryId).ToList(), AutoFolds);
        var scores = new List<(string, double)>();
        string? best = null;
        double bestScore = double.NegativeInfinity;
        foreach (var learner in AutoChoices)
        {
            double total = 0;
            try
            {
                for (int f = 0; f < AutoFolds; f++)
                {
                    var model = Fit(set, train.Where((_, i) => assignment[i] != f).ToList(), learner, "");
                    for (int i = 0; i < train.Count; i++)
                        if (assignment[i] == f) total += CoordinateAscent.Ndcg(model.Score(train[i].Rows), train[i].Labels, CoordinateAscent.IdealDcg(train[i].Labels));
                }
            }
            catch (RelevoException) when (learner != AutoChoices[^1])
            {
                continue; // no native library here: choose among the others
            }
            double mean = total / Math.Max(1, train.Count);
            scores.Add((learner, mean));
            if (mean > bestScore) (best, bestScore) = (learner, mean);
        }
        return (best!, scores);
    }

    /// <summary>The model's ranking of each query's candidates, as a run.</summary>
    public static void Apply(RankingModel model, IEnumerable<QueryExamples> queries, TrecRun into)
    {
        foreach (var q in queries)
        {
            var scores = model.Score(q.Rows);
            into.AddRanking(q.QueryId, q.DocIds.Select((d, i) => (d, scores[i])).ToList());
        }
    }

    /// <summary>For each of <paramref name="folds"/> folds (by <see cref="QueryFolds"/>), a model trained on the other
    /// folds ranks the fold's queries; the runs are pooled.</summary>
    public static CrossValidated CrossValidate(FeatureSet set, string learner, int folds)
    {
        var ids = set.Examples.Select(e => e.QueryId).ToList();
        var assignment = QueryFolds.Assign(ids, folds);
        var learned = new TrecRun($"cv{folds}-{learner}");
        var used = new string[folds];
        for (int f = 0; f < folds; f++)
        {
            var train = set.Examples.Where((_, i) => assignment[i] != f).ToList();
            var model = Fit(set, train, learner, "");
            used[f] = model.Learner;
            Apply(model, set.Examples.Where((_, i) => assignment[i] == f), learned);
        }
        return new CrossValidated(learned, set.Incoming(), assignment, ids, used);
    }

    /// <summary>Per fold: its query count and the mean of <paramref name="measure"/> over its queries, incoming and
    /// learned.</summary>
    public static List<(int Fold, int Queries, double Incoming, double Learned)> ByFold(CrossValidated cv, Evaluator evaluator, string measure)
    {
        var incoming = evaluator.Evaluate(cv.Incoming, [measure]);
        var learned = evaluator.Evaluate(cv.Learned, [measure]);
        var rows = new List<(int, int, double, double)>();
        for (int f = 0; f <= cv.Folds.Max(); f++)
        {
            var queries = cv.QueryIds.Where((_, i) => cv.Folds[i] == f).ToList();
            rows.Add((f, queries.Count, queries.Average(q => incoming.Value(measure, q)), queries.Average(q => learned.Value(measure, q))));
        }
        return rows;
    }
}
