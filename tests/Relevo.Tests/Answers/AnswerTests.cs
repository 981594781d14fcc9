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
    public void IterRetGenRetrievesWithoutCitationMarkers()
    {
        Assert.Equal("what causes it The answer says so.", Asker.RetrievalQuery("what causes it", "The answer [4983] says so [abc-1]."));
        Assert.Equal("q A and B.", Asker.RetrievalQuery("q", "A [1] and\nB [2] ."));
        Assert.Equal("It is so, and more.", Asker.Tidy("It is so  , and  more ."));
    }

    /// <summary>A draft answer that drags the second round's retrieval off topic must not lose the relevant passages the
    /// first round found: passages are kept across rounds, best first.</summary>
    [Fact]
    public async Task IterRetGenKeepsTheBestPassagesAcrossRounds()
    {
        const string offTopic = "malaria mosquito plasmodium parasite transmission";
        using var dbl = new ChatTestDouble(c => c.Prompt.StartsWith("Answer the question", StringComparison.Ordinal)
            ? new ChatAnswer(string.Join(' ', Enumerable.Repeat(offTopic, 30)) + " [not-a-doc]")
            : Answer(c));
        using var llm = new LlmClient(Settings(dbl));
        using var index = fx.Open(llm);
        var (qid, question) = fx.Queries.First(q => !q.Text.Contains("malaria", StringComparison.OrdinalIgnoreCase)
            && index.Search(q.Text, "bm25", 5).Hits.Any(h => fx.Qrels.ForQuery(q.Id)!.GetValueOrDefault(h.Id) > 0));
        var secondRound = index.Search(Asker.RetrievalQuery(question, string.Join(' ', Enumerable.Repeat(offTopic, 30))), "bm25", 20).Hits;
        var relevant = fx.Qrels.ForQuery(qid)!.Where(x => x.Value > 0).Select(x => x.Key).ToHashSet();
        Assert.DoesNotContain(secondRound, h => relevant.Contains(h.Id)); // the second round alone would find nothing relevant
        var r = await Asker.AskAsync(index, llm, question, new AskOptions("bm25", Depth: 20, Passages: 5, Threshold: 5, Iterations: 2));
        Assert.Equal(2, r.Iterations);
        Assert.NotEmpty(r.Passages);
        Assert.All(r.Passages, p => Assert.Contains(p.DocId, relevant));
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
        // over the 300 judged pairs (those SciFact's qrels do not list count as non-relevant) the oracle agrees on
        // every binary label; its grade 3 for SciFact's grade 1 keeps the graded kappa below 1
        Assert.Equal(300, agreement.Pairs);
        Assert.Equal(1.0, agreement.KappaBinary, 12);
        Assert.True(agreement.KappaGraded < 1);
        Assert.Equal(["1 0 d 3"], Write([("1", "d", 3)]));
    }

    [Fact]
    public void AgreementOverTheBm25PoolTellsJudgesApart()
    {
        var queries = fx.Queries.Take(100).ToList();
        var run = fx.Index.Run(queries, "bm25", 10);
        var pool = new List<(string Q, string D)>();
        foreach (var q in queries)
            foreach (var (doc, _) in run.ForQuery(q.Id)) pool.Add((q.Id, doc));
        int Human(string q, string d) => fx.Qrels.ForQuery(q)!.GetValueOrDefault(d) > 0 ? 1 : 0;
        Qrels Judged(Func<int, int> label) => Qrels.FromJudgments(pool.Select((p, i) => (p.Q, p.D, label(i))));
        double Kappa(Qrels judged, bool complete = false) => Agreement.Compute(fx.Qrels, judged, [], referenceComplete: complete).KappaBinary;

        Assert.Equal(1.0, Kappa(Judged(i => Human(pool[i].Q, pool[i].D))), 12); // the oracle
        var everything = Judged(_ => 1);
        Assert.Equal(0.0, Kappa(everything), 12); // calls everything relevant: no better than chance
        Assert.Equal(1.0, Kappa(everything, complete: true), 12); // compared on shared pairs only it would look perfect

        // flip exactly 30% of the oracle's labels: kappa is what the 2×2 table's closed form gives, and near the
        // expectation for independent flips at the pool's share of relevant pairs
        var flipped = Enumerable.Range(0, pool.Count).OrderBy(i => (i * 7919) % pool.Count).Take(pool.Count * 3 / 10).ToHashSet();
        int Label(int i) => Human(pool[i].Q, pool[i].D) ^ (flipped.Contains(i) ? 1 : 0);
        double a = 0, b = 0, c = 0, d = 0;
        for (int i = 0; i < pool.Count; i++)
            switch ((Human(pool[i].Q, pool[i].D), Label(i)))
            {
                case (1, 1): a++; break;
                case (1, 0): b++; break;
                case (0, 1): c++; break;
                default: d++; break;
            }
        double closedForm = 2 * (a * d - b * c) / ((a + b) * (b + d) + (a + c) * (c + d));
        double kappa = Kappa(Judged(Label));
        Assert.Equal(closedForm, kappa, 12);
        double p = (a + b) / pool.Count, share = p * 0.7 + (1 - p) * 0.3, pe = p * share + (1 - p) * (1 - share);
        Assert.InRange(kappa, (0.7 - pe) / (1 - pe) - 0.05, (0.7 - pe) / (1 - pe) + 0.05);
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
