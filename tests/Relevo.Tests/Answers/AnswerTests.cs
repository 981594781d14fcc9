using Relevo.Llm;
using Relevo.Evaluation;

namespace Relevo.Tests.Answers;

/// <summary>ask and judge against the in-process double with the SciFact oracle.</summary>
public sealed class AnswerTests(SciFactLlmFixture fx) : IClassFixture<SciFactLlmFixture>
{
    private static LlmSettings Settings(ChatTestDouble d) => new(d.Endpoint, "oracle") { Concurrency = 8, RetryDelay = TimeSpan.FromMilliseconds(5) };

    private ChatAnswer Answer(ChatCall c) => Oracle.Answer(c, fx.Grade);

    [Fact]
    public async Task AskKeepsRelevantPassagesOrdersThemAndChecksCitations()
    {
        using var dbl = new ChatTestDouble(Answer);
        using var llm = new LlmClient(Settings(dbl));
        using var index = fx.Open(llm);
        // a query whose relevant document BM25 finds in its top 5
        var (qid, question) = fx.Queries.First(q => index.Search(q.Text, "bm25", 5).Hits
            .Any(h => fx.Qrels.ForQuery(q.Id)!.GetValueOrDefault(h.Id) > 0));
        var r = await Asker.AskAsync(index, llm, question, new AskOptions("bm25", Depth: 20, Passages: 5, Threshold: 5, Iterations: 2));
        Assert.Equal(2, r.Iterations);
        Assert.NotEmpty(r.Passages);
        var relevant = fx.Qrels.ForQuery(qid)!.Where(x => x.Value > 0).Select(x => x.Key).ToHashSet();
        Assert.All(r.Passages, p => Assert.Contains(p.DocId, relevant)); // REAR: only what the oracle scored relevant
        Assert.Equal(r.Passages.Select(p => p.DocId).Order(), r.Citations.Order());
        Assert.Equal(["not-a-doc"], r.InvalidCitations);
        Assert.DoesNotContain("not-a-doc", r.Answer);
    }

    [Fact]
    public void LongContextOrderPutsTheStrongestAtBothEnds()
    {
        Assert.Equal([1, 3, 5, 4, 2], Asker.LongContextOrder([1, 2, 3, 4, 5]));
        Assert.Equal([1, 3, 4, 2], Asker.LongContextOrder([1, 2, 3, 4]));
    }

    [Fact]
    public void JudgeAgreesWithTheQrelsTheOracleKnows()
    {
        using var dbl = new ChatTestDouble(Answer) { FaultRate = 0.1 };
        using var llm = new LlmClient(Settings(dbl));
        var queries = fx.Queries.Take(30).ToList();
        var run = fx.Index.Run(queries, "bm25", 10);
        var result = Judge.Run(fx.Index, queries.ToDictionary(q => q.Id, q => q.Text), [run], 10, llm);
        Assert.Equal(300, result.Judgments.Count);
        Assert.Equal(0, result.Unjudged);
        Assert.True(llm.Stats.Retries > 0);
        var llmQrels = Qrels.FromJudgments(result.Judgments);
        var agreement = Agreement.Compute(fx.Qrels, llmQrels, [run]);
        // every judged pair in SciFact's qrels is relevant and the oracle graded it 3: graded kappa is not 1, binary is
        Assert.True(agreement.SharedPairs > 0);
        Assert.Equal(1.0, agreement.KappaBinary, 12);
        Assert.Equal(["1 0 d 3"], Write([("1", "d", 3)]));
    }

    private static string[] Write(List<(string, string, int)> j)
    {
        var sw = new StringWriter();
        Judge.Write(sw, j);
        return sw.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    [Theory]
    [InlineData("##final score: 2", 2)]
    [InlineData("M: 2, T: 1\n##final score: **3**", 3)]
    [InlineData("I would say 1", 1)]
    [InlineData("no idea", null)]
    public void JudgeParsesGrades(string text, int? grade) => Assert.Equal(grade, Judge.ParseGrade(text));
}
