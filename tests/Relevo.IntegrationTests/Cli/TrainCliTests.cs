using System.Globalization;
using System.Text.RegularExpressions;

namespace Relevo.IntegrationTests.Cli;

/// <summary>`relevo train` on cranfield (sparse features only: no model to load): the cross-validation table, the model
/// file, applying it with ltr(model=...), and what is refused.</summary>
public sealed partial class TrainCliTests
{
    private static string Cranfield => Path.Combine(TestData.DatasetsDir, "cranfield");
    private const string Features = "bm25 >> features(bm25, ql, rank, doclen, title)";

    private static CliRunner.Result Run(params string[] args)
    {
        var r = CliRunner.Run(args, timeoutMs: 300_000);
        Assert.True(r.ExitCode == 0, $"relevo {string.Join(' ', args)}: {r.Stdout}{r.Stderr}");
        return r;
    }

    [Theory]
    [InlineData("linear")]
    [InlineData("lambdamart")]
    [InlineData("fasttree")]
    [InlineData("auto")]
    public void Train_cross_validates_writes_a_model_and_ltr_applies_it(string learner)
    {
        using var tmp = new TempDir();
        Run("index", "--dataset", Cranfield, "--index", tmp["idx"]);
        var r = Run("train", "--dataset", Cranfield, "--index", tmp["idx"], "--pipeline", Features, "--learner", learner,
            "--folds", "3", "--output", tmp["model"]);
        var pooled = Pooled().Match(r.Stdout);
        Assert.True(pooled.Success, r.Stdout);
        double baseline = double.Parse(pooled.Groups[2].Value, CultureInfo.InvariantCulture), learned = double.Parse(pooled.Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.Equal(0.3510, baseline, 4); // bm25's nDCG@10 on cranfield (docs/results/hybrid.md): the folds saw the plain ranking
        Assert.True(learned > baseline, r.Stdout); // cranfield's titles and query likelihood help (measured: docs/results/ltr.md)
        Assert.True(File.Exists(Path.Combine(tmp["model"], "model.json")));

        var applied = Run("run", "--dataset", Cranfield, "--index", tmp["idx"], "--pipeline", $"{Features} >> ltr(model={tmp["model"]})",
            "-k", "100", "--output", tmp["run.txt"], "--eval", "--measures", "ndcg_cut_10");
        Assert.Contains("ndcg_cut_10", applied.Stdout);

        var other = CliRunner.Run(["search", "--index", tmp["idx"], "--query", "flow", "--pipeline", $"bm25 >> features(bm25, ql) >> ltr(model={tmp["model"]})"]);
        Assert.NotEqual(0, other.ExitCode);
        Assert.Contains("was trained on features(bm25,ql,rank,doclen,title), but the ranking has features(bm25,ql)", other.Stderr);
    }

    [Fact]
    public void What_train_refuses_is_said()
    {
        using var tmp = new TempDir();
        Run("index", "--dataset", Path.Combine(TestData.DatasetsDir, "adi"), "--index", tmp["idx"]);
        var r = CliRunner.Run(["train", "--dataset", Cranfield, "--index", tmp["idx"], "--pipeline", "bm25", "--output", tmp["m"]]);
        Assert.Contains("must retrieve, then end with features(...)", r.Stderr);
        r = CliRunner.Run(["train", "--dataset", Cranfield, "--index", tmp["idx"], "--pipeline", Features, "--learner", "svm"]);
        Assert.Contains("--learner must be one of lambdamart, fasttree, linear, auto", r.Stdout + r.Stderr);
        r = CliRunner.Run(["train", "--dataset", Cranfield, "--index", tmp["idx"], "--pipeline", Features, "--folds", "0"]);
        Assert.Contains("give --output", r.Stdout + r.Stderr);
    }

    [Fact]
    public void Export_writes_letor_lines_that_say_what_the_features_were()
    {
        using var tmp = new TempDir();
        Run("index", "--dataset", Cranfield, "--index", tmp["idx"]);
        var r = Run("train", "--dataset", Cranfield, "--index", tmp["idx"], "--pipeline", "bm25 >> features(bm25, rank)", "--depth", "5",
            "--folds", "0", "--export", tmp["f.letor"]);
        Assert.Contains("LETOR: feature i is the i-th of features(bm25,rank)", r.Stdout);
        var lines = File.ReadAllLines(tmp["f.letor"]);
        Assert.Equal(225 * 5, lines.Length);
        Assert.Matches(@"^\d+ qid:1 1:[0-9.]+ 2:1 # \d+$", lines[0]);
        Assert.Matches(@"^\d+ qid:1 1:[0-9.]+ 2:5 # \d+$", lines[4]);
    }

    [GeneratedRegex(@": \w+ ([0-9.]+) vs bm25 ([0-9.]+)")]
    private static partial Regex Pooled();
}
