using Relevo.Evaluation;
using Relevo.Pipelines;
using Relevo.Llm;
using Xunit.Abstractions;

namespace Relevo.Tests.Rerank;

/// <summary>Every LLM reranker end to end over BM25's top-100 on SciFact, against an in-process OpenAI-compatible
/// double whose oracle knows the qrels: prompts, windows, parsing and merging must carry the oracle's knowledge
/// through to nDCG@10 ≥ 0.85. A faulty double (HTTP 500/429, slow answers, broken permutations, refusals) must
/// never make a pipeline fail, drop or duplicate a candidate.</summary>
public sealed class LlmRerankerTests(SciFactLlmFixture fx, ITestOutputHelper output) : IClassFixture<SciFactLlmFixture>
{
    /// <summary>The first queries of SciFact's judged set (the whole set takes 100 calls a query for pointwise).</summary>
    private const int QueryCount = 60;

    private static LlmSettings Settings(ChatTestDouble d, string? cache = null) =>
        new(d.Endpoint, "oracle") { Concurrency = 8, CacheDir = cache, RetryDelay = TimeSpan.FromMilliseconds(5), Timeout = TimeSpan.FromSeconds(1) };

    private TrecRun Run(string pipeline, LlmClient llm, int queries = QueryCount)
    {
        using var index = fx.Open(llm);
        return index.Run(fx.Queries.Take(queries).ToList(), pipeline, 100, new RunOptions { Threads = 4 });
    }

    [Theory]
    [InlineData("bm25 >> llm.pointwise")]
    [InlineData("bm25 >> llm.pointwise(logprobs=false)")]
    [InlineData("bm25 >> llm.listwise(window=20,step=10)")]
    [InlineData("bm25 >> llm.listwise(first=true)")]
    [InlineData("bm25 >> llm.setwise(k=4,m=10)")]
    [InlineData("bm25 >> llm.setwise(reasoning=true)")]
    [InlineData("bm25 >> llm.groupwise(group=10)")]
    [InlineData("bm25 >> cascade(llm.pointwise, llm.listwise, top=20)")]
    [InlineData("bm25 >> llm.listwise(criteria=relevance:1,recency:0.3)")]
    public void OracleRerankerReachesNdcg085(string pipeline)
    {
        using var dbl = new ChatTestDouble(c => Oracle.Answer(c, fx.Grade));
        using var llm = new LlmClient(Settings(dbl));
        var run = Run(pipeline, llm);
        var bm25 = Run("bm25", llm);
        double ndcg = fx.Ndcg10(run), baseline = fx.Ndcg10(bm25);
        output.WriteLine($"{pipeline}: nDCG@10 {ndcg:F4} (bm25 {baseline:F4}); {llm.Stats}");
        Assert.True(ndcg >= 0.85, $"{pipeline}: nDCG@10 {ndcg:F4} (bm25 {baseline:F4}); {llm.Stats}");
        Assert.Equal(0, llm.Stats.Failures);
        Assert.True(llm.Stats.PromptTokens > 0);
        AssertSameCandidates(bm25, run);
    }

    /// <summary>The same over all 300 judged queries (about 90,000 calls to the double; RELEVO_HEAVY=1).</summary>
    [HeavyFact]
    public void EveryRerankerOverAllQueries()
    {
        using var dbl = new ChatTestDouble(c => Oracle.Answer(c, fx.Grade));
        using var llm = new LlmClient(Settings(dbl));
        var report = new List<string>();
        foreach (var pipeline in new[]
                 {
                     "bm25 >> llm.pointwise", "bm25 >> llm.listwise", "bm25 >> llm.listwise(first=true)", "bm25 >> llm.setwise",
                     "bm25 >> llm.groupwise", "bm25 >> cascade(llm.pointwise, llm.listwise, top=20)",
                 })
        {
            double ndcg = fx.Ndcg10(Run(pipeline, llm, fx.Queries.Count));
            report.Add($"{pipeline}: {ndcg:F4}");
            output.WriteLine(report[^1]);
            Assert.True(ndcg >= 0.85, string.Join("; ", report));
        }
    }

    /// <summary>A double whose text and log-probabilities disagree: the log-probabilities are the oracle's, the text says
    /// the opposite (pointwise: 10 − the score; listwise: the oracle's ranking reversed).</summary>
    private ChatAnswer Disagreeing(ChatCall c)
    {
        var a = Oracle.Answer(c, fx.Grade);
        if (c.Prompt.Contains("On a scale from 0", StringComparison.Ordinal))
            return a with { Text = (10 - int.Parse(a.Text, System.Globalization.CultureInfo.InvariantCulture)).ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (c.Prompt.Contains("passages above", StringComparison.Ordinal))
            return a with { Text = string.Join(" > ", a.Text.Split(" > ").Reverse()) };
        return a;
    }

    /// <summary>Each stage follows the signal it claims: pointwise and FIRST read log-probabilities (and rank as the
    /// oracle does although the text says the opposite); pointwise without them and generated listwise read the text
    /// (and fall below BM25, since the text is reversed).</summary>
    [Theory]
    [InlineData("bm25 >> llm.pointwise", true)]
    [InlineData("bm25 >> llm.listwise(first=true)", true)]
    [InlineData("bm25 >> llm.pointwise(logprobs=false)", false)]
    [InlineData("bm25 >> llm.listwise", false)]
    public void EachStageFollowsTheSignalItClaims(string pipeline, bool readsLogprobs)
    {
        using var dbl = new ChatTestDouble(Disagreeing);
        using var llm = new LlmClient(Settings(dbl));
        double ndcg = fx.Ndcg10(Run(pipeline, llm)), bm25 = fx.Ndcg10(Run("bm25", llm));
        output.WriteLine($"{pipeline}: nDCG@10 {ndcg:F4} (bm25 {bm25:F4})");
        if (readsLogprobs) Assert.True(ndcg >= 0.85, $"{pipeline} should follow the log-probabilities: {ndcg:F4}");
        else Assert.True(ndcg < bm25, $"{pipeline} should follow the (reversed) text: {ndcg:F4} vs bm25 {bm25:F4}");
    }

    /// <summary>Qwen2.5, Llama 2 and Mistral write "10" as "1","0": a perfect passage must still score about 10, not 1
    /// (which would also drop it from `relevo ask`'s relevance gate).</summary>
    [Fact]
    public async Task PointwiseScoresTenOnATokenizerThatSplitsDigits()
    {
        using var dbl = new ChatTestDouble(c => Oracle.Answer(c, fx.Grade)) { SplitDigits = true };
        using var llm = new LlmClient(Settings(dbl));
        using var index = fx.Open(llm);
        var (qid, query) = fx.Queries.First(q => index.Search(q.Text, "bm25", 5).Hits.Any(h => fx.Qrels.ForQuery(q.Id)!.GetValueOrDefault(h.Id) > 0));
        var hits = index.Search(query, "bm25", 10, new SearchOptions { Documents = true });
        var passages = hits.Documents!.Select(d => Prompts.Passage(d!)).ToList();
        var scores = new PointwiseStage(10, LlmStage.DefaultCriteria).Score(query, passages, llm);
        for (int i = 0; i < scores.Length; i++)
        {
            bool relevant = fx.Qrels.ForQuery(qid)!.GetValueOrDefault(hits.Hits[i].Id) > 0;
            if (relevant) Assert.InRange(scores[i], 9.5f, 10f);
            else Assert.InRange(scores[i], 0.5f, 2f);
        }
        Assert.True(fx.Ndcg10(Run("bm25 >> llm.pointwise", llm)) >= 0.85);
        var answer = await Asker.AskAsync(index, llm, query, new AskOptions("bm25", Depth: 10, Passages: 5, Threshold: 5, Iterations: 1));
        Assert.NotEmpty(answer.Passages); // the gate keeps the passages the model called perfect
    }

    [Fact]
    public void FirstFallsBackToGenerationWithoutLogprobs()
    {
        using var dbl = new ChatTestDouble(c => Oracle.Answer(c, fx.Grade)) { Logprobs = false };
        using var llm = new LlmClient(Settings(dbl));
        double ndcg = fx.Ndcg10(Run("bm25 >> llm.listwise(first=true)", llm));
        Assert.True(ndcg >= 0.85, $"nDCG@10 {ndcg:F4}");
    }

    [Theory]
    [InlineData("bm25 >> llm.pointwise")]
    [InlineData("bm25 >> llm.listwise(window=20,step=10)")]
    [InlineData("bm25 >> llm.listwise(first=true)")]
    [InlineData("bm25 >> llm.setwise")]
    [InlineData("bm25 >> llm.groupwise")]
    [InlineData("bm25 >> cascade(llm.pointwise, llm.listwise)")]
    [InlineData("llm.expand >> bm25 >> llm.listwise")]
    public void FaultyDoubleNeverDropsOrDuplicates(string pipeline)
    {
        using var dbl = new ChatTestDouble(c => Oracle.Answer(c, fx.Grade))
        {
            FaultRate = 0.1,
            SlowRate = 0.005,
            SlowDelay = TimeSpan.FromMilliseconds(600),
            Mangle = Break,
        };
        using var tmp = new TempDir(); // the baseline run reuses the expansions
        using var llm = new LlmClient(Settings(dbl, tmp["cache"]) with { Timeout = TimeSpan.FromMilliseconds(400) });
        var run = Run(pipeline, llm, 8);
        var bm25 = Run(pipeline.StartsWith("llm.expand", StringComparison.Ordinal) ? "llm.expand >> bm25" : "bm25", llm, 8);
        AssertSameCandidates(bm25, run);
        Assert.True(llm.Stats.Retries > 0, llm.Stats.ToString());
        Assert.True(llm.Stats.Repairs > 0, llm.Stats.ToString());
    }

    /// <summary>Refusals (8%) and permutations with identifiers dropped, repeated or out of range (the double adds
    /// answers that arrive after the client's timeout).</summary>
    private static ChatAnswer Break(ChatCall call, ChatAnswer a, Random r)
    {
        double x = r.NextDouble();
        if (x < 0.08) return new ChatAnswer("I'm sorry, but I can't help with that.");
        if (call.Prompt.Contains("passages above", StringComparison.Ordinal) && r.NextDouble() < 0.5)
        {
            var ids = a.Text.Split(" > ").ToList();
            if (ids.Count > 3) { ids.RemoveAt(1); ids.Insert(0, ids[^1]); ids.Add("[99]"); }
            return a with { Text = "Here is the ranking: " + string.Join(" > ", ids) };
        }
        return a;
    }

    [Fact]
    public void RerunWithTheCacheMakesNoCallsAndTheSameRunFile()
    {
        using var tmp = new TempDir();
        const string pipeline = "bm25 >> cascade(llm.pointwise(logprobs=true), llm.listwise(first=true))";
        string first, second;
        using (var dbl = new ChatTestDouble(c => Oracle.Answer(c, fx.Grade)) { FaultRate = 0.05 })
        using (var llm = new LlmClient(Settings(dbl, tmp["cache"])))
        {
            first = Write(Run(pipeline, llm, 20));
            Assert.True(dbl.Requests > 0);
        }
        using (var dbl = new ChatTestDouble(c => Oracle.Answer(c, fx.Grade)))
        using (var llm = new LlmClient(Settings(dbl, tmp["cache"])))
        {
            second = Write(Run(pipeline, llm, 20));
            Assert.Equal(0, dbl.Requests);
            Assert.Equal(0, llm.Stats.HttpCalls);
            Assert.Equal(llm.Stats.Requests, llm.Stats.CacheHits);
        }
        Assert.Equal(first, second);
    }

    private static string Write(TrecRun run)
    {
        var sw = new StringWriter();
        run.Write(sw);
        return sw.ToString();
    }

    [Fact]
    public void RetryAfterIsHonoured()
    {
        using var dbl = new ChatTestDouble(c => new ChatAnswer("7")) { FailFirst = 1, RetryAfterSeconds = 1 };
        using var llm = new LlmClient(Settings(dbl));
        var reply = llm.Complete(new LlmRequest(null, "Rate this: 7"));
        Assert.Equal("7", reply!.Text);
        Assert.Equal(TimeSpan.FromSeconds(1), llm.Stats.LastRetryDelay); // the server's Retry-After, not the 5 ms backoff
        Assert.Equal(1, llm.Stats.Retries);
        Assert.Equal(2, llm.Stats.HttpCalls);
    }

    [Fact]
    public void WithoutSettingsAnLlmStageSaysHowToPassThem()
    {
        using var index = fx.Open(null);
        var e = Assert.Throws<RelevoException>(() => index.Search("cancer", "bm25 >> llm.listwise", 10));
        Assert.Contains("--llm", e.Message);
        Assert.Contains("RELEVO_LLM_ENDPOINT", e.Message);
    }

    /// <summary>An explained LLM reranking quotes, for each reranked hit, the replies its score was read from: the
    /// pointwise reply is the number that became its own score; every listwise window reply that ranked it names it.</summary>
    [Fact]
    public async Task ExplanationsQuoteTheRepliesEachScoreWasReadFrom()
    {
        using var dbl = new ChatTestDouble(c => Oracle.Answer(c, fx.Grade));
        using var llm = new LlmClient(Settings(dbl));
        using var index = fx.Open(llm);
        string query = fx.Queries[0].Text;

        var pointwise = await index.SearchAsync(query, "bm25 >> llm.pointwise(logprobs=false,top=20)", 10, new SearchOptions { Explain = true });
        Assert.Equal(10, pointwise.Explanations!.Count);
        foreach (var e in pointwise.Explanations!)
        {
            var own = Assert.Single(e!.Parts!);
            var inner = own.Explanation!;
            Assert.Contains("no attribution", inner.Note);
            string reply = Assert.Single(inner.Replies!);
            Assert.Equal(own.InputScore!.Value, float.Parse(reply.Trim(), System.Globalization.CultureInfo.InvariantCulture));
        }

        var listwise = await index.SearchAsync(query, "bm25 >> llm.listwise(window=10,step=5,top=20)", 10, new SearchOptions { Explain = true });
        foreach (var e in listwise.Explanations!)
        {
            var replies = e!.Parts![0].Explanation!.Replies!;
            Assert.InRange(replies.Count, 1, 3); // 20 passages in windows of 10, step 5: each passage is in one to three
            Assert.All(replies, r => Assert.Contains(">", r));
        }
        // without explain, nothing is recorded
        var plain = await index.SearchAsync(query, "bm25 >> llm.listwise(window=10,step=5,top=20)", 10);
        Assert.Null(plain.Explanations);
    }

    private static void AssertSameCandidates(TrecRun expected, TrecRun actual)
    {
        foreach (var qid in expected.QueryIds)
        {
            var a = actual.ForQuery(qid).Select(x => x.DocId).ToList();
            Assert.Equal(a.Count, a.Distinct().Count());
            Assert.Equal(expected.ForQuery(qid).Select(x => x.DocId).Order(), a.Order());
        }
    }
}

/// <summary>The LLM stages in the pipeline language, and reply parsing on its own.</summary>
public sealed class LlmStageParsingTests
{
    [Theory]
    [InlineData("bm25 >> llm.pointwise(top=100,logprobs=true)", "bm25>>llm.pointwise")]
    [InlineData("bm25>>llm.listwise(window=20, step=10)", "bm25>>llm.listwise")]
    [InlineData("bm25 >> llm.listwise(window=10,step=5,first=true,top=50)", "bm25>>llm.listwise(window=10,step=5,first=true,top=50)")]
    [InlineData("bm25 >> llm.listwise(criteria=relevance:1,recency:0.3)", "bm25>>llm.listwise(criteria=[relevance:1,recency:0.3])")]
    [InlineData("bm25 >> llm.pointwise(criteria=[relevance:1])", "bm25>>llm.pointwise")]
    [InlineData("bm25 >> llm.setwise(k=3,m=5,reasoning=true)", "bm25>>llm.setwise(k=3,m=5,reasoning=true)")]
    [InlineData("bm25 >> llm.groupwise(group=5)", "bm25>>llm.groupwise(group=5)")]
    [InlineData("bm25 >> cascade(pointwise, llm.listwise, top=20)", "bm25>>cascade(llm.pointwise,llm.listwise)")]
    [InlineData("llm.expand(repeat=5) >> bm25", "llm.expand>>bm25")]
    [InlineData("bm25 >> rerank(dense(model=arctic-xs), depth=100)", "bm25>>rerank(dense(model=arctic-xs))")]
    [InlineData("bm25 >> rerank(dense(arctic-xs), depth=50)", "bm25>>rerank(dense(model=arctic-xs),depth=50)")]
    public void CanonicalText(string text, string canonical)
    {
        Assert.Equal(canonical, LlmPipelines.Parse(text).Text);
        Assert.Equal(canonical, LlmPipelines.Parse(canonical).Text);
    }

    [Theory]
    [InlineData("bm25 >> llm.listwise(window=10,step=10)", "step must be smaller than window")]
    [InlineData("bm25 >> llm.listwise(first=true,window=30)", "window must be at most 20")]
    [InlineData("bm25 >> llm.pointwise(depth=3)", "llm.pointwise has no argument 'depth'")]
    [InlineData("bm25 >> llm.pointwise(criteria=relevance:x)", "criteria are name:weight")]
    [InlineData("bm25 >> rerank(bm25)", "rerank needs a dense model")]
    [InlineData("bm25 >> cascade(llm.pointwise)", "cascade needs two rerankers")]
    [InlineData("bm25 >> cascade(llm.pointwise, bm25)", "cascade takes rerankers")]
    [InlineData("bm25 >> llm.list", "did you mean 'llm.listwise'")]
    public void Errors(string text, string message)
    {
        var e = Assert.Throws<PipelineSyntaxException>(() => LlmPipelines.Parse(text));
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData("[3] > [1] > [2]", 3, false, "2,0,1", false)]
    [InlineData("Ranking: [2] > [2] > [9] > [1]", 3, false, "1,0,2", true)]
    [InlineData("I cannot rank these.", 3, false, "0,1,2", true)]
    [InlineData("C > A > B", 3, true, "2,0,1", false)]
    [InlineData("B > A", 3, true, "1,0,2", true)]
    [InlineData("I think C > A > B is right.", 10, true, "2,0,1,3,4,5,6,7,8,9", true)]
    [InlineData("[C] > [B] > [A]", 3, true, "2,1,0", false)]
    [InlineData("B", 2, true, "1,0", true)]
    public void Permutations(string reply, int n, bool letters, string expected, bool repaired)
    {
        var perm = Prompts.ParsePermutation(reply, n, letters, out bool fixedIt);
        Assert.Equal(expected, string.Join(",", perm));
        Assert.Equal(repaired, fixedIt);
    }

    [Fact]
    public void PointwiseExpectedScoreOverDigits()
    {
        // p(9) = 0.5, p(8) = 0.25, p(x) = 0.25 ignored: (0.5·9 + 0.25·8) / 0.75
        var reply = new LlmReply("9", [new LlmToken("9", Math.Log(0.5), [("9", Math.Log(0.5)), ("8", Math.Log(0.25)), ("x", Math.Log(0.25))])]);
        Assert.Equal((0.5 * 9 + 0.25 * 8) / 0.75, PointwiseStage.ReadScore(reply)!.Value, 9);
        Assert.Equal(7, PointwiseStage.ReadScore(new LlmReply("Score: 7", null)));
        Assert.Null(PointwiseStage.ReadScore(new LlmReply("I can't help with that.", null)));
        Assert.Equal([7.0, null, 2.5], GroupwiseStage.Parse("[1]: 7\n[3] = 2.5\n[1]: 1", 3));
    }

    [Fact]
    public void PointwiseReadsTenWrittenAsTwoDigitTokens()
    {
        // "10" as one token: 10
        var whole = new LlmReply("10", [new LlmToken("10", Math.Log(0.9), [("10", Math.Log(0.9)), ("9", Math.Log(0.1))])]);
        Assert.Equal(0.9 * 10 + 0.1 * 9, PointwiseStage.ReadScore(whole)!.Value, 9);
        // "1" then "0": p("1") = 0.8 of which p("0" | "1") = 0.75 goes on to 10; p("9") = 0.2
        var split = new LlmReply("10", [
            new LlmToken("1", Math.Log(0.8), [("1", Math.Log(0.8)), ("9", Math.Log(0.2))]),
            new LlmToken("0", Math.Log(0.75), [("0", Math.Log(0.75)), ("\n", Math.Log(0.25))]),
        ]);
        Assert.Equal(0.8 * (0.75 * 10 + 0.25 * 1) + 0.2 * 9, PointwiseStage.ReadScore(split)!.Value, 9);
        // a plain 1 (what follows the "1" is not a "0")
        var one = new LlmReply("1", [new LlmToken("1", Math.Log(0.9), [("1", Math.Log(0.9)), ("2", Math.Log(0.1))]),
            new LlmToken("\n", Math.Log(0.99), [("\n", Math.Log(0.99)), (" 0", Math.Log(0.01))])]);
        Assert.Equal(0.9 * 1 + 0.1 * 2, PointwiseStage.ReadScore(one)!.Value, 9);
        // no log-probabilities: the number in the text
        Assert.Equal(10, PointwiseStage.ReadScore(new LlmReply("10", null)));
    }

    [Fact]
    public void TheDoubleSplitsNumbersAsADigitTokenizerWould()
    {
        var split = ChatTestDouble.SplitNumberTokens(new ChatAnswer("10", [[("10", Math.Log(0.6)), ("1", Math.Log(0.2)), ("9", Math.Log(0.2))]]));
        Assert.Equal(2, split.Logprobs!.Count);
        Assert.Equal("1", split.Logprobs[0][0].Token);
        Assert.Equal(0.8, Math.Exp(split.Logprobs[0][0].Logprob), 9); // "1" and "10" merged
        Assert.Equal(("0", 0.75), (split.Logprobs[1][0].Token, Math.Round(Math.Exp(split.Logprobs[1][0].Logprob), 9)));
        Assert.Same(split, ChatTestDouble.SplitNumberTokens(split)); // nothing left to split
    }
}

/// <summary>rerank(cross(model=FOLDER)): parsing and the checks made when the folder is loaded (no cross-encoder model
/// ships with the tests; a bi-encoder's folder must be refused for its output shape).</summary>
public sealed class CrossEncoderStageTests
{
    [Fact]
    public void ParsesWithAFolder()
    {
        Assert.Equal("bm25>>rerank(cross(model=\"/models/ms marco\"),depth=50)",
            LlmPipelines.Parse("bm25 >> rerank(cross(model=\"/models/ms marco\"), depth=50)").Text);
        Assert.Contains("cross needs model=NAME", Assert.Throws<PipelineSyntaxException>(() => LlmPipelines.Parse("bm25 >> rerank(cross)")).Message);
    }

    [Fact]
    public void MissingFilesAndBiEncodersAreRefused()
    {
        using var tmp = new TempDir();
        Assert.Contains("model.onnx", Assert.Throws<RelevoException>(() => Relevo.Dense.CrossEncoder.Load(tmp.Path)).Message);
        var e = Assert.Throws<RelevoException>(() => Relevo.Dense.CrossEncoder.Load(Relevo.Dense.EmbeddingModel.BuiltInFolder("arctic-xs")));
        Assert.Contains("[batch, labels] logits", e.Message);
    }
}

/// <summary>Parsing with the LLM and dense extensions' stages.</summary>
internal static class LlmPipelines
{
    private static readonly ExtensionRegistry Registry = ExtensionRegistry.Create([new LlmExtension(null), new Relevo.Dense.DenseExtension()]);

    public static Pipeline Parse(string text) => Pipeline.Parse(text, Registry);
}
