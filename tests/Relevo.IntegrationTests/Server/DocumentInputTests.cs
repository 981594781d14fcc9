using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Relevo.Collections;

namespace Relevo.IntegrationTests.Server;

/// <summary>POST /api/documents follows the corpus reader's input rules: bad text or ids get 400 naming the item or
/// line and the field (never 500), nothing is written, and a byte order mark at the start is accepted.</summary>
public sealed class DocumentInputTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private ServerHarness _h = null!;

    public async Task InitializeAsync()
    {
        TestIndexes.Write(_dir["idx"], TestIndexes.Small);
        _h = await ServerHarness.StartAsync(_dir["idx"]);
    }

    public async Task DisposeAsync()
    {
        await _h.DisposeAsync();
        _dir.Dispose();
    }

    private async Task<HttpResponseMessage> Post(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return await _h.Client.SendAsync(_h.Authorized(HttpMethod.Post, "/api/documents", content));
    }

    private async Task<int> Documents() => (await _h.GetJson("/api/health")).GetProperty("documents").GetInt32();

    public static TheoryData<string, string> RefusedBodies => new()
    {
        { "lines-lone-surrogate-text", "request body line 2: field \"text\": a \\u escape gives a lone surrogate (half of a UTF-16 pair)" },
        { "array-lone-surrogate-title", "request body item 1: field \"title\": a \\u escape gives a lone surrogate" },
        { "array-lone-surrogate-id", "request body item 0: field \"_id\": a \\u escape gives a lone surrogate" },
        { "lines-lone-surrogate-key", "request body line 1: a key has a \\u escape that gives a lone surrogate" },
        { "lines-invalid-utf8-text", "request body line 2: field \"text\": invalid UTF-8 at byte 22 of the line" },
        { "array-invalid-utf8-text", "request body item 1: field \"text\": invalid UTF-8" },
        { "array-invalid-utf8-elsewhere", "request body: invalid UTF-8 at byte 32" },
        { "lines-invalid-utf8-id", "request body line 1: field \"_id\": invalid UTF-8 at byte 10 of the line" },
        { "lines-duplicate-id-key", "request body line 1: field \"_id\": the key appears twice in one object" },
        { "array-duplicate-text-key", "request body item 0: field \"text\": the key appears twice in one object" },
        { "long-id", "request body item 0: field \"_id\": longer than 512 characters (it has 513)" },
        { "control-in-id", "request body line 1: field \"_id\": has a control character (U+0007) at character 2" },
        { "empty-id", "request body item 0: field \"_id\": empty" },
    };

    [Theory]
    [MemberData(nameof(RefusedBodies))]
    public async Task Bad_text_and_ids_get_400_naming_the_item_or_line_and_field(string kind, string expected)
    {
        byte[] body = kind switch
        {
            "lines-lone-surrogate-text" => "{\"_id\":\"n1\",\"text\":\"ok\"}\n{\"_id\":\"n2\",\"text\":\"\\ud800\"}\n"u8.ToArray(),
            "array-lone-surrogate-title" => "[{\"_id\":\"n1\"},{\"_id\":\"n2\",\"title\":\"\\udc00\"}]"u8.ToArray(),
            "array-lone-surrogate-id" => "[{\"_id\":\"\\ud800\"}]"u8.ToArray(),
            "lines-lone-surrogate-key" => "{\"_id\":\"n1\",\"\\ud800\":\"x\"}\n"u8.ToArray(),
            "lines-invalid-utf8-text" => [.. "{\"_id\":\"n1\"}\n{\"_id\":\"n2\",\"text\":\"a"u8, 0xFF, .. "\"}\n"u8],
            "array-invalid-utf8-text" => [.. "[{\"_id\":\"n1\"},{\"_id\":\"n2\",\"text\":\""u8, 0xC3, 0x28, .. "\"}]"u8],
            "array-invalid-utf8-elsewhere" => [.. "[{\"_id\":\"n1\",\"metadata\":{\"x\":\"a"u8, 0xFF, .. "\"}}]"u8],
            "lines-invalid-utf8-id" => [.. "{\"_id\":\"n"u8, 0xFF, .. "\",\"text\":\"a\"}\n"u8],
            "lines-duplicate-id-key" => "{\"_id\":\"n1\",\"_id\":\"n2\"}\n"u8.ToArray(),
            "array-duplicate-text-key" => "[{\"_id\":\"n1\",\"text\":\"a\",\"text\":\"b\"}]"u8.ToArray(),
            "long-id" => Encoding.UTF8.GetBytes($"[{{\"_id\":\"{new string('i', DocumentIds.MaxLength + 1)}\"}}]"),
            "control-in-id" => "{\"_id\":\"a\\u0007\"}\n"u8.ToArray(),
            "empty-id" => "[{\"_id\":\"\"}]"u8.ToArray(),
            _ => throw new ArgumentException(kind),
        };
        var (status, error) = await ServerHarness.Error(await Post(body));
        Assert.Equal(400, status);
        Assert.StartsWith(expected, error);
        Assert.Equal(5, await Documents());
    }

    [Fact]
    public async Task An_id_of_the_longest_length_can_be_written_fetched_and_deleted()
    {
        string id = new('i', DocumentIds.MaxLength);
        var r = await Post(Encoding.UTF8.GetBytes($"[{{\"_id\":\"{id}\",\"text\":\"long id\"}}]"));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(id, (await _h.GetJson("/api/documents/" + id)).GetProperty("id").GetString());
        var delete = await _h.Client.SendAsync(_h.Authorized(HttpMethod.Delete, "/api/documents/" + id));
        Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
    }

    [Fact]
    public async Task A_byte_order_mark_at_the_start_of_the_body_is_accepted()
    {
        var r = await Post([0xEF, 0xBB, 0xBF, .. "{\"_id\":\"b1\",\"text\":\"zebra\"}\n{\"_id\":\"b2\",\"text\":\"zebra\"}\n"u8]);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        r = await Post([0xEF, 0xBB, 0xBF, .. "[{\"_id\":\"b3\",\"text\":\"zebra\"}]"u8]);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(["b1", "b2", "b3"], ServerHarness.Ids(await _h.Search("zebra")).Order());
        // elsewhere it is not JSON
        var (status, _) = await ServerHarness.Error(await Post([.. "{\"_id\":\"b4\"}\n"u8, 0xEF, 0xBB, 0xBF, .. "{\"_id\":\"b5\"}\n"u8]));
        Assert.Equal(400, status);
    }
}
