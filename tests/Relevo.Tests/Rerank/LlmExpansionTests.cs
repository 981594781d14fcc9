using Relevo.Llm;
using Xunit.Abstractions;

namespace Relevo.Tests.Rerank;

/// <summary>llm.expand with and without feedback passages (PromptPRF), against the oracle double on SciFact and
/// vaswani: plumbing, not a model's effectiveness. The oracle writes its pseudo-document from the feedback passages
/// that are relevant, so feedback can only help when the first retrieval put relevant passages in the top N.</summary>
public sealed class LlmExpansionTests(SciFactLlmFixture scifact, VaswaniLlmFixture vaswani, ITestOutputHelper output)
    : IClassFixture<SciFactLlmFixture>, IClassFixture<VaswaniLlmFixture>
{
    private static double Ndcg(DatasetLlmFixture fx, LlmClient llm, string pipeline, int queries)
    {
        using var index = fx.Open(llm);
        return fx.Ndcg10(index.Run(fx.Queries.Take(queries).ToList(), pipeline, 100, new RunOptions { Threads = 2 }));
    }

    [Theory]
    [InlineData("scifact", 100)]
    [InlineData("vaswani", 93)]
    public void FeedbackPassagesReachTheExpansionPrompt(string dataset, int queries)
    {
        var fx = dataset == "scifact" ? (DatasetLlmFixture)scifact : vaswani;
        using var dbl = new ChatTestDouble(c => Oracle.Answer(c, fx.Grade));
        using var llm = new LlmClient(new LlmSettings(dbl.Endpoint, "oracle") { Concurrency = 8 });
        double bm25 = Ndcg(fx, llm, "bm25", queries);
        double expand = Ndcg(fx, llm, "llm.expand >> bm25", queries);
        double prf = Ndcg(fx, llm, "bm25 >> llm.expand(prf=3) >> bm25", queries);
        output.WriteLine($"{dataset} ({queries} queries), nDCG@10 with the oracle double: bm25 {bm25:F4}, llm.expand >> bm25 {expand:F4}, " +
                         $"bm25 >> llm.expand(prf=3) >> bm25 {prf:F4}; {llm.Stats}");
        Assert.True(prf > bm25 + 0.02, $"{dataset}: prf {prf:F4} vs bm25 {bm25:F4}");
        Assert.True(prf > expand, $"{dataset}: prf {prf:F4} vs expand {expand:F4}");
        Assert.Equal(0, llm.Stats.Failures);
    }

    [Fact]
    public void FeedbackNeedsARankingBefore()
    {
        using var dbl = new ChatTestDouble(c => Oracle.Answer(c, scifact.Grade));
        using var llm = new LlmClient(new LlmSettings(dbl.Endpoint, "oracle"));
        using var index = scifact.Open(llm);
        Assert.Equal("bm25>>llm.expand(repeat=2,prf=3)>>bm25", index.CanonicalPipeline("bm25 >> llm.expand(prf=3, repeat=2) >> bm25"));
        var e = Assert.Throws<RelevoException>(() => index.Search(scifact.Queries[0].Text, "llm.expand(prf=3) >> bm25"));
        Assert.Contains("put a retriever first, e.g. bm25 >> llm.expand(prf=3) >> bm25", e.Message);
    }
}
