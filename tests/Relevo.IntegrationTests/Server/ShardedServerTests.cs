using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Relevo.Collections;
using Relevo.Index;
using Relevo.Sharding;

using Relevo.Server;

namespace Relevo.IntegrationTests.Server;

/// <summary>SciFact as one index and as a 4-shard index, each behind a server (the sharded one found by its
/// cluster.json and served in process), built once for the class.</summary>
public sealed class ShardedScifactFixture : IAsyncLifetime
{
    private ShardedPair? _data;
    internal ServerHarness Single { get; private set; } = null!;
    internal ServerHarness Sharded { get; private set; } = null!;
    public string ShardedRoot => _data!.ShardedDir;
    public (string Id, string Text)[] Queries { get; private set; } = [];

    public async Task InitializeAsync()
    {
        _data = new ShardedPair(TestData.Dataset("scifact"));
        _data.Close(); // the servers open the folders
        Queries = [.. _data.Queries.Take(50)];
        Single = await ServerHarness.StartAsync(_data.SingleDir, withKey: false);
        Sharded = await ServerHarness.StartAsync(_data.ShardedDir, withKey: false);
    }

    public async Task DisposeAsync()
    {
        if (Single is not null) await Single.DisposeAsync();
        if (Sharded is not null) await Sharded.DisposeAsync();
        _data?.Dispose();
    }
}

/// <summary>The same HTTP API over a sharded index: the same rankings as one index, documents, health and stats.</summary>
public sealed class ShardedServerTests(ShardedScifactFixture f) : IClassFixture<ShardedScifactFixture>
{
    /// <summary>BM25, query likelihood and RRF of the two rank exactly as on one index: the same ids in the same order
    /// and the same scores. (Ties between equal scores break by the documents' cluster-wide ordinals, the order they
    /// were added, as one index breaks them by document number; so even RRF, whose scores depend on the order of ties
    /// in its inputs, gives the same scores.)</summary>
    [Fact]
    public async Task Sharded_search_ranks_as_one_index()
    {
        const int k = 100;
        int compared = 0, stages = 0;
        foreach (var (_, text) in f.Queries)
        {
            foreach (var pipeline in (string[])["bm25", "ql", "fuse(rrf,bm25,ql)"])
            {
                var one = Hits(await f.Single.Search(text, k, "&pipeline=" + Uri.EscapeDataString(pipeline)));
                var shardedJson = await f.Sharded.Search(text, k, "&pipeline=" + Uri.EscapeDataString(pipeline));
                var sharded = Hits(shardedJson);
                Assert.Equal(pipeline, shardedJson.GetProperty("pipeline").GetString());
                AssertSameRanking($"{pipeline} '{text}'", one, sharded);
                compared += one.Count;
                for (int i = 0; i < one.Count; i++)
                    foreach (var (stage, score) in one[i].Stages)
                    {
                        Assert.True(sharded[i].Stages.TryGetValue(stage, out float other) && Close(score, other), $"'{text}': {one[i].Id}: stage {stage}");
                        stages++;
                    }
            }
        }
        Assert.True(compared > 10000, $"only {compared} hits compared");
        Assert.True(stages > 10000, $"only {stages} stage scores compared");
    }

    [Fact]
    public async Task Documents_health_stats_and_pipelines_answer_over_shards()
    {
        var search = await f.Single.Search(f.Queries[0].Text, 3);
        string id = ServerHarness.Ids(search)[0];
        var one = await f.Single.GetJson("/api/documents/" + Uri.EscapeDataString(id));
        var sharded = await f.Sharded.GetJson("/api/documents/" + Uri.EscapeDataString(id));
        Assert.Equal(one.GetRawText(), sharded.GetRawText());
        var missing = await f.Sharded.Client.GetAsync("/api/documents/no-such-doc");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);

        // Titles, snippets and highlights come from the shards' stored documents, as from one index.
        var top = (await f.Sharded.Search(f.Queries[0].Text, 3)).GetProperty("hits")[0];
        var topOne = search.GetProperty("hits")[0];
        foreach (var field in (string[])["id", "title", "snippet", "titleHighlights", "snippetHighlights"])
            Assert.Equal(topOne.GetProperty(field).GetRawText(), top.GetProperty(field).GetRawText());

        var health = await f.Sharded.GetJson("/api/health");
        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.Equal(5183, health.GetProperty("documents").GetInt32());
        Assert.Equal(ShardedManifest.Read(f.ShardedRoot).Version, health.GetProperty("generation").GetInt64());
        Assert.False(health.GetProperty("writable").GetBoolean());

        var stats = await f.Sharded.GetJson("/api/stats");
        Assert.Equal(5183, stats.GetProperty("documents").GetInt32());
        Assert.Equal(4, stats.GetProperty("shards").GetInt32());
        Assert.Equal(4, stats.GetProperty("segments").GetInt32());
        Assert.True(stats.GetProperty("indexSizeBytes").GetInt64() > 0);
        Assert.Equal("english", stats.GetProperty("analyzer").GetString());
        Assert.False((await f.Single.GetJson("/api/stats")).TryGetProperty("shards", out _)); // absent on one index

        var pipelines = await f.Sharded.GetJson("/api/pipelines");
        Assert.Equal("bm25", pipelines.GetProperty("default").GetString());

        // Explanations come from each hit's shard, with the collection-wide statistics the shards scored with: the same
        // terms, statistics and contributions as on the one index, adding up to the same scores.
        foreach (string q in new[] { "vitamin d deficiency", "cancer risk of smoking", "protein folding" })
        {
            var single = (await f.Single.GetJson($"/api/search?k=10&explain=true&q={Uri.EscapeDataString(q)}")).GetProperty("hits").EnumerateArray().ToList();
            var four = (await f.Sharded.GetJson($"/api/search?k=10&explain=true&q={Uri.EscapeDataString(q)}")).GetProperty("hits").EnumerateArray().ToList();
            Assert.Equal(single.Count, four.Count);
            for (int i = 0; i < single.Count; i++)
            {
                Assert.Equal(single[i].GetProperty("explanation").GetRawText(), four[i].GetProperty("explanation").GetRawText());
                Assert.Equal(four[i].GetProperty("score").GetSingle(), four[i].GetProperty("explanation").GetProperty("score").GetSingle());
            }
        }
        // Feedback runs on shards too (documents fetched from their shards, document frequencies summed): rm3 ranks as
        // on the one index.
        string rm3 = "&pipeline=" + Uri.EscapeDataString("bm25 >> rm3 >> bm25");
        Assert.Equal(ServerHarness.Ids(await f.Single.Search("vitamin d deficiency", 10, rm3)), ServerHarness.Ids(await f.Sharded.Search("vitamin d deficiency", 10, rm3)));

        var serving = f.Sharded.Log.Events.Single(e => e.Category == "Relevo.Server" && e.Message.StartsWith("serving", StringComparison.Ordinal));
        Assert.Contains(serving.State, kv => kv.Key == "Index" && (string)kv.Value! == $"4 shards in {f.ShardedRoot}");
        Assert.Contains(serving.State, kv => kv.Key == "Mode" && (string)kv.Value! == "sharded");
    }

    internal readonly record struct Hit(string Id, float Score, Dictionary<string, float> Stages);

    private static List<Hit> Hits(JsonElement search) =>
        search.GetProperty("hits").EnumerateArray().Select(h => new Hit(h.GetProperty("id").GetString()!, h.GetProperty("score").GetSingle(),
            h.GetProperty("stages").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetSingle()))).ToList();

    /// <summary>The same ids in the same order, with scores within 1e-5 (relative beyond 1).</summary>
    internal static void AssertSameRanking(string query, List<Hit> expected, List<Hit> actual)
    {
        Assert.True(expected.Count == actual.Count, $"{query}: {expected.Count} hits on one index, {actual.Count} sharded");
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.True(expected[i].Id == actual[i].Id, $"{query}: rank {i + 1}: {expected[i].Id} on one index, {actual[i].Id} sharded");
            Assert.True(Close(expected[i].Score, actual[i].Score),
                $"{query}: rank {i + 1}: score {expected[i].Score} on one index, {actual[i].Score} sharded");
        }
    }

    private static bool Close(float a, float b) => Math.Abs(a - b) <= 1e-5 * Math.Max(1, Math.Abs(a));
}

/// <summary>Writes through a sharded index's connection: a 200 means committed cluster-wide, in the owning shard.</summary>
public sealed class ShardedWriteTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Add_search_get_and_delete_through_a_connection()
    {
        string root = _dir["sharded"];
        using (var writer = SearchIndex.OpenWriter(root, new WriterOptions { Shards = 4 }))
        {
            writer.AddRange(TestIndexes.Small);
            writer.Commit();
        }

        SearchIndex? connection = null;
        await using (var h = await ServerHarness.StartAsync("", o => o with { Connect = () => connection = SearchIndex.Open(root) }))
        {
            var health = await h.GetJson("/api/health");
            Assert.Equal(5, health.GetProperty("documents").GetInt32());
            Assert.True(health.GetProperty("writable").GetBoolean());
            long before = health.GetProperty("generation").GetInt64();

            const string id = "q-1";
            var post = await h.PostDocuments($$"""[{"_id":"{{id}}","title":"Quagga","text":"The quagga was a zebra that lived in South Africa."}]""");
            Assert.Equal(HttpStatusCode.OK, post.StatusCode);
            using var written = JsonDocument.Parse(await post.Content.ReadAsStringAsync());
            long generation = written.RootElement.GetProperty("generation").GetInt64();
            Assert.True(generation > before);
            Assert.Equal(1, written.RootElement.GetProperty("written").GetInt32());

            var found = await h.Search("quagga zebra");
            Assert.Equal([id], ServerHarness.Ids(found));
            Assert.Equal(generation, found.GetProperty("generation").GetInt64());
            Assert.Equal("Quagga", found.GetProperty("hits")[0].GetProperty("title").GetString());
            Assert.Equal("Quagga", (await h.GetJson("/api/documents/" + id)).GetProperty("title").GetString());
            Assert.Equal(6, (await h.GetJson("/api/health")).GetProperty("documents").GetInt32());

            // The document went to the shard that owns its id, in the commit cluster.json names.
            var manifest = ShardedManifest.Read(root);
            Assert.Equal(generation, manifest.Version);
            int owner = ShardRouter.ShardOf(id, 4);
            for (int s = 0; s < 4; s++)
            {
                using var reader = IndexReader.Open(Path.Combine(root, manifest.Shards[s].Folder), manifest.Shards[s].Commit);
                Assert.Equal(s == owner, reader.GetDocument(id) is not null);
            }

            // Without the key: 401; the index is unchanged.
            var anonymous = await h.Client.PostAsync("/api/documents", new StringContent("""[{"_id":"x","text":"y"}]"""));
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);

            var delete = await h.Client.SendAsync(h.Authorized(HttpMethod.Delete, "/api/documents/" + id));
            Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
            using var deleted = JsonDocument.Parse(await delete.Content.ReadAsStringAsync());
            Assert.True(deleted.RootElement.GetProperty("generation").GetInt64() > generation);
            Assert.Empty(ServerHarness.Ids(await h.Search("quagga zebra")));
            Assert.Equal(HttpStatusCode.NotFound, (await h.Client.GetAsync("/api/documents/" + id)).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await h.Client.SendAsync(h.Authorized(HttpMethod.Delete, "/api/documents/" + id))).StatusCode);
            Assert.Equal(5, (await h.GetJson("/api/health")).GetProperty("documents").GetInt32());
            Assert.Equal(5, (await h.GetJson("/api/stats")).GetProperty("documents").GetInt32());
        }
        Assert.NotNull(connection);
        // The server disposed the index it was given: the shards' writers are closed, so another can open.
        using var again = SearchIndex.Open(root);
        await again.AddAsync([new Document("z", "", "zebra")]);
    }

    [Fact]
    public async Task A_folder_and_a_connection_together_are_refused()
    {
        var e = await Assert.ThrowsAsync<RelevoException>(() => ServerHarness.StartAsync(_dir.Path,
            o => o with { Connect = () => throw new InvalidOperationException("not called") }));
        Assert.Contains("not both", e.Message);
    }
}
