using System.IO.Compression;
using System.Text;
using Relevo.Collections;

namespace Relevo.Tests.Collections;

/// <summary>The corpus and queries reader: what it accepts, and the file:line: field message for what it refuses.</summary>
public sealed class JsonlReaderTests : IDisposable
{
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    private string Write(string name, byte[] content)
    {
        File.WriteAllBytes(_tmp[name], content);
        return _tmp[name];
    }

    private string Write(string name, string content) => Write(name, Encoding.UTF8.GetBytes(content));

    private static string Refused(string path, bool queries = false) =>
        Assert.Throws<RelevoException>(() => queries ? JsonlReader.ReadQueries(path).Count : JsonlReader.ReadCorpus(path).Count()).Message;

    [Fact]
    public void A_byte_order_mark_is_skipped_at_the_start_of_the_file_only()
    {
        string corpus = Write("corpus.jsonl", [0xEF, 0xBB, 0xBF, .. "{\"_id\":\"a\",\"text\":\"x\"}\n{\"_id\":\"b\"}\n"u8]);
        Assert.Equal(["a", "b"], JsonlReader.ReadCorpus(corpus).Select(d => d.Id));
        string queries = Write("queries.jsonl", [0xEF, 0xBB, 0xBF, .. "{\"_id\":\"1\",\"text\":\"wind\"}\n"u8]);
        Assert.Equal(new[] { ("1", "wind") }, JsonlReader.ReadQueries(queries));
        string second = Write("second.jsonl", [.. "{\"_id\":\"a\"}\n"u8, 0xEF, 0xBB, 0xBF, .. "{\"_id\":\"b\"}\n"u8]);
        Assert.Equal($"{second}:2: a byte order mark (EF BB BF) is allowed only at the start of the file", Refused(second));
    }

    [Theory]
    [InlineData("""{"_id":"x","text":"\ud800"}""", "field text: a \\u escape gives a lone surrogate")]
    [InlineData("""{"_id":"x","title":"ok \udc00 no"}""", "field title: a \\u escape gives a lone surrogate")]
    [InlineData("""{"_id":"\udfff"}""", "field _id: a \\u escape gives a lone surrogate")]
    [InlineData("""{"_id":"x","\ud800":"key"}""", "a \\u escape gives a lone surrogate")]
    [InlineData("""{"_id":"n1","_id":"n2"}""", "field _id: the key \"_id\" appears twice in one object")]
    [InlineData("""{"_id":"x","text":"a","t\u0065xt":"b"}""", "field text: the key \"text\" appears twice in one object")]
    [InlineData("""{"_id":"x","title":null,"title":"b"}""", "field title: the key \"title\" appears twice in one object")]
    [InlineData("""{"_id":""}""", "field _id: empty")]
    [InlineData("""{"_id":"a\u0001b"}""", "field _id: has a control character (U+0001) at character 2")]
    [InlineData("""{"_id":"a\tb"}""", "field _id: has a control character (U+0009) at character 2")]
    public void Bad_lines_name_the_line_and_field(string line, string expected)
    {
        string path = Write("corpus.jsonl", "{\"_id\":\"ok\",\"text\":\"fine\"}\n" + line + "\n");
        Assert.StartsWith($"{path}:2: {expected}", Refused(path));
    }

    [Fact]
    public void Ids_are_limited_to_the_common_length()
    {
        string fits = new('a', DocumentIds.MaxLength);
        string path = Write("corpus.jsonl", $"{{\"_id\":\"{fits}\"}}\n{{\"_id\":\"{new string('b', 1_000_000)}\"}}\n");
        var e = Refused(path);
        Assert.Equal($"{path}:2: field _id: longer than 512 characters (it has 1000000)", e);
        Assert.Equal(fits, JsonlReader.ReadCorpus(path).First().Id);
    }

    [Fact]
    public void Escaped_text_that_is_valid_Unicode_is_read()
    {
        string path = Write("corpus.jsonl", """{"_id":"x\u00e9","title":"\ud83d\ude00","text":"tab\tand\u00a0more","extra":"caf\u00e9","n":[1, 2]}""" + "\n");
        var doc = JsonlReader.ReadCorpus(path).Single();
        Assert.Equal(("x\u00e9", "\U0001F600", "tab\tand\u00a0more"), (doc.Id, doc.Title, doc.Text));
        Assert.Equal("""{"extra":"caf\u00e9","n":[1, 2]}""", doc.Fields); // other keys are kept as written
    }

    /// <summary>Every other key is a field now: given twice it is an error, and a lone surrogate in one is refused when
    /// the document is checked against the schema.</summary>
    [Fact]
    public void Other_keys_are_fields_and_follow_the_same_rules()
    {
        string path = Write("corpus.jsonl", """{"_id":"x","text":"a","extra":"one","extra":1}""" + "\n");
        Assert.Equal($"{path}:1: field extra: the key \"extra\" appears twice in one object", Refused(path));
        var schema = new Relevo.Index.Values.Schema();
        var e = Assert.Throws<RelevoException>(() => schema.Check("""{"extra":"\ud800 alone"}""", $"{path}:2"));
        Assert.Equal($"{path}:2: field extra: a \\u escape gives a lone surrogate (half of a UTF-16 pair), which is not valid Unicode", e.Message);
    }

    [Fact]
    public void Queries_files_follow_the_same_rules()
    {
        string path = Write("queries.jsonl", "{\"_id\":\"1\",\"text\":\"a\"}\n{\"_id\":\"2\",\"text\":\"\\ud800\"}\n");
        Assert.StartsWith($"{path}:2: field text: a \\u escape gives a lone surrogate", Refused(path, queries: true));
        path = Write("queries2.jsonl", [.. "{\"_id\":\"1\",\"text\":\"a"u8, 0xC3, 0x28, .. "\"}\n"u8]);
        Assert.Equal($"{path}:1: field text: invalid UTF-8 at byte 21 of the line", Refused(path, queries: true));
        path = Write("queries3.jsonl", "{\"_id\":\"1\",\"text\":\"a\"}\n{\"_id\":\"q 2\",\"text\":\"b\"}\n");
        Assert.StartsWith($"{path}:2: field _id: a query id cannot hold white space", Refused(path, queries: true));
    }

    [Fact]
    public void Invalid_UTF8_is_found_in_a_line_full_of_it()
    {
        var line = new byte[200_000];
        Array.Fill(line, (byte)0xFF);
        string path = Write("corpus.jsonl", [.. "{\"_id\":\"x\",\"text\":\""u8, .. line, .. "\"}\n"u8]);
        Assert.Equal($"{path}:1: field text: invalid UTF-8 at byte 20 of the line", Refused(path));
    }

    [Fact]
    public void A_directory_is_named_as_one()
    {
        Directory.CreateDirectory(_tmp["adir.jsonl"]);
        Assert.Equal($"{_tmp["adir.jsonl"]}: is a directory, not a JSON-lines file", Refused(_tmp["adir.jsonl"]));
        Assert.Equal($"{_tmp["none.jsonl"]}: file not found", Refused(_tmp["none.jsonl"]));
    }

    [Fact]
    public void A_truncated_gzip_corpus_is_refused_after_its_last_complete_line()
    {
        var data = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 3000).Select(i => $"{{\"_id\":\"{i}\",\"text\":\"w{i}\"}}\n")));
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal)) gz.Write(data);
        byte[] whole = ms.ToArray();
        // Without its trailer every line is there: only the missing trailer tells that the file was cut.
        string cut = Write("cut.jsonl.gz", whole[..^8]);
        Assert.Equal($"{cut}: the gzip stream is truncated (it ends before its trailer)", Refused(cut));
        string half = Write("half.jsonl.gz", whole[..(whole.Length / 2)]);
        Assert.Equal($"{half}: the gzip stream is truncated (it ends before its trailer)", Refused(half));
        string twice = Write("twice.jsonl.gz", [.. whole, .. whole]);
        Assert.Equal(6000, JsonlReader.ReadCorpus(twice).Count());
        string plain = Write("plain.jsonl.gz", data);
        Assert.StartsWith($"{plain}: not a gzip stream", Refused(plain));
    }

    [Fact]
    public void A_dataset_folder_without_qrels_opens_and_names_them_when_they_are_read()
    {
        string folder = _tmp["ds"];
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "corpus.jsonl"), "{\"_id\":\"a\",\"text\":\"x\"}\n");
        File.WriteAllText(Path.Combine(folder, "queries.jsonl"), "{\"_id\":\"1\",\"text\":\"x\"}\n");
        var dataset = BeirDataset.FromFolder(folder);
        Assert.Equal(Path.Combine(folder, "qrels", "test.tsv"), dataset.QrelsPath);
        var e = Assert.Throws<RelevoException>(() => dataset.ReadQrels());
        Assert.StartsWith($"{dataset.QrelsPath}: missing", e.Message);
    }
}
