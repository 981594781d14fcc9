using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.FastTree;
using Microsoft.ML.Trainers.LightGbm;
using Relevo.Evaluation;
using Relevo.Learning;

// Which LambdaMART to ship: ML.NET's FastTree or LightGBM (through ML.NET), on the same features, folds and parameters.
// usage: dotnet run -c Release --project bench/Relevo.Bench.Ltr -- FEATURES.letor QRELS
//   FEATURES.letor: `relevo train ... --folds 0 --export FILE`; QRELS: the dataset's qrels (BEIR tsv or TREC)
// Prints nDCG@10 of each learner's pooled 5-fold cross-validation run (Relevo's QueryFolds) and a paired t-test.
if (args.Length != 2)
{
    Console.Error.WriteLine("usage: Relevo.Bench.Ltr FEATURES.letor QRELS");
    return 1;
}
var rows = new List<(string Qid, int Label, float[] Features, string Doc)>();
foreach (var line in File.ReadLines(args[0]))
{
    int hash = line.IndexOf(" # ", StringComparison.Ordinal);
    var parts = line[..hash].Split(' ');
    var features = parts.Skip(2).Select(p => float.Parse(p[(p.IndexOf(':') + 1)..], CultureInfo.InvariantCulture)).ToArray();
    rows.Add((parts[1][4..], int.Parse(parts[0], CultureInfo.InvariantCulture), features, line[(hash + 3)..]));
}
var qids = rows.Select(r => r.Qid).Distinct().ToList();
var folds = QueryFolds.Assign(qids, 5);
var foldOf = qids.Select((q, i) => (q, i)).ToDictionary(x => x.q, x => folds[x.i]);
var group = qids.Select((q, i) => (q, i)).ToDictionary(x => x.q, x => (uint)x.i + 1);
int n = rows[0].Features.Length;
var ml = new MLContext(42);
var schema = SchemaDefinition.Create(typeof(Row));
schema["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, n);
schema["GroupId"].ColumnType = new KeyDataViewType(typeof(uint), (ulong)qids.Count + 1);
IDataView View(IEnumerable<(string Qid, int Label, float[] Features, string Doc)> rs) =>
    ml.Data.LoadFromEnumerable(rs.Select(r => new Row { Label = r.Label, GroupId = group[r.Qid], Features = r.Features }), schema);

var evaluator = new Evaluator(Qrels.Load(args[1]));
var results = new List<(string Learner, EvaluationResult Result)>();
foreach (var learner in new[] { "fasttree", "lightgbm" })
{
    var run = new TrecRun(learner);
    for (int f = 0; f < 5; f++)
    {
        var train = rows.Where(r => foldOf[r.Qid] != f).ToList();
        var test = rows.Where(r => foldOf[r.Qid] == f).ToList();
        // the parameters relevo train uses: 100 trees of 10 leaves, learning rate 0.1, 20 examples per leaf, linear gains
        IEstimator<ITransformer> trainer = learner == "fasttree"
            ? ml.Ranking.Trainers.FastTree(new FastTreeRankingTrainer.Options
            {
                LabelColumnName = "Label", FeatureColumnName = "Features", RowGroupColumnName = "GroupId", NumberOfTrees = 100, NumberOfLeaves = 10,
                MinimumExampleCountPerLeaf = 20, LearningRate = 0.1, NumberOfThreads = 1, Seed = 42, CustomGains = [0, 1, 2, 3, 4],
            })
            : ml.Ranking.Trainers.LightGbm(new LightGbmRankingTrainer.Options
            {
                LabelColumnName = "Label", FeatureColumnName = "Features", RowGroupColumnName = "GroupId", NumberOfIterations = 100, NumberOfLeaves = 10,
                MinimumExampleCountPerLeaf = 20, LearningRate = 0.1, NumberOfThreads = 1, Seed = 42, CustomGains = [0, 1, 2, 3, 4],
            });
        var scores = trainer.Fit(View(train)).Transform(View(test)).GetColumn<float>("Score").ToArray();
        foreach (var q in test.Select(r => r.Qid).Distinct())
            run.AddRanking(q, test.Select((r, i) => (r, i)).Where(x => x.r.Qid == q).Select(x => (x.r.Doc, (double)scores[x.i])).ToList());
    }
    results.Add((learner, evaluator.Evaluate(run, ["ndcg_cut_10"])));
}
var a = qids.Select(q => results[0].Result.Value("ndcg_cut_10", q)).ToArray();
var b = qids.Select(q => results[1].Result.Value("ndcg_cut_10", q)).ToArray();
var (_, p) = Significance.PairedTTest(b, a);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{Path.GetFileName(args[0])}: {qids.Count} queries, {n} features; 5-fold nDCG@10 FastTree {results[0].Result.Mean("ndcg_cut_10"):F4}, " +
    $"LightGBM {results[1].Result.Mean("ndcg_cut_10"):F4} (paired t-test p = {p:F3})"));
return 0;

internal sealed class Row
{
    public float Label { get; set; }
    public uint GroupId { get; set; }
    public float[] Features { get; set; } = [];
}
