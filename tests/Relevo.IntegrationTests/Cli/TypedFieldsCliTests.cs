using System.Text.Json;

namespace Relevo.IntegrationTests.Cli;

/// <summary>Typed fields through the command line: `relevo index` infers or takes a schema and prints it, `relevo
/// search --filter` and `relevo run --filter` search only matching documents, a value that breaks the schema stops the
/// run with the file, line and field and commits nothing; and every command's --help renders (descriptions are
/// markup, where a bracket must be doubled).</summary>
public class TypedFieldsCliTests
{
    [Theory]
    [InlineData("index")] [InlineData("search")] [InlineData("run")] [InlineData("eval")] [InlineData("serve")]
    [InlineData("mcp")] [InlineData("dense")] [InlineData("quantize")] [InlineData("train")] [InlineData("experiment")]
    [InlineData("delete")] [InlineData("optimize")] [InlineData("ask")] [InlineData("judge")] [InlineData("silo")]
    [InlineData("explain-eval")] [InlineData("quickstart")] [InlineData("tree build")] [InlineData("tree status")]
    public void Every_command_help_renders(string command)
    {
        var r = CliRunner.Run([.. command.Split(' '), "--help"]);
        Assert.True(r.ExitCode == 0, $"relevo {command} --help: {r.Stderr}{r.Stdout}");
        Assert.DoesNotContain("Unhandled exception", r.Stdout + r.Stderr);
        Assert.Contains("USAGE", r.Stdout);
    }

    [Fact]
    public void Index_infers_the_schema_search_and_run_filter_and_a_bad_value_commits_nothing()
    {
        using var tmp = new TempDir();
        string corpus = tmp["corpus.jsonl"];
        File.WriteAllLines(corpus, Enumerable.Range(0, 30).Select(i => JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["_id"] = $"d{i}", ["title"] = $"wing {i}", ["text"] = "lift and drag of a wing", ["year"] = 1950 + i, ["lang"] = i % 2 == 0 ? "en" : "de",
        })));
        var r = CliRunner.Run(["index", "--corpus", corpus, "--index", tmp["idx"]]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("typed fields: lang (keyword), year (integer)", r.Stdout);

        r = CliRunner.Run(["search", "--index", tmp["idx"], "--query", "wing lift", "-k", "30", "--json", "--filter", "year:[1970 TO *] AND lang:de"]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var hits = JsonDocument.Parse(r.Stdout).RootElement.GetProperty("hits").EnumerateArray().ToList();
        Assert.Equal(["d21", "d23", "d25", "d27", "d29"], hits.Select(h => h.GetProperty("id").GetString()!).Order(StringComparer.Ordinal));
        Assert.All(hits, h => Assert.Equal("de", h.GetProperty("fields").GetProperty("lang").GetString()));

        string queries = tmp["queries.jsonl"];
        File.WriteAllLines(queries, ["""{"_id":"1","text":"wing"}""", """{"_id":"2","text":"drag"}"""]);
        r = CliRunner.Run(["run", "--index", tmp["idx"], "--queries", queries, "--output", tmp["run.txt"], "-k", "100", "--filter", "lang:en"]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var lines = File.ReadAllLines(tmp["run.txt"]);
        Assert.Equal(30, lines.Length); // 15 English documents for each of the two queries
        Assert.All(lines, l => Assert.True(int.Parse(l.Split(' ')[2][1..]) % 2 == 0, l));

        r = CliRunner.Run(["search", "--index", tmp["idx"], "--query", "wing", "--filter", "year:soon"]);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("filter column 1: 'year' is an integer field, and 'soon' is not an integer", r.Stderr);

        string bad = tmp["bad.jsonl"];
        File.WriteAllLines(bad, ["""{"_id":"x1","text":"wing","year":1999}""", """{"_id":"x2","text":"wing","year":"soon"}"""]);
        r = CliRunner.Run(["index", "--corpus", bad, "--index", tmp["idx"]]);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains($"{bad}:2: field year: expected an integer, found \"soon\"", r.Stderr);
        Assert.Contains("nothing was committed", r.Stderr);
        r = CliRunner.Run(["search", "--index", tmp["idx"], "--query", "wing", "-k", "100", "--json"]);
        Assert.Equal(30, JsonDocument.Parse(r.Stdout).RootElement.GetProperty("hits").GetArrayLength());
    }

    /// <summary>A key declared text with --schema is searched by name (words and phrases, with --positions) and by
    /// bm25(fields=…), and the index prints it among the text fields; --positions-fields keeps positions of the fields
    /// named only.</summary>
    [Fact]
    public void A_key_declared_text_is_searched_by_name()
    {
        using var tmp = new TempDir();
        string corpus = tmp["corpus.jsonl"];
        File.WriteAllLines(corpus, Enumerable.Range(0, 20).Select(i => JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["_id"] = $"d{i}", ["title"] = $"wing {i}", ["text"] = "lift and drag", ["abstract"] = i % 4 == 0 ? "boundary layer flow" : "layer of boundary",
        })));
        File.WriteAllText(tmp["schema.json"], """{"abstract": "text"}""");
        var r = CliRunner.Run(["index", "--corpus", corpus, "--index", tmp["bad"], "--schema", tmp["schema.json"], "--fields", "--positions", "--positions-fields", "abstract,body"]);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("--positions-fields: 'body' is not a text field of the index", r.Stderr);
        // positions only where asked: the abstract and the concatenated field, not the title
        r = CliRunner.Run(["index", "--corpus", corpus, "--index", tmp["idx"], "--schema", tmp["schema.json"], "--fields", "--positions", "--positions-fields", "abstract,contents"]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Empty(Directory.GetFiles(tmp["idx"], "*.p-title.pos"));
        Assert.NotEmpty(Directory.GetFiles(tmp["idx"], "*.p-contents.pos"));
        var title = CliRunner.Run(["search", "--index", tmp["idx"], "--query", "title:\"wing 4\""]);
        Assert.NotEqual(0, title.ExitCode);
        Assert.Contains("keeps no positions of 'title'", title.Stderr);
        Assert.Contains("text fields: title, text, abstract", r.Stdout);

        r = CliRunner.Run(["search", "--index", tmp["idx"], "--query", "abstract:\"boundary layer\"", "-k", "20", "--json"]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var ids = JsonDocument.Parse(r.Stdout).RootElement.GetProperty("hits").EnumerateArray().Select(h => h.GetProperty("id").GetString()!).ToList();
        Assert.Equal(["d0", "d12", "d16", "d4", "d8"], ids.Order(StringComparer.Ordinal));

        r = CliRunner.Run(["search", "--index", tmp["idx"], "--query", "boundary", "-k", "20", "--json", "--pipeline", "bm25(fields=[abstract])"]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(20, JsonDocument.Parse(r.Stdout).RootElement.GetProperty("hits").GetArrayLength());
        r = CliRunner.Run(["search", "--index", tmp["idx"], "--query", "boundary", "--json"]);
        Assert.Equal(0, JsonDocument.Parse(r.Stdout).RootElement.GetProperty("hits").GetArrayLength()); // not in title and text
    }
}
