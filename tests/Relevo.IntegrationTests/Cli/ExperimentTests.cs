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
}
