
namespace Relevo.IntegrationTests.Rerank;

/// <summary>`relevo experiment --llm`: LLM pipelines run through the endpoint once; a re-run reuses the cached runs.</summary>
public sealed class LlmExperimentTests(SciFactLlmFixture fx) : IClassFixture<SciFactLlmFixture>
{
    [Fact]
    public void ExperimentRunsLlmStagesAndCachesByModel()
    {
        using var tmp = new TempDir();
        using var dbl = new ChatTestDouble(c => Oracle.Answer(c, fx.Grade));
        File.WriteAllText(tmp["llm.yaml"], """
            datasets: [scifact]
            baseline: bm25
            measures: [ndcg_cut_10]
            k: 100
            pipelines:
              - bm25
              - bm25 >> llm.pointwise(top=3)
            """);
        var env = new Dictionary<string, string> { ["RELEVO_LLM_CACHE"] = tmp["cache"], ["RELEVO_LLM_ENDPOINT"] = "", ["RELEVO_LLM_MODEL"] = "" };
        string[] args = ["experiment", tmp["llm.yaml"], "--output", tmp["llm.md"], "--index-root", tmp["idx"], "--runs", tmp["runs"],
            "--llm", dbl.Endpoint, "--llm-model", "oracle"];
        var first = CliRunner.Run(args, env);
        Assert.True(first.ExitCode == 0, first.Stderr);
        int calls = dbl.Requests;
        Assert.True(calls >= 300, $"{calls} calls");
        string md = File.ReadAllText(tmp["llm.md"]);
        Assert.Contains($"--llm {dbl.Endpoint} --llm-model oracle", md);
        Assert.Contains("| bm25>>llm.pointwise", md);

        var second = CliRunner.Run(args, env);
        Assert.True(second.ExitCode == 0, second.Stderr);
        Assert.Equal(calls, dbl.Requests);
        Assert.Equal(2, second.Stderr.Split('\n').Count(l => l.Contains("cached run")));

        // Another model answering the same pipeline is another run.
        var third = CliRunner.Run([.. args[..^1], "oracle-2"], env);
        Assert.True(third.ExitCode == 0, third.Stderr);
        Assert.Equal(1, third.Stderr.Split('\n').Count(l => l.Contains("cached run")));
    }
}
