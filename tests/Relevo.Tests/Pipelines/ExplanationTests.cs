using Relevo.Collections;
using Relevo.Fusion;

namespace Relevo.Tests.Pipelines;

/// <summary>Explanations that add up: every stage explains its own scores and passes down to its inputs. Checked
/// against what the inputs give when run alone, and against the fusion formulas written out here by hand.</summary>
public sealed class ExplanationTests : IClassFixture<ExplanationTests.Vaswani>
{
    /// <summary>vaswani (11,429 abstracts) as one index and as 3 shards, and 15 of its queries.</summary>
    public sealed class Vaswani : IDisposable
    {
        internal ShardedPair Pair { get; } = new(TestData.Dataset("vaswani"), shards: 3);
        internal IReadOnlyList<string> Queries => Pair.Queries.Take(15).Select(q => q.Text).ToList();
        public void Dispose() => Pair.Dispose();
    }

    private readonly Vaswani _data;

    public ExplanationTests(Vaswani data) => _data = data;

    private static SearchResult Explained(SearchIndex index, string query, string pipeline, int k = 20) =>
        index.Search(query, pipeline, k, new SearchOptions { Explain = true });

    [Theory]
    [InlineData("bm25")]
    [InlineData("ql")]
    [InlineData("bm25(k1=1.2,b=0.75)")]
    public void Term_models_explain_each_hit_with_terms_that_sum_to_its_score(string pipeline)
    {
        foreach (string query in _data.Queries)
        {
            var result = Explained(_data.Pair.Single, query, pipeline);
            for (int i = 0; i < result.Hits.Count; i++)
            {
                var e = result.Explanations![i]!;
                Assert.Equal(result.Hits[i].Id, e.DocId);
                Assert.Equal(result.Pipeline, e.Stage);
                Assert.Equal(result.Hits[i].Score, e.Score);
                Assert.Equal(result.Hits[i].Score, e.Terms!.Sum(t => (double)t.Score), 4);
                Assert.All(e.Terms!, t => Assert.True(t.Tf > 0 || t.Score == 0, $"{t.Term}: tf 0 but {t.Score}"));
            }
        }
    }

    [Fact]
    public void Query_likelihood_terms_follow_the_dirichlet_formula()
    {
        var result = Explained(_data.Pair.Single, _data.Queries[0], "ql(mu=500)");
        foreach (var e in result.Explanations!)
        {
            Assert.Equal(500f, e!.Mu);
            foreach (var t in e.Terms!.Where(t => t.Tf > 0))
            {
                // written out in double: weight × (ln(1 + tf / (mu P(t|C))) + ln(mu / (dl + mu))), floored at 0
                double expected = t.QueryWeight * (Math.Log(1 + t.Tf / (500.0 * t.Idf)) + Math.Log(500.0 / (t.DocLength + 500.0)));
                Assert.Equal(Math.Max(0, expected), t.Score, 3);
            }
        }
    }

    public static TheoryData<string> Fusions() =>
    [
        "fuse(rrf,bm25,ql)", "fuse(rrf,bm25,ql,k=10,weights=[2,0.5])", "fuse(borda,bm25,ql)", "fuse(combsum,bm25,ql)",
        "fuse(combmnz,bm25,ql,norm=zscore)", "fuse(minmax,bm25,ql,alpha=0.3)", "fuse(zscore,bm25,ql)",
        "fuse(rrf,bm25>>rm3>>bm25,fuse(minmax,bm25,ql))",
    ];

    [Theory]
    [MemberData(nameof(Fusions))]
    public void A_fused_score_is_the_sum_of_its_inputs_shares_and_each_input_explains_its_own(string pipeline)
    {
        foreach (string query in _data.Queries.Take(5))
        {
            var result = Explained(_data.Pair.Single, query, pipeline, k: 30);
            for (int i = 0; i < result.Hits.Count; i++)
                CheckFused(result.Explanations![i]!, result.Hits[i].Score, query);
        }
    }

    /// <summary>Shares sum to the score; each part's rank and score are those of its input run alone; where the input
    /// ranked the document, its explanation is there and adds up to its score.</summary>
    private void CheckFused(Explanation e, float score, string query)
    {
        Assert.Equal(score, e.Score);
        Assert.NotNull(e.Note);
        double sum = e.Parts!.Sum(p => p.Share!.Value);
        Assert.True(Math.Abs(sum - score) <= 1e-5 * Math.Max(1, Math.Abs(score)), $"{e.DocId}: shares sum to {sum}, score {score}");
        foreach (var part in e.Parts!)
        {
            var alone = _data.Pair.Single.Search(query, part.Stage, 1000).Hits;
            int rank = alone.ToList().FindIndex(h => h.Id == e.DocId);
            Assert.Equal(rank < 0 ? null : rank + 1, part.Rank);
            if (rank < 0)
            {
                Assert.Null(part.Explanation);
                continue;
            }
            Assert.Equal(alone[rank].Score, part.InputScore);
            var inner = part.Explanation!;
            Assert.Equal(alone[rank].Score, inner.Score);
            if (inner.Parts is not null) CheckFused(inner, inner.Score, query);
            else Assert.Equal(inner.Score, inner.Terms!.Sum(t => (double)t.Score), 3);
        }
    }

    [Fact]
    public void Reciprocal_rank_and_interpolation_shares_are_the_formulas()
    {
        string query = _data.Queries[1];
        var bm25 = _data.Pair.Single.Search(query, "bm25", 1000).Hits.ToList();
        var ql = _data.Pair.Single.Search(query, "ql", 1000).Hits.ToList();
        var rrf = Explained(_data.Pair.Single, query, "fuse(rrf,bm25,ql,weights=[2,1])");
        foreach (var e in rrf.Explanations!)
        {
            int a = bm25.FindIndex(h => h.Id == e!.DocId), b = ql.FindIndex(h => h.Id == e!.DocId);
            Assert.Equal(a < 0 ? 0 : 2.0 / (60 + a + 1), e!.Parts![0].Share!.Value, 12);
            Assert.Equal(b < 0 ? 0 : 1.0 / (60 + b + 1), e.Parts![1].Share!.Value, 12);
        }
        var minmax = Explained(_data.Pair.Single, query, "fuse(minmax,bm25,ql,alpha=0.3)");
        double Normalized(List<Hit> hits, int r) => (hits[r].Score - (double)hits[^1].Score) / (hits[0].Score - (double)hits[^1].Score);
        foreach (var e in minmax.Explanations!)
        {
            int a = bm25.FindIndex(h => h.Id == e!.DocId), b = ql.FindIndex(h => h.Id == e!.DocId);
            // a document one list did not retrieve takes that list's lowest normalized score: 0
            Assert.Equal(a < 0 ? 0 : 0.3f * Normalized(bm25, a), e!.Parts![0].Share!.Value, 12); // alpha is parsed as a float
            Assert.Equal(b < 0 ? 0 : (1 - (double)0.3f) * Normalized(ql, b), e.Parts![1].Share!.Value, 12);
        }
    }

    [Fact]
    public void Feedback_names_the_terms_it_added_and_the_bm25_after_it_explains_with_them()
    {
        string query = _data.Queries[2];
        var result = Explained(_data.Pair.Single, query, "bm25>>rm3(terms=5,docs=5)>>bm25");
        var original = _data.Pair.Single.Search(query, "bm25", 1).QueryTerms.ToHashSet();
        foreach (var e in result.Explanations!)
        {
            Assert.Equal("bm25", e!.Stage);
            Assert.NotEmpty(e.FeedbackTerms!);
            Assert.All(e.FeedbackTerms!, t => Assert.DoesNotContain(t.Term, original));
            // the explained terms are the expanded query's: the original ones and the added ones
            Assert.Equal(result.QueryTerms.Order(), e.Terms!.Select(t => t.Term).Order());
        }
    }

    [Theory]
    [InlineData("fuse(rrf,bm25,ql)")]
    [InlineData("fuse(combsum,bm25,bm25>>rm3>>bm25)")]
    [InlineData("ql")]
    public void A_sharded_index_explains_as_one_index_does(string pipeline)
    {
        foreach (string query in _data.Queries.Take(5))
        {
            var single = Explained(_data.Pair.Single, query, pipeline);
            var sharded = Explained(_data.Pair.Sharded, query, pipeline);
            Assert.Equal(single.Hits.Select(h => h.Id), sharded.Hits.Select(h => h.Id));
            for (int i = 0; i < single.Hits.Count; i++)
                Assert.Equal(System.Text.Json.JsonSerializer.Serialize(single.Explanations![i]),
                    System.Text.Json.JsonSerializer.Serialize(sharded.Explanations![i]));
        }
    }

    [Fact]
    public void Shares_are_recorded_only_when_asked_and_change_nothing()
    {
        IReadOnlyList<Hit> a = [new("x", 3, 0, 0), new("y", 2, 0, 1)], b = [new("y", 5, 0, 1), new("z", 1, 0, 2)];
        var shares = new Dictionary<string, double[]>(StringComparer.Ordinal);
        var with = RankFusion.CombSum([a, b], Normalization.MinMax, mnz: true, shares: shares);
        var without = RankFusion.CombSum([a, b], Normalization.MinMax, mnz: true);
        Assert.Equal(without, with);
        // CombMNZ: y is in both lists, so its sum (0 + 1) is doubled and so is each share
        Assert.Equal([0.0, 2.0], shares["y"]);
        foreach (var h in with) Assert.Equal(h.Score, (float)shares[h.Id].Sum());
    }
}
