using Relevo.Cli.Learning;
using Relevo.Learning;

namespace Relevo.Tests.Learning;

/// <summary>The learners on data whose answer is known, the copied LambdaMART trees against ML.NET's own scores, the
/// folds, and the model file's checks.</summary>
public sealed class LearnerTests
{
    /// <summary>Queries whose relevant candidates are exactly those with feature 1 above 0.7; features 0 and 2 are noise
    /// (feature 2 correlates with the incoming order, to tempt a learner). <paramref name="scaled"/>: feature 1's scale
    /// varies by query (what per-query normalization is for; trees on raw values cannot see through it).</summary>
    private static List<QueryExamples> Planted(int queries, int candidates, int seed, bool scaled = true) =>
        Generated(queries, candidates, seed, (rng, q, i) =>
        {
            float signal = (float)rng.NextDouble();
            float[] row = [(float)rng.NextDouble() * 50, signal * (scaled ? 1 + q % 3 : 1), (candidates - i) + (float)rng.NextDouble() * 20];
            return (row, signal > 0.7f ? (signal > 0.9f ? 2 : 1) : 0);
        });

    /// <summary>Queries of <paramref name="candidates"/> candidates each, every one's features and grade from
    /// <paramref name="candidate"/> (given the random source, the query and the candidate's position).</summary>
    private static List<QueryExamples> Generated(int queries, int candidates, int seed, Func<Random, int, int, (float[] Row, int Label)> candidate)
    {
        var rng = new Random(seed);
        var list = new List<QueryExamples>();
        for (int q = 0; q < queries; q++)
        {
            var rows = new float[candidates][];
            var labels = new int[candidates];
            for (int i = 0; i < candidates; i++) (rows[i], labels[i]) = candidate(rng, q, i);
            list.Add(new QueryExamples($"q{q}", [.. Enumerable.Range(0, candidates).Select(i => $"d{i}")], rows, labels));
        }
        return list;
    }

    private static double MeanNdcg(RankingModel model, List<QueryExamples> queries) =>
        queries.Average(q =>
        {
            var s = model.Score(q.Rows);
            var order = Enumerable.Range(0, s.Length).OrderByDescending(i => s[i]).ThenBy(i => i).Take(10).ToList();
            double dcg = order.Select((d, r) => q.Labels[d] / Math.Log2(r + 2)).Sum();
            double ideal = CoordinateAscent.IdealDcg(q.Labels);
            return ideal == 0 ? 0 : dcg / ideal;
        });

    private static RankingModel Model(LinearModel? linear, TreeEnsemble? trees) =>
        new(RankingModel.CurrentFormat, linear is null ? "lambdamart" : "linear", "features(a,b,c)", ["a", "b", "c"], "bm25", ["bm25"], "planted", linear, trees);

    [Fact]
    public void CoordinateAscentPutsItsWeightOnThePlantedFeature()
    {
        var train = Planted(60, 50, 1);
        var linear = CoordinateAscent.Train(train, 3);
        Assert.True(Math.Abs(linear.Weights[1]) > 0.6, $"weights {string.Join(", ", linear.Weights)}");
        Assert.True(MeanNdcg(Model(linear, null), Planted(30, 50, 2)) > 0.97);
        Assert.Equal(linear.Weights, CoordinateAscent.Train(train, 3).Weights); // seeded: deterministic
    }

    [Theory]
    [InlineData("lightgbm")]
    [InlineData("fasttree")]
    public void LambdaMartLearnsThePlantedFeatureAndItsCopiedTreesScoreAsMlNetDoes(string library)
    {
        var engine = library == "fasttree" ? LambdaMart.Engine.FastTree : LambdaMart.Engine.LightGbm;
        var train = Planted(60, 50, 3, scaled: false);
        var test = Planted(30, 50, 4, scaled: false);
        var trees = LambdaMart.Train(train, 3, new LambdaMart.Options(Trees: 30, Engine: engine), out var mlnet);
        double ndcg = MeanNdcg(Model(null, trees), test);
        Assert.True(ndcg > 0.95, $"nDCG@10 {ndcg:F4}");
        var ours = test.SelectMany(q => Model(null, trees).Score(q.Rows)).ToArray();
        var theirs = LambdaMart.Predict(mlnet, test, 3);
        Assert.Equal(theirs.Length, ours.Length);
        for (int i = 0; i < ours.Length; i++) Assert.Equal(theirs[i], ours[i], 4);
    }

    /// <summary>Relevant exactly when feature 1 lies in a middle band: trees find it, a linear model cannot.</summary>
    private static List<QueryExamples> Band(int queries, int candidates, int seed) =>
        Generated(queries, candidates, seed, (rng, _, _) =>
        {
            float signal = (float)rng.NextDouble();
            float[] row = [(float)rng.NextDouble(), signal, (float)rng.NextDouble()];
            return (row, signal is > 0.45f and < 0.6f ? 1 : 0);
        });

    private static FeatureSet Set(List<QueryExamples> queries) =>
        new(queries, new Relevo.Pipelines.FeaturesStage([new("a", null), new("b", null), new("c", null)]), "bm25", ["bm25"]);

    [Fact]
    public void AutoChoosesByAnInnerCrossValidationOfTheTrainingQueries()
    {
        // a band in one feature: only trees can rank it
        var band = Band(60, 50, 7);
        var (choice, scores) = LearnedRuns.Choose(Set(band), band);
        Assert.Equal("lambdamart", choice);
        Assert.Equal(LearnedRuns.AutoChoices, scores.Select(s => s.Learner));
        Assert.True(scores[0].Ndcg > scores[1].Ndcg + 0.2, string.Join(", ", scores));
        // the signal's scale changes tenfold from query to query: per-query normalization sees through it, trees do not
        var scaled = Planted(60, 50, 8).Select((q, n) => q with { Rows = q.Rows.Select(r => new[] { r[0], r[1] * (1 + n % 10) * 10, r[2] }).ToArray() }).ToList();
        Assert.Equal("linear", LearnedRuns.Choose(Set(scaled), scaled).Learner);
        // cross-validation with auto: each fold's model is what its own training queries chose
        var cv = LearnedRuns.CrossValidate(Set(band), "auto", 3);
        Assert.Equal(3, cv.Learners.Count);
        for (int f = 0; f < 3; f++)
            Assert.Equal(LearnedRuns.Choose(Set(band), band.Where((_, i) => cv.Folds[i] != f).ToList()).Learner, cv.Learners[f]);
    }

    [Fact]
    public void FoldsAreDeterministicBalancedAndDisjoint()
    {
        var ids = Enumerable.Range(0, 103).Select(i => $"query-{i}").ToList();
        var folds = QueryFolds.Assign(ids, 5);
        Assert.Equal(folds, QueryFolds.Assign(ids, 5));
        Assert.All(Enumerable.Range(0, 5).Select(f => folds.Count(x => x == f)), n => Assert.InRange(n, 20, 21));
        // a query keeps its fold when others are added (the fold depends on the id's hash rank, so only nearby ones move)
        Assert.NotEqual(Enumerable.Range(0, 103).Select(i => i % 5), folds); // not just the input order
    }

    [Fact]
    public void TheModelFileRoundTripsAndBadFilesAreNamed()
    {
        using var dir = new TempDir();
        var model = Model(new LinearModel([0.2, 0.7, 0.1]), null);
        model.Write(dir["m"]);
        var read = RankingModel.Read(dir["m"]);
        Assert.Equal(model.FeatureNames, read.FeatureNames);
        Assert.Equal(model.Linear!.Weights, read.Linear!.Weights);
        Directory.CreateDirectory(dir["bad"]);
        File.WriteAllText(Path.Combine(dir["bad"], RankingModel.FileName), "{ not json");
        Assert.Contains($"{Path.Combine(dir["bad"], RankingModel.FileName)}: not a learned model", Assert.Throws<RelevoException>(() => RankingModel.Read(dir["bad"])).Message);
        (model with { Linear = new LinearModel([1, 2]) }).Write(dir["short"]);
        Assert.Contains("2 weights for 3 features", Assert.Throws<RelevoException>(() => RankingModel.Read(dir["short"])).Message);
        Assert.Contains("no learned model here", Assert.Throws<RelevoException>(() => RankingModel.Read(dir["none"])).Message);
    }

    [Fact]
    public void LtrRefusesAnotherFeatureListOrAnotherPipeline()
    {
        using var dir = new TempDir();
        TestIndexes.Write(dir["idx"], TestIndexes.Small);
        new RankingModel(RankingModel.CurrentFormat, "linear", "features(bm25,ql)", ["bm25", "ql"], "bm25", ["bm25"], "test", new LinearModel([0.5, 0.5]), null)
            .Write(dir["model"]);
        using var index = SearchIndex.Open(dir["idx"]);
        Assert.Equal("d1", index.Search("vitamin cancer", $"bm25 >> features(bm25, ql) >> ltr(model={dir["model"]})", 5).Hits[0].Id);
        var other = Assert.Throws<RelevoException>(() => index.Search("vitamin", $"bm25 >> features(ql, bm25) >> ltr(model={dir["model"]})", 5));
        Assert.Contains("was trained on features(bm25,ql), but the ranking has features(ql,bm25)", other.Message);
        var pipeline = Assert.Throws<RelevoException>(() => index.Search("vitamin", $"ql >> features(bm25, ql) >> ltr(model={dir["model"]})", 5));
        Assert.Contains("was trained on candidates of 'bm25'", pipeline.Message);
        // a server names models, never paths
        using var served = SearchIndex.Open(dir["idx"], new SearchIndexOptions { Extensions = [new ServedModels(null)] });
        var path = Assert.Throws<Relevo.Pipelines.PipelineSyntaxException>(() => served.CanonicalPipeline($"bm25 >> features(bm25, ql) >> ltr(model={dir["model"]})"));
        Assert.Contains("name a model of this server, not a path", path.Message);
        using var named = SearchIndex.Open(dir["idx"], new SearchIndexOptions { Extensions = [new ServedModels(dir.Path)] });
        Assert.Equal("d1", named.Search("vitamin cancer", "bm25 >> features(bm25, ql) >> ltr(model=model)", 5).Hits[0].Id);
    }
}
