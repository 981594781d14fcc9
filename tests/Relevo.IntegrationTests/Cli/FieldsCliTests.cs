using System.Globalization;
using System.Text.RegularExpressions;
using Relevo.Index;
using Xunit.Abstractions;

namespace Relevo.IntegrationTests.Cli;

/// <summary>Field postings through the real CLI: `relevo index --fields` and multi-field BM25 reproducing Pyserini's
/// published BEIR bm25-multifield figures on SciFact, and fields added to an index that was built without them.</summary>
public sealed class FieldsCliTests(ITestOutputHelper output)
{
    private static string Scifact => Path.Combine(TestData.DatasetsDir, "scifact");

    private CliRunner.Result Ok(params string[] args)
    {
        var r = CliRunner.Logged(output, args);
        Assert.True(r.ExitCode == 0, $"relevo {string.Join(' ', args)} exited {r.ExitCode}:\n{r.Stdout}{r.Stderr}");
        return r;
    }

    private static double Measure(string stdout, string measure)
    {
        string line = stdout.Split('\n').Single(l => Regex.IsMatch(l, $@"\b{measure}\b"));
        return double.Parse(Regex.Match(line, @"\d+\.\d{4}").Value, CultureInfo.InvariantCulture);
    }

    /// <summary>Pyserini's BEIR SciFact bm25-multifield (title and text as fields, boosts 1): nDCG@10 0.6647, R@100
    /// 0.9076, R@1000 0.9800 (BASELINES.md), reached to the fourth digit; the flat run of the same index is unchanged.</summary>
    [Fact]
    public void Multi_field_bm25_on_scifact_reproduces_pyserini()
    {
        using var tmp = new TempDir();
        string index = tmp["i"];
        var r = Ok("index", "--dataset", Scifact, "--index", index, "--fields");
        Assert.Contains("fields: title, text; 1 segment(s) written", r.Stdout);
        const string measures = "ndcg_cut_10,recall_100,recall_1000";
        var multi = Ok("run", "--index", index, "--dataset", Scifact, "--pipeline", "bm25(fields=[title,text])", "--output", tmp["m.trec"], "--eval", "--measures", measures);
        Assert.Equal(0.6647, Measure(multi.Stdout, "ndcg_cut_10"), 4);
        Assert.Equal(0.9076, Measure(multi.Stdout, "recall_100"), 4);
        Assert.Equal(0.9800, Measure(multi.Stdout, "recall_1000"), 4);
        var flat = Ok("run", "--index", index, "--dataset", Scifact, "--pipeline", "bm25", "--output", tmp["f.trec"], "--eval", "--measures", measures);
        Assert.Equal(0.6789, Measure(flat.Stdout, "ndcg_cut_10"), 4);
    }

    /// <summary>An index built without fields refuses a multi-field search, naming the command that builds them;
    /// `relevo index --index DIR --fields` then adds them without touching the documents, and a second run finds them
    /// current.</summary>
    [Fact]
    public void Fields_are_added_to_an_existing_index_on_request()
    {
        using var tmp = new TempDir();
        string index = tmp["i"];
        string corpus = tmp["corpus.jsonl"];
        File.WriteAllLines(corpus,
        [
            """{"_id": "a", "title": "vitamin d", "text": "sunlight and bones"}""",
            """{"_id": "b", "title": "bones", "text": "vitamin d deficiency and vitamin supplements"}""",
            """{"_id": "c", "title": "", "text": "coffee"}""",
        ]);
        Ok("index", "--corpus", corpus, "--index", index);
        var refused = CliRunner.Logged(output, "search", "--index", index, "--pipeline", "bm25(fields=[title])", "--query", "vitamin");
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("relevo index --index DIR --fields", refused.Stdout + refused.Stderr);

        var before = Manifest.Read(index).Segments.Single();
        Assert.Contains("1 segment(s) written", Ok("index", "--index", index, "--fields").Stdout);
        Assert.Contains("0 segment(s) written, 1 already current", Ok("index", "--index", index, "--fields").Stdout);
        var after = Manifest.Read(index).Segments.Single();
        Assert.Equal(before.Name, after.Name);

        // title only: "a" has vitamin in its title, "b" only in its text
        var title = Ok("search", "--index", index, "--pipeline", "bm25(fields=[title])", "--query", "vitamin");
        Assert.Contains(" a ", " " + title.Stdout.Replace('\n', ' ') + " ");
        Assert.DoesNotContain(" b ", " " + title.Stdout.Replace('\n', ' ') + " ");
    }

    /// <summary>`relevo search` reads the Lucene syntax when the query uses it (a syntax error names its column);
    /// `relevo run` reads query files as words unless --syntax lucene, and then a bad query is named by its id.</summary>
    [Fact]
    public void Search_and_run_read_the_lucene_syntax_when_asked()
    {
        using var tmp = new TempDir();
        string index = tmp["i"], corpus = tmp["corpus.jsonl"], queries = tmp["queries.jsonl"];
        File.WriteAllLines(corpus,
        [
            """{"_id": "a", "title": "vitamin d", "text": "sunlight and bones"}""",
            """{"_id": "b", "title": "bones", "text": "vitamin d deficiency and vitamin supplements"}""",
        ]);
        Ok("index", "--corpus", corpus, "--index", index, "--fields");
        var noPositions = CliRunner.Logged(output, "search", "--index", index, "--query", "\"vitamin d\"");
        Assert.NotEqual(0, noPositions.ExitCode);
        Assert.Contains("relevo index --index DIR --positions", noPositions.Stderr);
        Assert.Contains("positions: 1 segment(s) written", Ok("index", "--index", index, "--positions").Stdout);
        // "vitamin d" opens a's title and stands in b's text; "d deficiency" only in b's text
        Assert.Matches(@"1\. b ", Ok("search", "--index", index, "--query", "\"d deficiency\"").Stdout);
        Assert.DoesNotMatch(@" a ", Ok("search", "--index", index, "--query", "text:\"d deficiency\"").Stdout);
        Assert.Matches(@"1\. a ", Ok("search", "--index", index, "--query", "title:\"vitamin d\"").Stdout);
        var hits = Ok("search", "--index", index, "--query", "title:vitamin OR text:supplements^2").Stdout;
        Assert.Matches(@"1\. b .*\n.*2\. a ", hits);
        var bad = CliRunner.Logged(output, "search", "--index", index, "--query", "vitamin AND");
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("query column 12: expected a term, phrase or group after 'AND'", bad.Stderr);

        File.WriteAllLines(queries, ["""{"_id": "q1", "text": "vitamin (d"}"""]);
        Ok("run", "--index", index, "--queries", queries, "--output", tmp["plain.trec"]); // words: vitamin, d
        Assert.Equal(2, File.ReadAllLines(tmp["plain.trec"]).Length);
        var lucene = CliRunner.Logged(output, "run", "--index", index, "--queries", queries, "--output", tmp["lucene.trec"], "--syntax", "lucene");
        Assert.NotEqual(0, lucene.ExitCode);
        Assert.Contains("query q1: query column 11: expected ')' to close the group opened at column 9", lucene.Stderr);
    }
}
