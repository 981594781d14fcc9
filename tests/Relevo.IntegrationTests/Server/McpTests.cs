using System.Globalization;
using System.Text;
using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Relevo.Evaluation;
using Relevo.Server;

namespace Relevo.IntegrationTests.Server;

/// <summary>`relevo mcp` driven by the official SDK's client over stdio (the real CLI as a child process, SciFact's
/// index), and the same tools over streamable HTTP inside `relevo serve --mcp`. Every tool's answer is compared with
/// the library's own result for the same request.</summary>
public sealed class McpTests(SciFactLlmFixture fx) : IClassFixture<SciFactLlmFixture>
{
    private static async Task<McpClient> Stdio(params string[] args)
    {
        var transport = new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = "relevo",
            Command = "dotnet",
            Arguments = [CliRunner.RelevoDll, "mcp", .. args],
            EnvironmentVariables = new Dictionary<string, string?>
            {
                ["RELEVO_DATA"] = TestData.DatasetsDir,
                ["RELEVO_LLM_ENDPOINT"] = "",
                ["RELEVO_LLM_MODEL"] = "",
            },
        });
        return await McpClient.CreateAsync(transport);
    }

    private static async Task<JsonElement> Call(McpClient client, string tool, Dictionary<string, object?> args)
    {
        var r = await client.CallToolAsync(tool, args);
        string text = Text(r);
        Assert.False(r.IsError == true, $"{tool}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static async Task<string> Refused(McpClient client, string tool, Dictionary<string, object?> args)
    {
        var r = await client.CallToolAsync(tool, args);
        Assert.True(r.IsError, $"{tool} should have been refused: {Text(r)}");
        return Text(r);
    }

    private static string Text(CallToolResult r) => Assert.IsType<TextContentBlock>(Assert.Single(r.Content)).Text;

    /// <summary>An agent filters on typed fields: index_info names them, search's filter keeps only matching documents,
    /// and a bad filter is a tool error naming the column.</summary>
    [Fact]
    public async Task SearchFiltersOnTypedFields()
    {
        using var tmp = new TempDir();
        TestIndexes.Write(tmp["idx"], Enumerable.Range(0, 20).Select(i =>
            new Document($"d{i}", $"Vitamin {i}", "vitamin dose") { Fields = $$"""{"lang":"{{(i % 2 == 0 ? "en" : "de")}}","year":{{2000 + i}}}""" }));
        await using var client = await Stdio("--index", tmp["idx"]);
        var info = await Call(client, "index_info", []);
        Assert.Equal("keyword", info.GetProperty("fields").GetProperty("lang").GetString());
        var search = await Call(client, "search", new() { ["query"] = "vitamin", ["k"] = 20, ["filter"] = "lang:de AND year:[2010 TO *]" });
        var ids = search.GetProperty("hits").EnumerateArray().Select(h => h.GetProperty("id").GetString()!).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["d11", "d13", "d15", "d17", "d19"], ids);
        Assert.Contains("filter column 11: expected ']' or '}'", await Refused(client, "search", new() { ["query"] = "vitamin", ["filter"] = "year:[2010" }));
    }

    [Fact]
    public async Task StdioToolsAnswerAsTheLibraryDoes()
    {
        await using var client = await Stdio("--index", fx.IndexDir);
        var tools = await client.ListToolsAsync();
        var names = tools.Select(t => t.Name).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["evaluate", "explain", "fuse", "get_document", "index_info", "search"], names); // no ask without --llm
        foreach (var t in tools) Assert.True(t.Description.Length > 40, $"{t.Name}: the description should tell an agent what it returns");

        using var index = SearchIndex.Open(fx.IndexDir);
        string query = fx.Queries[0].Text;

        // search: the library's hits, scores and order
        var search = await Call(client, "search", new() { ["query"] = query, ["k"] = 20 });
        var expected = index.Search(query, "bm25", 20);
        var hits = search.GetProperty("hits").EnumerateArray().ToArray();
        Assert.Equal(expected.Hits.Select(h => h.Id), hits.Select(h => h.GetProperty("id").GetString()));
        Assert.Equal(expected.Hits.Select(h => h.Score), hits.Select(h => h.GetProperty("score").GetSingle()));
        Assert.Equal("bm25", search.GetProperty("pipeline").GetString());

        // get_document: the stored text
        string top = expected.Hits[0].Id;
        var doc = await Call(client, "get_document", new() { ["id"] = top });
        var stored = (await index.GetDocumentAsync(top))!;
        Assert.Equal(stored.Text, doc.GetProperty("text").GetString());
        Assert.Equal(stored.Title, doc.GetProperty("title").GetString());
        Assert.Contains("no document with id 'no-such-doc'", await Refused(client, "get_document", new() { ["id"] = "no-such-doc" }));

        // fuse over pipelines: the fuse() pipeline's ranking
        var fused = await Call(client, "fuse", new() { ["query"] = query, ["pipelines"] = new[] { "bm25", "ql" }, ["k"] = 10 });
        var fusedExpected = index.Search(query, "fuse(rrf,bm25,ql)", 10);
        Assert.Equal("fuse(rrf,bm25,ql)", fused.GetProperty("fused").GetString());
        Assert.Equal(fusedExpected.Hits.Select(h => h.Id), fused.GetProperty("hits").EnumerateArray().Select(h => h.GetProperty("id").GetString()));

        // fuse over given runs: reciprocal rank fusion by hand (k = 60)
        var runs = await Call(client, "fuse", new()
        {
            ["method"] = "rrf",
            ["runs"] = new[] { new[] { new { id = "a" }, new { id = "b" } }, new[] { new { id = "b" }, new { id = "c" } } },
        });
        var rrf = runs.GetProperty("hits").EnumerateArray().Select(h => (h.GetProperty("id").GetString(), h.GetProperty("score").GetDouble())).ToArray();
        Assert.Equal(["b", "a", "c"], rrf.Select(h => h.Item1));
        Assert.Equal(1 / 62.0 + 1 / 61.0, rrf[0].Item2, 6);
        Assert.Equal(1 / 61.0, rrf[1].Item2, 6);

        // explain: the rank, the score, and terms that add up to it
        var explained = await Call(client, "explain", new() { ["query"] = query, ["id"] = expected.Hits[3].Id });
        Assert.Equal(4, explained.GetProperty("rank").GetInt32());
        float score = explained.GetProperty("score").GetSingle();
        Assert.Equal(expected.Hits[3].Score, score);
        float sum = explained.GetProperty("explanation").GetProperty("terms").EnumerateArray().Sum(t => t.GetProperty("score").GetSingle());
        Assert.Equal(score, sum, 4);
        var absent = await Call(client, "explain", new() { ["query"] = query, ["id"] = "no-such-doc", ["depth"] = 50 });
        Assert.Contains("not in the top 50", absent.GetProperty("note").GetString());

        // evaluate: the run of 30 queries against the dataset's qrels and against qrels text, as the evaluator computes
        var run = index.Run(fx.Queries.Take(30).ToList(), "bm25", 100);
        var runText = new StringWriter(CultureInfo.InvariantCulture);
        run.Write(runText);
        var byName = await Call(client, "evaluate", new() { ["run"] = runText.ToString(), ["dataset"] = "scifact", ["measures"] = new[] { "ndcg_cut_10", "map", "P_5" } });
        var mine = new Evaluator(fx.Qrels).Evaluate(run, ["ndcg_cut_10", "map", "P_5"]);
        foreach (var m in new[] { "ndcg_cut_10", "map", "P_5" })
            Assert.Equal(Math.Round(mine.Aggregate(m), 4), byName.GetProperty("measures").GetProperty(m).GetDouble());
        var qrelsText = new StringBuilder();
        foreach (var qid in fx.Qrels.QueryIds)
            foreach (var (docId, grade) in fx.Qrels.ForQuery(qid)!) qrelsText.Append(CultureInfo.InvariantCulture, $"{qid} 0 {docId} {grade}\n");
        var byText = await Call(client, "evaluate", new() { ["run"] = runText.ToString(), ["qrels"] = qrelsText.ToString(), ["perQuery"] = true });
        Assert.Equal(Math.Round(new Evaluator(fx.Qrels).Evaluate(run, ["ndcg_cut_10"]).Aggregate("ndcg_cut_10"), 4),
            byText.GetProperty("measures").GetProperty("ndcg_cut_10").GetDouble());
        Assert.Equal(30, byText.GetProperty("perQuery").GetProperty("ndcg_cut_10").EnumerateObject().Count());
        Assert.Contains("nosuchmeasure", await Refused(client, "evaluate", new() { ["run"] = runText.ToString(), ["dataset"] = "scifact", ["measures"] = new[] { "nosuchmeasure" } }));
        Assert.Contains("not a dataset name", await Refused(client, "evaluate", new() { ["run"] = runText.ToString(), ["dataset"] = "../etc" }));

        var info = await Call(client, "index_info", []);
        Assert.Equal((await index.StatusAsync(false)).Documents, info.GetProperty("documents").GetInt32());
        Assert.False(info.GetProperty("ask").GetBoolean());
    }

    [Fact]
    public async Task BadArgumentsAreToolErrorsAndTheServerGoesOn()
    {
        await using var client = await Stdio("--index", fx.IndexDir, "--pipelines", "bm25;ql");
        Assert.Equal("k: expected an integer, found a string", await Refused(client, "search", new() { ["query"] = "cancer", ["k"] = "ten" }));
        Assert.StartsWith("query: required", await Refused(client, "search", new() { ["k"] = 5 }));
        Assert.Contains("unknown argument 'top_k'", await Refused(client, "search", new() { ["query"] = "cancer", ["top_k"] = 5 }));
        Assert.Contains("k: must be between 1 and 1000", await Refused(client, "search", new() { ["query"] = "cancer", ["k"] = 100_000 }));
        // the SDK prefixes a tool's own refusal with "An error occurred invoking 'TOOL': "
        Assert.EndsWith("query: empty query", await Refused(client, "search", new() { ["query"] = "  " }));
        Assert.EndsWith("query: required", await Refused(client, "fuse", new() { ["pipelines"] = new[] { "bm25", "ql" } }));
        Assert.Contains("the limit is 1024", await Refused(client, "explain", new() { ["query"] = new string('a', 2000), ["id"] = "x" }));
        Assert.Contains("column", await Refused(client, "search", new() { ["query"] = "cancer", ["pipeline"] = "bm25(" }));
        // the operator's list: rm3 is not offered, alone or as a fusion input
        Assert.Contains("not offered", await Refused(client, "search", new() { ["query"] = "cancer", ["pipeline"] = "bm25 >> rm3 >> bm25" }));
        Assert.Contains("not offered", await Refused(client, "fuse", new() { ["query"] = "cancer", ["pipelines"] = new[] { "bm25", "bm25 >> rm3 >> bm25" } }));
        Assert.Contains("method: 'bogus'", await Refused(client, "fuse", new() { ["method"] = "bogus", ["query"] = "cancer", ["pipelines"] = new[] { "bm25", "ql" } }));
        Assert.Contains("not both", await Refused(client, "fuse", new() { ["query"] = "cancer" }));
        Assert.Contains("appears twice", await Refused(client, "fuse", new() { ["runs"] = new[] { new[] { new { id = "a" }, new { id = "a" } }, new[] { new { id = "b" } } } }));
        // an unknown tool is a protocol error (JSON-RPC), not a tool result
        var unknown = await Assert.ThrowsAsync<McpProtocolException>(async () => await client.CallToolAsync("drop_index", new Dictionary<string, object?>()));
        Assert.Equal(McpErrorCode.InvalidParams, unknown.ErrorCode);
        // and after all that the server still answers
        var ok = await Call(client, "search", new() { ["query"] = "cancer", ["k"] = 3, ["pipeline"] = "ql" });
        Assert.Equal(3, ok.GetProperty("hits").GetArrayLength());
    }

    [Fact]
    public async Task AskIsOfferedWithAnLlmAndCitesRetrievedPassages()
    {
        using var dbl = new ChatTestDouble(c => Oracle.Answer(c, fx.Grade));
        using var cache = new TempDir();
        var transport = new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = "relevo",
            Command = "dotnet",
            Arguments = [CliRunner.RelevoDll, "mcp", "--index", fx.IndexDir, "--llm", dbl.Endpoint, "--llm-model", "oracle", "--request-timeout", "60"],
            EnvironmentVariables = new Dictionary<string, string?> { ["RELEVO_LLM_CACHE"] = cache.Path },
        });
        await using var client = await McpClient.CreateAsync(transport);
        Assert.Contains("ask", (await client.ListToolsAsync()).Select(t => t.Name));
        // a question whose BM25 top 5 holds a judged-relevant passage, so the oracle keeps one and cites it
        using var index = SearchIndex.Open(fx.IndexDir);
        var (qid, question) = fx.Queries.First(q => index.Search(q.Text, "bm25", 5).Hits.Any(h => fx.Qrels.ForQuery(q.Id)!.GetValueOrDefault(h.Id) > 0));
        var answer = await Call(client, "ask", new() { ["question"] = question, ["depth"] = 5, ["passages"] = 3 });
        var read = answer.GetProperty("passages").EnumerateArray().Select(p => p.GetProperty("id").GetString()).ToHashSet();
        var citations = answer.GetProperty("citations").EnumerateArray().Select(c => c.GetString()).ToArray();
        Assert.True(citations.Length > 0, answer.ToString());
        Assert.All(citations, c => Assert.Contains(c, read));
        Assert.Contains(citations, c => fx.Qrels.ForQuery(qid)!.GetValueOrDefault(c!) > 0);
        Assert.True(dbl.Requests > 0);
    }

    [Fact]
    public async Task HttpMcpNeedsTheApiKeyAndServesTheSameTools()
    {
        await using var h = await ServerHarness.StartAsync(fx.IndexDir, o => o with { Mcp = true });
        var endpoint = new Uri(h.BaseAddress, "/mcp");
        // without the key: refused before anything is read
        await Assert.ThrowsAnyAsync<Exception>(async () =>
            await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions { Endpoint = endpoint, TransportMode = HttpTransportMode.StreamableHttp })));
        var unauthorized = await h.Client.PostAsync("/mcp", new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, unauthorized.StatusCode);

        await using var client = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = endpoint,
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = $"Bearer {ServerHarness.Key}" },
        }));
        Assert.Contains("search", (await client.ListToolsAsync()).Select(t => t.Name));
        using var index = SearchIndex.Open(fx.IndexDir);
        var search = await Call(client, "search", new() { ["query"] = fx.Queries[1].Text, ["k"] = 5 });
        Assert.Equal(index.Search(fx.Queries[1].Text, "bm25", 5).Hits.Select(x => x.Id),
            search.GetProperty("hits").EnumerateArray().Select(x => x.GetProperty("id").GetString()));
        Assert.Equal("k: expected an integer, found a string", await Refused(client, "search", new() { ["query"] = "cancer", ["k"] = "ten" }));
    }
}
