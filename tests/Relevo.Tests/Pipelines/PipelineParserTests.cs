using Relevo.Pipelines;

namespace Relevo.Tests.Pipelines;

public class PipelineParserTests
{
    /// <summary>The stages the CLI and the server have: the core's and the dense and LLM extensions'.</summary>
    private static readonly ExtensionRegistry Registry = ExtensionRegistry.Create([new Relevo.Dense.DenseExtension(), new Relevo.Llm.LlmExtension(null)]);

    private static Pipeline Parse(string text) => Pipeline.Parse(text, Registry);

    [Theory]
    [InlineData("bm25", "bm25")]
    [InlineData("bm25(k1=0.9,b=0.4)", "bm25")]
    [InlineData(" bm25( k1 = 1.2 , b = 0.75 ) ", "bm25(k1=1.2,b=0.75)")]
    [InlineData("ql(mu=1000)", "ql")]
    [InlineData("ql(mu=500)", "ql(mu=500)")]
    [InlineData("dense(model=arctic-xs)", "dense(model=arctic-xs)")]
    [InlineData("dense(minilm)", "dense(model=minilm)")]
    [InlineData("bm25 >> rm3(terms=10,docs=10,weight=0.5) >> bm25", "bm25>>rm3(terms=10,docs=10,weight=0.5)>>bm25")]
    [InlineData("fuse(rrf, bm25, dense(model=arctic-xs))", "fuse(rrf,bm25,dense(model=arctic-xs))")]
    [InlineData("fuse(minmax, bm25, dense(model=arctic-xs), alpha=0.3)", "fuse(minmax,bm25,dense(model=arctic-xs),alpha=0.3)")]
    [InlineData("fuse(rrf, bm25 >> rm3 >> bm25, ql, k=10, weights=[1,0.5])", "fuse(rrf,bm25>>rm3(terms=10,docs=10,weight=0.5)>>bm25,ql,k=10,weights=[1,0.5])")]
    [InlineData("fuse(combmnz, bm25, ql, norm=zscore, depth=100)", "fuse(combmnz,bm25,ql,norm=zscore,depth=100)")]
    [InlineData("dense(model=arctic-xs) >> vprf(docs=3,alpha=1,beta=1) >> dense(model=arctic-xs)", "dense(model=arctic-xs)>>vprf(docs=3,alpha=1,beta=1)>>dense(model=arctic-xs)")]
    public void ParsesToCanonicalText(string text, string canonical)
    {
        Assert.Equal(canonical, Parse(text).Text);
        Assert.Equal(canonical, Parse(canonical).Text); // canonical text round-trips
    }

    [Theory]
    [InlineData("bm25(k1=0.9 b=0.4)", 13, "expected ')'")]
    [InlineData("bm2", 1, "unknown stage 'bm2'; did you mean 'bm25'?")]
    [InlineData("bm25 >> ", 9, "the text ended")]
    [InlineData("bm25(k2=1)", 6, "bm25 has no argument 'k2' (k1, b, impacts, fields)")]
    [InlineData("bm25(b=1.5)", 8, "b must be within [0, 1]")]
    [InlineData("bm25(k1=abc)", 9, "k1 must be a number")]
    [InlineData("fuse(bm25, ql)", 6, "unknown fusion method 'bm25'")]
    [InlineData("fuse(bm25(k1=1), ql)", 1, "fuse needs a method first")]
    [InlineData("fuse(rrf, bm25)", 1, "at least two pipelines")]
    [InlineData("fuse(mean, bm25, ql)", 6, "unknown fusion method 'mean'")]
    [InlineData("fuse(minmax, bm25, ql, dense)", 1, "exactly two pipelines")]
    [InlineData("fuse(rrf, bm25, ql, weights=[1])", 29, "1 weights for 2 pipelines")]
    [InlineData("bm25 bm25", 6, "unexpected 'b' (stages are joined with '>>')")]
    [InlineData("rm3(docs=0)", 10, "docs must be at least 1")]
    [InlineData("", 1, "empty pipeline")]
    public void ErrorsPointAtTheColumn(string text, int column, string problem)
    {
        var e = Assert.Throws<PipelineSyntaxException>(() => Parse(text));
        Assert.Equal(column, e.Column);
        Assert.Contains(problem, e.Problem);
        Assert.Contains("stages: bm25(k1,b,impacts,fields) | ql(mu) | impact | fuse(", e.Message);
        Assert.Contains(" | dense(model,int8,oversample,ef,exact) | ", e.Message); // extensions' stages are listed too
    }

    /// <summary>Every number is finite and in range, every count bounded: a pipeline a client sends cannot ask for
    /// unbounded work or a value JSON cannot write.</summary>
    [Theory]
    [InlineData("bm25(k1=NaN)", "k1 must be a number")]
    [InlineData("bm25(b=Infinity)", "b must be a number")]
    [InlineData("fuse(rrf,bm25,bm25,weights=[NaN,1])", "weights must be numbers")]
    [InlineData("fuse(rrf,bm25,bm25,weights=[1e308,1e308])", "weights must be within")]
    [InlineData("fuse(rrf,bm25,ql,depth=2147483647)", "depth must be at most 10000")]
    [InlineData("bm25>>rm3(terms=99999,docs=999)>>bm25", "terms must be at most 1000")]
    [InlineData("bm25>>rerank(dense(model=arctic-xs),depth=5000)", "depth must be at most 1000")]
    [InlineData("dense(model=arctic-xs,int8=true,oversample=1000000)", "oversample must be at most 100")]
    public void ParametersAreFiniteAndBounded(string text, string problem)
    {
        var e = Assert.Throws<PipelineSyntaxException>(() => Parse(text));
        Assert.Contains(problem, e.Problem);
    }

    /// <summary>A third party adds a stage by registering it: the parser knows nothing of it, and the stage's own
    /// argument checks point at their columns.</summary>
    [Fact]
    public void AnExtensionAddsAStageWithoutTouchingTheParser()
    {
        var registry = ExtensionRegistry.Create([new Reverse()]);
        Assert.Equal("bm25>>reverse(top=5)", Pipeline.Parse("bm25 >> reverse(top=5)", registry).Text);
        var e = Assert.Throws<PipelineSyntaxException>(() => Pipeline.Parse("bm25 >> reverse(top=0)", registry));
        Assert.Equal(21, e.Column); // the value's column
        Assert.Contains("reverse(top)", e.Message);
    }

    private sealed class Reverse : IRelevoExtension
    {
        public void Register(ExtensionRegistry registry) => registry.AddStage("reverse", "reverse(top)", s =>
        {
            s.Accept("top");
            s.NoPositional();
            return new ReverseStage(s.Int("top", 10, 1, 100));
        });
    }

    private sealed class ReverseStage(int top) : RerankStage(top)
    {
        protected override string Name => "reverse";
        public override string Text => $"reverse(top={Top})";

        protected override ValueTask<(int[] Order, float[] Scores)> RerankAsync(string query, IReadOnlyList<Hit> head, StageContext context)
        {
            var order = Enumerable.Range(0, head.Count).Reverse().ToArray();
            return ValueTask.FromResult((order, RankScores(order)));
        }
    }
}
