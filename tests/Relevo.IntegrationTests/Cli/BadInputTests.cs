using System.Security.Cryptography;
using System.Text;

namespace Relevo.IntegrationTests.Cli;

/// <summary>Each kind of bad input gets an error naming file, line and field, and leaves an existing index as it was.</summary>
public class BadInputTests
{
    private static string Doc(string id, string text) => $"{{\"_id\": \"{id}\", \"title\": \"\", \"text\": \"{text}\"}}";

    /// <summary>An index with two committed documents, and a fingerprint of every file in it.</summary>
    private static (TempDir Tmp, string Index, string Fingerprint) ExistingIndex()
    {
        var tmp = new TempDir();
        string corpus = tmp["good.jsonl"];
        File.WriteAllLines(corpus, [Doc("a", "solar wind plasma"), Doc("b", "wind tunnel tests")]);
        string index = tmp["idx"];
        var r = CliRunner.Run(["index", "--corpus", corpus, "--index", index]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        return (tmp, index, Fingerprint(index));
    }

    internal static string Fingerprint(string dir)
    {
        var sb = new StringBuilder();
        foreach (var f in Directory.GetFiles(dir).Order(StringComparer.Ordinal))
        {
            if (Path.GetFileName(f) == "write.lock") continue;
            sb.Append(Path.GetFileName(f)).Append(' ').AppendLine(Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));
        }
        return sb.ToString();
    }

    [Theory]
    [InlineData("malformed", "bad.jsonl:2: malformed JSON")]
    [InlineData("missing-id", "bad.jsonl:2: field _id: missing")]
    [InlineData("empty-id", "bad.jsonl:3: field _id: empty")]
    [InlineData("duplicate-in-file", "bad.jsonl:3: field _id: duplicate _id 'x'")]
    [InlineData("duplicate-of-indexed", "bad.jsonl:1: field _id: duplicate _id 'a'")]
    [InlineData("invalid-utf8", "bad.jsonl:2: field text: invalid UTF-8 at byte 27 of the line")]
    [InlineData("wrong-type", "bad.jsonl:2: field text: expected a string")]
    public void BadCorpusIsRefusedAndIndexUntouched(string kind, string expected)
    {
        var (tmp, index, before) = ExistingIndex();
        using var _ = tmp;
        string bad = tmp["bad.jsonl"];
        byte[] content = kind switch
        {
            "malformed" => Lines(Doc("x", "ok"), "{\"_id\": \"y\", \"text\": \"unterminated}"),
            "missing-id" => Lines(Doc("x", "ok"), "{\"title\": \"t\", \"text\": \"no id\"}"),
            "empty-id" => Lines(Doc("x", "ok"), Doc("y", "ok"), Doc("", "empty id")),
            "duplicate-in-file" => Lines(Doc("x", "one"), Doc("y", "two"), Doc("x", "three")),
            "duplicate-of-indexed" => Lines(Doc("a", "again")),
            "invalid-utf8" => [.. Encoding.UTF8.GetBytes(Doc("x", "ok") + "\n{\"_id\": \"y\", \"text\": \"bad "), 0xC3, 0x28, .. Encoding.UTF8.GetBytes("\"}\n")],
            "wrong-type" => Lines(Doc("x", "ok"), "{\"_id\": \"y\", \"text\": 42}"),
            _ => throw new ArgumentException(kind),
        };
        File.WriteAllBytes(bad, content);
        var r = CliRunner.Run(["index", "--corpus", bad, "--index", index]);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(expected, r.Stderr);
        Assert.Contains(bad, r.Stderr);
        Assert.Equal(before, Fingerprint(index));
        var search = CliRunner.Run(["search", "--index", index, "--query", "wind", "--json"]);
        Assert.Equal(0, search.ExitCode);
        Assert.Contains("\"a\"", search.Stdout);
        Assert.DoesNotContain("\"x\"", search.Stdout);
    }

    private static byte[] Lines(params string[] lines) => Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n");

    [Fact]
    public void MissingCorpusFileIsNamed()
    {
        using var tmp = new TempDir();
        var r = CliRunner.Run(["index", "--corpus", tmp["nope.jsonl"], "--index", tmp["idx"]]);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(tmp["nope.jsonl"] + ": file not found", r.Stderr);
        Assert.False(File.Exists(Path.Combine(tmp["idx"], "manifest")));
    }

    [Fact]
    public void EmptyQueryIsRefused()
    {
        var (tmp, index, _) = ExistingIndex();
        using var _t = tmp;
        var r = CliRunner.Run(["search", "--index", index, "--query", "   "]);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("empty query", r.Stderr);

        string queries = tmp["queries.jsonl"];
        File.WriteAllLines(queries, ["{\"_id\": \"1\", \"text\": \"wind\"}", "{\"_id\": \"2\", \"text\": \"\"}"]);
        r = CliRunner.Run(["run", "--index", index, "--queries", queries, "--output", tmp["run.trec"]]);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("queries.jsonl:2: field text: empty query", r.Stderr);
    }

    [Fact]
    public void MissingIndexIsNamed()
    {
        using var tmp = new TempDir();
        var r = CliRunner.Run(["search", "--index", tmp["none"], "--query", "wind"]);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"{tmp["none"]}: no index here (the folder does not exist)", r.Stderr);
    }
}
