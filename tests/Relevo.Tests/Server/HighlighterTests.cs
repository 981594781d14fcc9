using Relevo.Analysis;

using Relevo.Server;

namespace Relevo.Tests.Server;

public sealed class HighlighterTests
{
    private static Highlighter For(string query)
    {
        var analyzer = Analyzer.Create("english");
        return new Highlighter(analyzer, analyzer.Terms(query).Distinct().ToArray());
    }

    private static string[] Marked((string Text, int[][] Ranges) r) => r.Ranges.Select(a => r.Text.Substring(a[0], a[1])).ToArray();

    [Fact]
    public void Words_are_marked_when_their_analyzed_form_is_a_query_term()
    {
        var r = For("running cancer").Full("Runners ran; the runner's cancers were RUNNING. Cancer-free.");
        Assert.Equal(["cancers", "RUNNING", "Cancer"], Marked(r));
    }

    [Fact]
    public void Stop_words_and_an_empty_query_mark_nothing()
    {
        Assert.Empty(For("the and of").Full("the cat and the hat").Highlights);
        Assert.Empty(new Highlighter(Analyzer.Create("english"), []).Full("anything").Highlights);
    }

    [Fact]
    public void A_long_text_gives_a_snippet_around_the_densest_cluster_cut_at_word_boundaries()
    {
        string filler = string.Concat(Enumerable.Repeat("lorem ipsum dolor sit amet ", 40));
        string text = "zebra at the start. " + filler + "Here a zebra meets another zebra and a third zebra. " + filler;
        var (snippet, ranges) = For("zebra").Snippet(text, 200);
        Assert.StartsWith("… ", snippet);
        Assert.EndsWith(" …", snippet);
        Assert.True(snippet.Length <= 200 + 4);
        Assert.Equal(3, ranges.Length);
        Assert.All(Marked((snippet, ranges)), w => Assert.Equal("zebra", w));
        Assert.DoesNotContain("  ", snippet);
    }

    [Fact]
    public void A_short_text_is_its_own_snippet()
    {
        var (snippet, ranges) = For("heart").Snippet("Exercise strengthens the heart.");
        Assert.Equal("Exercise strengthens the heart.", snippet);
        Assert.Equal([[25, 5]], ranges);
    }
}
