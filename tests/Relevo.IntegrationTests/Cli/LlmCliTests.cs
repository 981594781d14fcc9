using System.Text.Json;

namespace Relevo.IntegrationTests.Rerank;

/// <summary>The real CLI against the loopback double: run with --llm (cost line, cache re-run byte for byte), judge,
/// eval --agreement and ask.</summary>
public sealed class LlmCliTests(SciFactLlmFixture fx) : IClassFixture<SciFactLlmFixture>
{
    [Fact]
    public void RunJudgeAgreementAndAsk()
    {
        using var tmp = new TempDir();
        using var dbl = new ChatTestDouble(c => Oracle.Answer(c, fx.Grade));
        File.WriteAllLines(tmp["queries.jsonl"], fx.Queries.Take(10).Select(q => JsonSerializer.Serialize(new { _id = q.Id, text = q.Text })));
        var env = new Dictionary<string, string> { ["RELEVO_LLM_CACHE"] = tmp["cache"], ["RELEVO_LLM_ENDPOINT"] = "", ["RELEVO_LLM_MODEL"] = "" };
        string[] Run(string output) =>
        [
            "run", "--index", fx.IndexDir, "--queries", tmp["queries.jsonl"], "--pipeline", "bm25 >> llm.listwise", "-k", "100",
            "--threads", "2", "--output", output, "--llm", dbl.Endpoint, "--llm-model", "oracle",
        ];
        var first = CliRunner.Run(Run(tmp["a.run"]), env);
        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Contains("llm: 90 requests, 90 HTTP calls, 0 cached", first.Stderr);
        int calls = dbl.Requests;
        var second = CliRunner.Run(Run(tmp["b.run"]), env);
        Assert.True(second.ExitCode == 0, second.Stderr);
        Assert.Contains("0 HTTP calls, 90 cached", second.Stderr);
        Assert.Equal(calls, dbl.Requests);
        Assert.Equal(File.ReadAllBytes(tmp["a.run"]), File.ReadAllBytes(tmp["b.run"]));

        var bm25 = CliRunner.Run(["run", "--index", fx.IndexDir, "--queries", tmp["queries.jsonl"], "-k", "100", "--output", tmp["bm25.run"]], env);
        Assert.True(bm25.ExitCode == 0, bm25.Stderr);
        var judge = CliRunner.Run(["judge", "--queries", tmp["queries.jsonl"], "--index", fx.IndexDir, "--run", tmp["a.run"], "--depth", "5",
            "--output", tmp["llm.tsv"], "--llm", dbl.Endpoint, "--llm-model", "oracle"], env);
        Assert.True(judge.ExitCode == 0, judge.Stderr);
        Assert.Contains("wrote 50 judgments", judge.Stdout);
        var qrels = Path.Combine(TestData.DatasetsDir, "scifact", "qrels", "test.tsv");
        var agree = CliRunner.Run(["eval", "--agreement", qrels, "--agreement", tmp["llm.tsv"], "--run", tmp["a.run"], "--run", tmp["bm25.run"]], env);
        Assert.True(agree.ExitCode == 0, agree.Stderr);
        Assert.Contains("Cohen's kappa, binary (grade >= 1): 1.0000", agree.Stdout);
        Assert.Contains("count as non-relevant", agree.Stdout);
        Assert.Contains("Krippendorff's alpha, ordinal:", agree.Stdout);
        Assert.Contains("Kendall's tau between the system orderings: 1.0000", agree.Stdout);

        // a question whose BM25 top 5 holds a relevant passage, so the oracle keeps it, cites it and makes one id up
        string question;
        using (var index = SearchIndex.Open(fx.IndexDir))
            question = fx.Queries.First(q => index.Search(q.Text, "bm25", 5).Hits.Any(h => fx.Qrels.ForQuery(q.Id)!.GetValueOrDefault(h.Id) > 0)).Text;
        var ask = CliRunner.Run(["ask", "--index", fx.IndexDir, "--question", question, "--llm", dbl.Endpoint, "--llm-model", "oracle"], env);
        Assert.True(ask.ExitCode == 0, ask.Stderr);
        using var json = JsonDocument.Parse(ask.Stdout);
        Assert.Equal(question, json.RootElement.GetProperty("question").GetString());
        // citations name passages the answer read; the id the double made up is listed as removed and gone from the text
        var read = json.RootElement.GetProperty("passages").EnumerateArray().Select(p => p.GetProperty("id").GetString()).ToHashSet();
        var cited = json.RootElement.GetProperty("citations").EnumerateArray().Select(c => c.GetString()).ToList();
        Assert.All(cited, c => Assert.Contains(c, read));
        Assert.Equal(["not-a-doc"], json.RootElement.GetProperty("invalid_citations").EnumerateArray().Select(c => c.GetString()));
        string answerText = json.RootElement.GetProperty("answer").GetString()!;
        Assert.DoesNotContain("not-a-doc", answerText);
        Assert.DoesNotContain(" .", answerText);

        var missing = CliRunner.Run(["run", "--index", fx.IndexDir, "--queries", tmp["queries.jsonl"], "--pipeline", "bm25 >> llm.pointwise", "--output", tmp["c.run"]], env);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("--llm", missing.Stderr + missing.Stdout);
    }

    /// <summary>A slow endpoint: the operator sets the per-attempt timeout and the retries from the command line (or the
    /// environment), failed calls count as failed and not as repaired, and --verbose names the queries they hurt.</summary>
    [Fact]
    public void OperatorSetsTimeoutAndRetriesAndSeesWhichQueriesFailed()
    {
        using var tmp = new TempDir();
        using var slow = new ChatTestDouble(c => Oracle.Answer(c, fx.Grade)) { Delay = TimeSpan.FromSeconds(4) };
        var three = fx.Queries.Take(3).ToList();
        File.WriteAllLines(tmp["queries.jsonl"], three.Select(q => JsonSerializer.Serialize(new { _id = q.Id, text = q.Text })));
        var env = new Dictionary<string, string> { ["RELEVO_LLM_CACHE"] = "none", ["RELEVO_LLM_ENDPOINT"] = "", ["RELEVO_LLM_MODEL"] = "" };
        string[] Args(params string[] extra) =>
        [
            "run", "--index", fx.IndexDir, "--queries", tmp["queries.jsonl"], "--pipeline", "bm25 >> llm.pointwise(top=2)", "-k", "10",
            "--output", tmp["a.run"], "--llm", slow.Endpoint, "--llm-model", "oracle", .. extra,
        ];
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var r = CliRunner.Run(Args("--llm-timeout", "1", "--llm-retries", "0", "--verbose"), env);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"took {clock.Elapsed}"); // the default 120 s × 7 attempts would take minutes
        Assert.Contains("llm: 6 requests, 6 HTTP calls, 0 cached, 0 retries, 6 failed, 0 repaired", r.Stderr);
        foreach (var q in three) Assert.Contains($"llm: query {q.Id}: 2 failed, 0 repaired", r.Stderr);
        Assert.Equal(30, File.ReadAllLines(tmp["a.run"]).Length); // the incoming order is kept for what failed

        var fromEnvironment = CliRunner.Run(Args(), new Dictionary<string, string>(env) { ["RELEVO_LLM_TIMEOUT"] = "1", ["RELEVO_LLM_RETRIES"] = "0" });
        Assert.True(fromEnvironment.ExitCode == 0, fromEnvironment.Stderr);
        Assert.Contains("0 retries, 6 failed", fromEnvironment.Stderr);
        Assert.Contains("llm: 3 queries had failed or repaired calls (--verbose lists them)", fromEnvironment.Stderr);

        var bad = CliRunner.Run(Args("--llm-retries", "50"), env);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("--llm-retries: 50 retries is outside 0..20", bad.Stderr);
        var badEnv = CliRunner.Run(Args(), new Dictionary<string, string>(env) { ["RELEVO_LLM_TIMEOUT"] = "soon" });
        Assert.Equal(1, badEnv.ExitCode);
        Assert.Contains("RELEVO_LLM_TIMEOUT=soon: not a whole number", badEnv.Stderr);
    }
}
