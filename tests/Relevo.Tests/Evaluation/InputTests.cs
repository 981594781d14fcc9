using Relevo.Evaluation;

namespace Relevo.Tests.Evaluation;

public class InputTests
{
    private static RelevoException RunError(string text) =>
        Assert.Throws<RelevoException>(() => TrecRun.Parse(new StringReader(text), "r.trec"));

    private static RelevoException QrelsError(string text) =>
        Assert.Throws<RelevoException>(() => Qrels.Parse(new StringReader(text), "q.txt"));

    [Fact]
    public void RunLineWithWrongFieldCountNamesFileAndLine()
    {
        var e = RunError("q1 Q0 d1 1 2.5 t\nq1 Q0 d2 2 1.5\n");
        Assert.StartsWith("r.trec:2:", e.Message);
        Assert.Contains("6 fields", e.Message);
    }

    [Fact]
    public void NonNumericScoreNamesFileAndLine()
    {
        var e = RunError("q1 Q0 d1 1 2.5 t\n\nq1 Q0 d2 2 high t\n");
        Assert.StartsWith("r.trec:3:", e.Message);
        Assert.Contains("'high' is not a number", e.Message);
    }

    [Fact]
    public void DuplicateDocumentNamesFileAndLine()
    {
        var e = RunError("q1 Q0 d1 1 2.5 t\nq2 Q0 d1 1 2.5 t\nq1 Q0 d1 2 1.0 t\n");
        Assert.StartsWith("r.trec:3:", e.Message);
        Assert.Contains("'d1' appears twice for query 'q1'", e.Message);
    }

    [Fact]
    public void DuplicateAddedInMemoryIsCaughtByEvaluate()
    {
        var run = new TrecRun();
        run.Add("q1", "d1", 1);
        run.Add("q1", "d1", 0.5);
        var qrels = Qrels.FromJudgments([("q1", "d1", 1)]);
        Assert.Throws<RelevoException>(() => new Evaluator(qrels).Evaluate(run, ["map"]));
    }

    [Fact]
    public void QrelsInNeitherLayoutNamesFileAndLine()
    {
        var e = QrelsError("\nq1 d1\n");
        Assert.StartsWith("q.txt:2:", e.Message);
        Assert.Contains("neither TREC", e.Message);
    }

    [Fact]
    public void QrelsLayoutChangeMidFileNamesLine()
    {
        var e = QrelsError("q1 0 d1 1\nq1 0 d2 1\nq1 d3 1\n");
        Assert.StartsWith("q.txt:3:", e.Message);
    }

    [Fact]
    public void QrelsGradeNotIntegerNamesLine()
    {
        var e = QrelsError("query-id\tcorpus-id\tscore\nq1\td1\tyes\n");
        Assert.StartsWith("q.txt:2:", e.Message);
    }

    [Fact]
    public void BeirAndTrecLayoutsReadTheSame()
    {
        var trec = Qrels.Parse(new StringReader("q1 0 d1 2\nq1 0 d2 0\nq2 0 d3 1\n"), "t");
        var beir = Qrels.Parse(new StringReader("query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t0\nq2\td3\t1\n"), "b");
        Assert.Equal(trec.QueryIds, beir.QueryIds);
        Assert.Equal(2, beir.ForQuery("q1")!["d1"]);
        Assert.Null(beir.ForQuery("q9"));
    }

    [Fact]
    public void WriteRoundTripsScoresAndKeepsStoredOrder()
    {
        var run = new TrecRun("bm25");
        run.AddRanking("q2", [("b", 0.1 + 0.2), ("a", 1.0 / 3.0)]);
        run.Add("q1", "c", -1e-300);
        var sw = new StringWriter { NewLine = "\n" };
        run.Write(sw);
        Assert.Equal("q2 Q0 b 1 0.30000000000000004 bm25\nq2 Q0 a 2 0.3333333333333333 bm25\nq1 Q0 c 1 -1E-300 bm25\n", sw.ToString());
        var back = TrecRun.Parse(new StringReader(sw.ToString()), "x");
        Assert.Equal("bm25", back.Tag);
        Assert.Equal(run.ForQuery("q2"), back.ForQuery("q2"));
        Assert.Equal(run.ForQuery("q1"), back.ForQuery("q1"));
    }

    [Theory]
    [InlineData("ndcg_cut_10", "ndcg_cut_10")]
    [InlineData("nDCG@10", "ndcg_cut_10")]
    [InlineData("ndcg_cut.10", "ndcg_cut_10")]
    [InlineData("ndcg", "ndcg")]
    [InlineData("AP", "map")]
    [InlineData("map_cut_100", "map_cut_100")]
    [InlineData("AP@100", "map_cut_100")]
    [InlineData("R@100", "recall_100")]
    [InlineData("P@5", "P_5")]
    [InlineData("p_5", "P_5")]
    [InlineData("RR", "recip_rank")]
    [InlineData("RR@10", "recip_rank_cut_10")]
    [InlineData("success_1", "success_1")]
    [InlineData("Success@5", "success_5")]
    [InlineData("bpref", "bpref")]
    [InlineData("num_rel_ret", "num_rel_ret")]
    [InlineData("Judged@10", "judged_10")]
    public void MeasureNames(string input, string canonical) => Assert.Equal(canonical, Measure.Parse(input).Name);

    [Theory]
    [InlineData("ndcg_cut_0")]
    [InlineData("P")]
    [InlineData("foo")]
    [InlineData("recall_x")]
    public void UnknownMeasuresAreRejected(string input) => Assert.Throws<RelevoException>(() => Measure.Parse(input));
}
