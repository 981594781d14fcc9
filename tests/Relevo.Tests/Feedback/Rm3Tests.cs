using Relevo.Feedback;
using Relevo.Index;
using Relevo.Search;

namespace Relevo.Tests.Feedback;

public class Rm3Tests
{
    /// <summary>Twenty documents: two feedback documents and eighteen fillers, so document frequency cut-offs are known.</summary>
    private static IndexReader ToyIndex(string dir)
    {
        using (var w = IndexWriter.Open(dir))
        {
            w.Add(new Document("d1", "", "apple apple banana common x café"));
            w.Add(new Document("d2", "", "apple cherry common"));
            for (int i = 0; i < 18; i++)
                w.Add(new Document($"f{i}", "", i < 2 ? $"common filler{i}" : $"filler{i}"));
            w.Commit();
        }
        return IndexReader.Open(dir);
    }

    [Fact]
    public async Task TermWeightsMatchHandComputation()
    {
        using var tmp = new TempDir();
        using var reader = ToyIndex(tmp.Path);
        var ctx = Contexts.Local(reader);
        // Feedback scores fixed by hand: d1 = 2, d2 = 1.
        var ranking = new List<Hit> { new("d1", 2f, 0, 0), new("d2", 1f, 0, 1) };
        var feedback = await Relevo.Pipelines.FeedbackVectors.ForHitsAsync(ranking, 2, ctx);
        var expanded = new Rm3Expander(Terms: 10, Docs: 2, OriginalQueryWeight: 0.5f).Expand(Query.Parse("apple", reader.AnalyzerInstance), ranking, feedback);
        // Feedback vectors: "common" is in 4 of 20 documents (> 10%), "x" is one letter, "café" is not [a-z0-9]: all dropped.
        //   d1 = {apple 2, banana 1}, |d1| = 3;  d2 = {apple 1, cherri 1}, |d2| = 2  (Porter: cherry -> cherri)
        // RM: apple = 2/3*2 + 1/2*1 = 11/6, banana = 1/3*2 = 2/3, cherri = 1/2*1 = 1/2; sum 3
        //   -> apple 11/18, banana 2/9, cherri 1/6
        // Query {apple 1}; mix 0.5/0.5: apple = 0.5 + 11/36 = 29/36, banana = 1/9, cherri = 1/12
        var weights = expanded.Terms.ToDictionary(t => t.Term, t => t.Weight);
        Assert.Equal(3, weights.Count);
        Assert.Equal(29.0 / 36, weights["appl"], 6);
        Assert.Equal(1.0 / 9, weights["banana"], 6);
        Assert.Equal(1.0 / 12, weights["cherri"], 6);
        Assert.Equal("appl", expanded.Terms[0].Term); // heaviest first
    }

    [Fact]
    public async Task TermsArePrunedPerDocumentAndInTheModel()
    {
        using var tmp = new TempDir();
        using var reader = ToyIndex(tmp.Path);
        var ctx = Contexts.Local(reader);
        var ranking = new List<Hit> { new("d1", 2f, 0, 0), new("d2", 1f, 0, 1) };
        // terms = 1: d1 -> {apple 2}, d2 -> {apple 1} or {cherri 1}: ties go to the smaller term, "appl".
        // RM = {appl 1}; mixed with q = {appl 1}: appl 1.
        var feedback = await Relevo.Pipelines.FeedbackVectors.ForHitsAsync(ranking, 2, ctx);
        var expanded = new Rm3Expander(Terms: 1, Docs: 2, OriginalQueryWeight: 0.3f).Expand(Query.Parse("apple", reader.AnalyzerInstance), ranking, feedback);
        var (term, weight) = Assert.Single(expanded.Terms);
        Assert.Equal("appl", term);
        Assert.Equal(1f, weight, 6);
    }

    [Fact]
    public async Task Bm25Rm3Bm25RunsEndToEnd()
    {
        using var tmp = new TempDir();
        using var reader = ToyIndex(tmp.Path);
        var ctx = Contexts.Local(reader, trace: true);
        var pipeline = Relevo.Pipelines.Pipeline.Parse("bm25 >> rm3(docs=2) >> bm25");
        var state = await pipeline.ExecuteAsync("banana", 10, ctx);
        // d1 is the only banana document; its feedback brings in apple, so d2 (apple cherry) is now retrieved too.
        Assert.Equal(["d1", "d2"], state.Ranking!.Hits.Select(h => h.Id));
        Assert.Equal(2, state.Ranking.Stages.Count);
        var e = (await pipeline.ExplainAsync([state.Ranking.Hits[1]], ctx))[0]!;
        Assert.Equal(state.Ranking.Hits[1].Score, e.Score, 5);
        Assert.Equal(e.Score, e.Terms!.Sum(t => t.Score), 5);
        // the expansion terms are named: apple came from d1's feedback
        Assert.Contains(e.FeedbackTerms!, t => t.Term == "appl" && t.Weight > 0);
        Assert.DoesNotContain(e.FeedbackTerms!, t => t.Term == "banana");
    }
}
