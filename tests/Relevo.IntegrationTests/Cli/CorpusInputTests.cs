using System.IO.Compression;
using System.Text;

namespace Relevo.IntegrationTests.Cli;

/// <summary>Input hygiene through the real CLI: a cut gzip corpus, lone surrogates, over-long or odd ids, duplicate
/// keys, a byte order mark, a directory given as a file, and a dataset folder without qrels. Every refusal is one
/// file:line: field line with exit code 1, and the existing index keeps its last commit.</summary>
public class CorpusInputTests
{
    private static string Doc(string id, string text) => $"{{\"_id\": \"{id}\", \"title\": \"\", \"text\": \"{text}\"}}";

    private static byte[] Lines(params string[] lines) => Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n");

    private static byte[] Gzip(byte[] data)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal)) gz.Write(data);
        return ms.ToArray();
    }

    /// <summary>An index with two committed documents and its fingerprint.</summary>
    private static (TempDir Tmp, string Index, string Fingerprint) ExistingIndex()
    {
        var tmp = new TempDir();
        File.WriteAllBytes(tmp["good.jsonl"], Lines(Doc("a", "solar wind plasma"), Doc("b", "wind tunnel tests")));
        var r = CliRunner.Run(["index", "--corpus", tmp["good.jsonl"], "--index", tmp["idx"]]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        return (tmp, tmp["idx"], BadInputTests.Fingerprint(tmp["idx"]));
    }

    /// <summary>A corpus of the adi dataset's documents, gzipped.</summary>
    private static byte[] AdiCorpusGz() => Gzip(File.ReadAllBytes(TestData.Dataset("adi").CorpusPath));

    public static TheoryData<string, string> RefusedCorpora => new()
    {
        { "gzip-without-trailer", "bad.jsonl.gz: the gzip stream is truncated (it ends before its trailer)" },
        { "gzip-cut-anywhere", "bad.jsonl.gz: the gzip stream is truncated (it ends before its trailer)" },
        { "gzip-bad-crc", "bad.jsonl.gz: the gzip member at byte 0 is damaged: its data does not match the CRC-32 in its trailer" },
        { "lone-surrogate-text", "bad.jsonl:2: field text: a \\u escape gives a lone surrogate (half of a UTF-16 pair)" },
        { "lone-surrogate-title", "bad.jsonl:2: field title: a \\u escape gives a lone surrogate" },
        { "lone-surrogate-id", "bad.jsonl:2: field _id: a \\u escape gives a lone surrogate" },
        { "invalid-utf8-title", "bad.jsonl:2: field title: invalid UTF-8 at byte 24 of the line" },
        { "long-id", "bad.jsonl:2: field _id: longer than 512 characters (it has 1000000)" },
        { "control-in-id", "bad.jsonl:2: field _id: has a control character (U+000A) at character 2" },
        { "duplicate-id-key", "bad.jsonl:2: field _id: the key \"_id\" appears twice in one object" },
        { "duplicate-text-key", "bad.jsonl:2: field text: the key \"text\" appears twice in one object" },
        { "bom-on-line-2", "bad.jsonl:2: a byte order mark (EF BB BF) is allowed only at the start of the file" },
    };

    [Theory]
    [MemberData(nameof(RefusedCorpora))]
    public void Bad_corpus_is_refused_and_the_index_untouched(string kind, string expected)
    {
        var (tmp, index, before) = ExistingIndex();
        using var _ = tmp;
        string name = kind.StartsWith("gzip", StringComparison.Ordinal) ? "bad.jsonl.gz" : "bad.jsonl";
        string bad = tmp[name];
        byte[] gz = kind.StartsWith("gzip", StringComparison.Ordinal) ? AdiCorpusGz() : [];
        byte[] content = kind switch
        {
            "gzip-without-trailer" => gz[..^8],
            "gzip-cut-anywhere" => gz[..(gz.Length * 2 / 3)],
            "gzip-bad-crc" => [.. gz[..^8], (byte)(gz[^8] ^ 1), .. gz[^7..]],
            "lone-surrogate-text" => Lines(Doc("x", "ok"), Doc("y", "\\ud800")),
            "lone-surrogate-title" => Lines(Doc("x", "ok"), "{\"_id\": \"y\", \"title\": \"a \\udc00 b\"}"),
            "lone-surrogate-id" => Lines(Doc("x", "ok"), Doc("\\ud83d", "half of an emoji")),
            "invalid-utf8-title" => [.. Lines(Doc("x", "ok")), .. "{\"_id\": \"y\", \"title\": \""u8, 0xFF, .. "\"}\n"u8],
            "long-id" => Lines(Doc("x", "ok"), Doc(new string('i', 1_000_000), "long")),
            "control-in-id" => Lines(Doc("x", "ok"), Doc("a\\nb", "newline in the id")),
            "duplicate-id-key" => Lines(Doc("x", "ok"), "{\"_id\": \"n1\", \"_id\": \"n2\", \"text\": \"which one?\"}"),
            "duplicate-text-key" => Lines(Doc("x", "ok"), "{\"_id\": \"y\", \"text\": \"one\", \"text\": \"two\"}"),
            "bom-on-line-2" => [.. Lines(Doc("x", "ok")), 0xEF, 0xBB, 0xBF, .. Lines(Doc("y", "ok"))],
            _ => throw new ArgumentException(kind),
        };
        File.WriteAllBytes(bad, content);
        var r = CliRunner.Run(["index", "--corpus", bad, "--index", index]);
        Assert.True(r.ExitCode == 1, $"exit {r.ExitCode}\n{r.Stdout}\n{r.Stderr}");
        Assert.Contains(Path.Combine(tmp.Path, expected), r.Stderr);
        Assert.DoesNotContain("Unhandled exception", r.Stderr);
        Assert.Equal(before, BadInputTests.Fingerprint(index));
    }

    [Fact]
    public void Concatenated_gzip_members_index_every_document()
    {
        using var tmp = new TempDir();
        byte[] first = Lines(Doc("a", "solar wind"), Doc("b", "wind tunnel")), second = Lines(Doc("c", "tidal wind"));
        File.WriteAllBytes(tmp["two.jsonl.gz"], [.. Gzip(first), .. Gzip(second)]);
        var r = CliRunner.Run(["index", "--corpus", tmp["two.jsonl.gz"], "--index", tmp["idx"]]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("indexed 3 documents", r.Stdout);
    }

    [Fact]
    public void A_byte_order_mark_at_the_start_of_corpus_and_queries_is_accepted()
    {
        using var tmp = new TempDir();
        File.WriteAllBytes(tmp["corpus.jsonl"], [0xEF, 0xBB, 0xBF, .. Lines(Doc("a", "solar wind"), Doc("b", "wind tunnel"))]);
        var r = CliRunner.Run(["index", "--corpus", tmp["corpus.jsonl"], "--index", tmp["idx"]]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("indexed 2 documents", r.Stdout);
        File.WriteAllBytes(tmp["queries.jsonl"], [0xEF, 0xBB, 0xBF, .. Lines("{\"_id\": \"1\", \"text\": \"wind\"}")]);
        r = CliRunner.Run(["run", "--index", tmp["idx"], "--queries", tmp["queries.jsonl"], "--output", tmp["run.trec"]]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(2, File.ReadAllLines(tmp["run.trec"]).Length);
    }

    [Fact]
    public void Queries_with_a_lone_surrogate_are_refused()
    {
        var (tmp, index, _) = ExistingIndex();
        using var _t = tmp;
        File.WriteAllBytes(tmp["queries.jsonl"], Lines("{\"_id\": \"1\", \"text\": \"wind\"}", "{\"_id\": \"2\", \"text\": \"\\udfff\"}"));
        var r = CliRunner.Run(["run", "--index", index, "--queries", tmp["queries.jsonl"], "--output", tmp["run.trec"]]);
        Assert.True(r.ExitCode == 1, $"exit {r.ExitCode}\n{r.Stderr}");
        Assert.Contains($"{tmp["queries.jsonl"]}:2: field text: a \\u escape gives a lone surrogate", r.Stderr);
        Assert.False(File.Exists(tmp["run.trec"]));
    }

    [Fact]
    public void A_directory_given_as_the_corpus_is_named_as_one()
    {
        using var tmp = new TempDir();
        Directory.CreateDirectory(tmp["adir.jsonl"]);
        var r = CliRunner.Run(["index", "--corpus", tmp["adir.jsonl"], "--index", tmp["idx"]]);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"{tmp["adir.jsonl"]}: is a directory, not a JSON-lines file", r.Stderr);
        Assert.False(File.Exists(Path.Combine(tmp["idx"], "manifest")));
    }

    [Fact]
    public void Index_and_run_take_a_dataset_without_qrels_and_only_evaluation_asks_for_them()
    {
        using var tmp = new TempDir();
        var adi = TestData.Dataset("adi");
        string folder = tmp["no-qrels"];
        Directory.CreateDirectory(folder);
        File.Copy(adi.CorpusPath, Path.Combine(folder, "corpus.jsonl"));
        File.Copy(adi.QueriesPath, Path.Combine(folder, "queries.jsonl"));

        var r = CliRunner.Run(["index", "--dataset", folder, "--index", tmp["idx"]]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        r = CliRunner.Run(["run", "--dataset", folder, "--index", tmp["idx"], "--output", tmp["run.trec"]]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.True(File.Exists(tmp["run.trec"]));

        // Evaluating needs the judgments, and says so before it searches.
        r = CliRunner.Run(["run", "--dataset", folder, "--index", tmp["idx"], "--output", tmp["run2.trec"], "--eval"]);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"{Path.Combine(folder, "qrels", "test.tsv")}: missing", r.Stderr);
        Assert.False(File.Exists(tmp["run2.trec"]));
    }
}
