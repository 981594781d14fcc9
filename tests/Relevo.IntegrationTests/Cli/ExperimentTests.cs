namespace Relevo.IntegrationTests.Cli;

public class ExperimentTests
{
    [Fact]
    public void WritesTablesAndReusesCachedRuns()
    {
        using var tmp = new TempDir();
        string yaml = tmp["tiny.yaml"];
        File.WriteAllText(yaml, """
            title: Tiny
            datasets: [adi]
            baseline: bm25
            measures: [ndcg_cut_10, map]
            pipelines:
              - bm25
              - ql(mu=1000)
              - bm25 >> rm3(docs=3) >> bm25
              - fuse(rrf, bm25, ql)
            """);
        string[] args = ["experiment", yaml, "--output", tmp["tiny.md"], "--index-root", tmp["idx"], "--runs", tmp["runs"]];
        var first = CliRunner.Run(args);
        Assert.True(first.ExitCode == 0, first.Stderr);
        string md = File.ReadAllText(tmp["tiny.md"]);
        Assert.Contains("## adi (82 documents, 35 queries)", md);
        Assert.Contains("| bm25 (baseline) | 35 |", md);
        Assert.Contains("| bm25>>rm3(terms=10,docs=3,weight=0.5)>>bm25 | 35 |", md);
        Assert.Contains("experiment " + yaml.Replace('\\', '/'), md);
        Assert.DoesNotContain("cached run", first.Stderr);

        var second = CliRunner.Run(args);
        Assert.True(second.ExitCode == 0, second.Stderr);
        Assert.Equal(4, second.Stderr.Split('\n').Count(l => l.Contains("cached run")));
        Assert.Equal(md, File.ReadAllText(tmp["tiny.md"]));
    }

    [Fact]
    public void BadPipelineNamesFileAndField()
    {
        using var tmp = new TempDir();
        string yaml = tmp["bad.yaml"];
        File.WriteAllText(yaml, "datasets: [adi]\npipelines:\n  - bm25\n  - fuse(rrf, bm25)\n");
        var r = CliRunner.Run(["experiment", yaml]);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"{yaml}: field pipelines[1]: pipeline syntax error at column 1: fuse needs at least two pipelines", r.Stderr);
    }

    [Fact]
    public void LearnedRowsAreCrossValidatedOrTrainedElsewhereWithTheirFolds()
    {
        using var tmp = new TempDir();
        string yaml = tmp["ltr.yaml"];
        File.WriteAllText(yaml, """
            datasets: [cranfield]
            baseline: bm25
            measures: [ndcg_cut_10]
            k: 100
            pipelines:
              - bm25
            learned:
              - pipeline: bm25 >> features(bm25, ql, title)
                learner: linear
                folds: 3
              - pipeline: bm25 >> features(bm25, ql, title)
                learner: linear
                trainOn: adi
              - pipeline: bm25 >> features(bm25, ql, title)
                learner: linear
                trainOn: cranfield
            """);
        var r = CliRunner.Run(["experiment", yaml, "--output", tmp["ltr.md"], "--index-root", tmp["idx"], "--runs", tmp["runs"]], timeoutMs: 300_000);
        Assert.True(r.ExitCode == 0, r.Stderr);
        string md = File.ReadAllText(tmp["ltr.md"]);
        Assert.Contains("| bm25>>features(bm25,ql,title)>>ltr(linear, 3-fold cross-validation) | 225 |", md);
        Assert.Contains("| bm25>>features(bm25,ql,title)>>ltr(linear, trained on adi) | 225 |", md);
        Assert.Contains("Folds of `bm25>>features(bm25,ql,title)>>ltr(linear, 3-fold cross-validation)`", md);
        Assert.Equal(3, md.Split('\n').Count(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^\| [0-2] \| \d+ \| 0\.\d{4} \| 0\.\d{4} \|$")));
        Assert.Contains("is left out here: trained on this dataset", md);

        File.WriteAllText(yaml, "datasets: [adi]\npipelines:\n  - bm25\nlearned:\n  - pipeline: bm25\n");
        var bad = CliRunner.Run(["experiment", yaml]);
        Assert.Contains($"{yaml}: field learned[0].pipeline: 'bm25' must retrieve, then end with features(...)", bad.Stderr);
    }
}
