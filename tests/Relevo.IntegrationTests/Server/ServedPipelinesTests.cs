using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Relevo.Dense;
using Relevo.Llm;
using Relevo.Pipelines;
using Relevo.Server;

namespace Relevo.IntegrationTests.Server;

/// <summary>What anonymous clients may make a server run: work stops at the time budget or when the client leaves,
/// the operator can restrict the pipelines, models are named from the operator's catalog (never a path), writes to an
/// index with vectors embed what they add, and LLM stages and answers use the operator's endpoint.</summary>
public sealed class ServedPipelinesTests : IDisposable
{
    private readonly TempDir _dir = new();

    public ServedPipelinesTests() => TestIndexes.Write(_dir["idx"], TestIndexes.Small);

    public void Dispose() => _dir.Dispose();

    /// <summary>A stage <c>hold</c> that waits until its request is cancelled, and reports that it was.</summary>
    private sealed class HoldExtension : IRelevoExtension
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Register(ExtensionRegistry registry) => registry.AddStage("hold", "hold", s =>
        {
            s.NoPositional();
            return new HoldStage(this);
        });

        private sealed class HoldStage(HoldExtension x) : Stage
        {
            public override string Text => "hold";

            public override async ValueTask<PipelineState> RunAsync(PipelineState state, StageContext context, int depth)
            {
                x.Entered.TrySetResult();
                try
                {
                    await Task.Delay(Timeout.Infinite, context.Cancellation);
                }
                finally
                {
                    if (context.Cancellation.IsCancellationRequested) x.Cancelled.TrySetResult();
                }
                return state;
            }
        }
    }

    /// <summary>The small index with arctic-xs vectors on its segment.</summary>
    private string DenseIndex()
    {
        string index = _dir["dense"];
        using var model = EmbeddingModel.Load("arctic-xs");
        using var w = SearchIndex.OpenWriter(index, new WriterOptions(), [new DenseExtension()]);
        w.AddRange(TestIndexes.Small);
        w.Commit();
        DenseIndexer.AddVectors(w, model);
        return index;
    }

    private static async Task<(int Status, string Error)> Refused(HttpResponseMessage r)
    {
        using var json = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
        return ((int)r.StatusCode, json.RootElement.GetProperty("error").GetString()!);
    }

    [Fact]
    public async Task A_search_past_the_time_budget_is_stopped_and_answers_503()
    {
        var hold = new HoldExtension();
        await using var h = await ServerHarness.StartAsync(_dir["idx"], o => o with { Extensions = [hold], RequestTimeout = TimeSpan.FromSeconds(1) });
        var r = await h.Client.GetAsync("/api/search?q=vitamin&pipeline=hold>>bm25");
        var (status, error) = await Refused(r);
        Assert.Equal(503, status);
        Assert.Contains("time budget of 1 s", error);
        Assert.Equal("1", r.Headers.RetryAfter?.Delta?.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await hold.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(30)); // the work itself stopped
        Assert.Equal(HttpStatusCode.OK, (await h.Client.GetAsync("/api/search?q=vitamin")).StatusCode);
    }

    [Fact]
    public async Task A_client_that_leaves_stops_its_search()
    {
        var hold = new HoldExtension();
        await using var h = await ServerHarness.StartAsync(_dir["idx"], o => o with { Extensions = [hold], RequestTimeout = TimeSpan.FromMinutes(10) });
        using var leave = new CancellationTokenSource();
        var pending = h.Client.GetAsync("/api/search?q=vitamin&pipeline=hold>>bm25", leave.Token);
        await hold.Entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        leave.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
        await hold.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(30)); // not left running for ten minutes
    }

    [Fact]
    public async Task The_operator_can_restrict_the_pipelines_clients_run()
    {
        await using var h = await ServerHarness.StartAsync(_dir["idx"], o => o with { AllowedPipelines = ["fuse(rrf, bm25, ql)", "bm25"] });
        var (status, error) = await Refused(await h.Client.GetAsync("/api/search?q=vitamin&pipeline=ql"));
        Assert.Equal(403, status);
        Assert.Contains("'ql' is not offered by this server", error);
        // compared in canonical form, whatever the spacing
        Assert.Equal(HttpStatusCode.OK, (await h.Client.GetAsync("/api/search?q=vitamin&pipeline=" + Uri.EscapeDataString("fuse( rrf,bm25 , ql )"))).StatusCode);
        var search = await h.GetJson("/api/search?q=vitamin");
        Assert.Equal("fuse(rrf,bm25,ql)", search.GetProperty("pipeline").GetString()); // the first allowed is the default
        var pipelines = await h.GetJson("/api/pipelines");
        Assert.Equal(["fuse(rrf,bm25,ql)", "bm25"], pipelines.GetProperty("pipelines").EnumerateArray().Select(p => p.GetProperty("pipeline").GetString()!));
        // a pipeline the operator mistyped stops the server at start, naming the option
        var e = await Assert.ThrowsAsync<RelevoException>(() => ServerHarness.StartAsync(_dir["idx"], o => o with { AllowedPipelines = ["bm25(", "bm25"] }, withKey: false));
        Assert.Contains("--pipelines", e.Message);
    }

    [Fact]
    public async Task Clients_name_models_from_the_catalog_and_never_probe_paths()
    {
        string existing = _dir["a-real-folder"];
        Directory.CreateDirectory(existing);
        var catalog = new ModelCatalog(null, allowPaths: false);
        await using var h = await ServerHarness.StartAsync(_dir["idx"], o => o with { Extensions = [new DenseExtension(catalog)] });
        async Task<(int Status, string Error)> Search(string pipeline) =>
            await Refused(await h.Client.GetAsync("/api/search?q=vitamin&pipeline=" + Uri.EscapeDataString(pipeline)));
        var there = await Search($"dense(model={existing})");
        var missing = await Search($"dense(model={existing}-missing)");
        Assert.Equal(400, there.Status);
        Assert.Equal(400, missing.Status);
        // the same answer whether the folder exists or not: nothing to learn about the server's disk
        Assert.Equal(there.Error.Replace(existing, "X").Replace("-missing", ""), missing.Error.Replace(existing + "-missing", "X").Replace(existing, "X"));
        Assert.Contains("not a path", there.Error);
        foreach (var pipeline in new[] { $"bm25>>rerank(cross(model={existing}))", $"dense(model=/etc)>>vprf(model={existing})" })
        {
            var (status, error) = await Search(pipeline);
            Assert.Equal(400, status);
            Assert.Contains("not a path", error);
        }
        var unknown = await Search("dense(model=no-such-model)");
        Assert.Equal(400, unknown.Status);
        Assert.Contains("'no-such-model' is not offered here (arctic-xs, minilm)", unknown.Error);
        Assert.DoesNotContain("/", unknown.Error);
    }

    [Fact]
    public async Task Relevo_serve_refuses_model_paths_in_client_pipelines()
    {
        using var server = ServeProcess.Start(["--index", _dir["idx"]]);
        using var http = new HttpClient { BaseAddress = new Uri(server.Address) };
        var r = await http.GetAsync("/api/search?q=vitamin&pipeline=" + Uri.EscapeDataString($"bm25>>rerank(cross(model={_dir.Path}))"));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        string body = await r.Content.ReadAsStringAsync();
        Assert.Contains("not a path", body);
    }

    [Fact]
    public async Task Writes_to_an_index_with_vectors_embed_what_they_add()
    {
        string index = DenseIndex();
        var catalog = new ModelCatalog(null, allowPaths: false);
        await using var h = await ServerHarness.StartAsync(index, o => o with { Extensions = [new DenseExtension(catalog)], MaxEmbeddedDocumentsPerWrite = 2 });
        var post = await h.PostDocuments("{\"_id\":\"q1\",\"title\":\"Quagga\",\"text\":\"The quagga was a zebra of southern Africa, hunted to extinction.\"}\n",
            "application/x-ndjson");
        Assert.True(post.IsSuccessStatusCode, await post.Content.ReadAsStringAsync());
        var dense = await h.GetJson("/api/search?k=1&q=" + Uri.EscapeDataString("extinct African zebra") + "&pipeline=" + Uri.EscapeDataString("dense(model=arctic-xs)"));
        Assert.Equal("q1", dense.GetProperty("hits")[0].GetProperty("id").GetString());
        // every segment still has the vectors: the page still offers dense and hybrid
        var pipelines = await h.GetJson("/api/pipelines");
        Assert.Contains(pipelines.GetProperty("pipelines").EnumerateArray(), p => p.GetProperty("pipeline").GetString() == "dense(model=arctic-xs)");
        // an embedding write is bounded by the operator's limit
        var (status, error) = await Refused(await h.PostDocuments(
            "[{\"_id\":\"a\",\"text\":\"x\"},{\"_id\":\"b\",\"text\":\"y\"},{\"_id\":\"c\",\"text\":\"z\"}]"));
        Assert.Equal(413, status);
        Assert.Contains("at most 2 documents per request", error);
    }

    [Fact]
    public async Task A_write_that_cannot_be_embedded_is_refused_and_nothing_is_written()
    {
        string index = DenseIndex();
        // a server without the dense extension cannot embed: the write is refused with the reason, the index unchanged
        await using var h = await ServerHarness.StartAsync(index, o => o with { Extensions = [] });
        var (status, error) = await Refused(await h.PostDocuments("{\"_id\":\"q1\",\"text\":\"quagga\"}"));
        Assert.Equal(400, status);
        Assert.Contains("'vectors' data for 'arctic-xs'", error);
        Assert.Equal(5, (await h.GetJson("/api/health")).GetProperty("documents").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, (await h.Client.GetAsync("/api/documents/q1")).StatusCode);
    }

    private static ChatAnswer Grade(ChatCall call) =>
        Oracle.Answer(call, (query, passage) => query.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Any(w => w.Length > 3 && passage.Contains(w, StringComparison.OrdinalIgnoreCase)) ? 2 : 0);

    [Fact]
    public async Task Ask_answers_with_the_operators_llm_and_checks_citations()
    {
        using var dbl = new ChatTestDouble(Grade);
        using var llm = new LlmClient(new LlmSettings(dbl.Endpoint, "oracle") { RetryDelay = TimeSpan.FromMilliseconds(5) });
        await using var h = await ServerHarness.StartAsync(_dir["idx"], o => o with { Extensions = [new LlmExtension(llm)] });
        Assert.True((await h.GetJson("/api/pipelines")).GetProperty("ask").GetBoolean()); // the page shows its Ask button
        var r = await h.Client.PostAsJsonAsync("/api/ask", new { question = "Vitamin deficiency and cancer", depth = 5, passages = 3 });
        string text = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, text);
        using var json = JsonDocument.Parse(text);
        var root = json.RootElement;
        var read = root.GetProperty("passages").EnumerateArray().Select(p => p.GetProperty("id").GetString()).ToList();
        Assert.Contains("d1", read);
        Assert.Equal(read.Order(), root.GetProperty("citations").EnumerateArray().Select(c => c.GetString()).Order());
        Assert.Equal(["not-a-doc"], root.GetProperty("invalidCitations").EnumerateArray().Select(c => c.GetString()));
        // LLM stages of searches use the same endpoint
        var reranked = await h.GetJson("/api/search?q=" + Uri.EscapeDataString("vitamin cancer") + "&pipeline=" + Uri.EscapeDataString("bm25>>llm.pointwise(top=3)"));
        Assert.Equal("d1", reranked.GetProperty("hits")[0].GetProperty("id").GetString());
        // bounded work
        var (status, error) = await Refused(await h.Client.PostAsJsonAsync("/api/ask", new { question = "vitamin", depth = 5000 }));
        Assert.Equal(400, status);
        Assert.Contains("depth", error);
    }

    [Fact]
    public async Task Llm_work_counts_against_the_time_budget_and_a_server_without_an_llm_says_so()
    {
        using var dbl = new ChatTestDouble(Grade) { Delay = TimeSpan.FromMinutes(5) };
        using var llm = new LlmClient(new LlmSettings(dbl.Endpoint, "oracle") { RetryDelay = TimeSpan.FromMilliseconds(5) });
        await using (var h = await ServerHarness.StartAsync(_dir["idx"], o => o with { Extensions = [new LlmExtension(llm)], RequestTimeout = TimeSpan.FromSeconds(1) }))
        {
            var (status, error) = await Refused(await h.Client.GetAsync("/api/search?q=vitamin&pipeline=" + Uri.EscapeDataString("bm25>>llm.pointwise(top=3)")));
            Assert.Equal(503, status);
            Assert.Contains("time budget", error);
            (status, error) = await Refused(await h.Client.PostAsJsonAsync("/api/ask", new { question = "vitamin" }));
            Assert.Equal(503, status);
        }
        await using (var h = await ServerHarness.StartAsync(_dir["idx"]))
        {
            Assert.False((await h.GetJson("/api/pipelines")).GetProperty("ask").GetBoolean());
            var (status, error) = await Refused(await h.Client.PostAsJsonAsync("/api/ask", new { question = "vitamin" }));
            Assert.Equal(501, status);
            Assert.Contains("--llm", error);
        }
    }
}

/// <summary>lattice(llm=true) in the server: it navigates with the operator's endpoint, and a server without one says
/// how to give it.</summary>
public sealed class ServedLatticeTests : IDisposable
{
    private readonly TempDir _dir = new();

    public ServedLatticeTests()
    {
        TestIndexes.Write(_dir["idx"], TestIndexes.Small);
        using var w = Relevo.Index.IndexWriter.Open(_dir["idx"]);
        Relevo.Index.Trees.TreeIndexer.Build(w, "hashed", HashedVectors.Of(32), new Relevo.Index.Trees.TreeOptions(Branching: 2));
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task The_lattice_stage_navigates_with_the_operators_llm()
    {
        var oracle = new LatticeOracle(_dir["idx"], query => query.Contains("vitamin", StringComparison.Ordinal) ? new HashSet<string> { "d1" } : new HashSet<string>());
        using var dbl = new ChatTestDouble(oracle.Answer);
        using var llm = new LlmClient(new LlmSettings(dbl.Endpoint, "oracle") { RetryDelay = TimeSpan.FromMilliseconds(5) });
        string search = "/api/search?q=vitamin&pipeline=" + Uri.EscapeDataString("lattice(beam=2,llm=true)");
        await using (var h = await ServerHarness.StartAsync(_dir["idx"], o => o with { Extensions = [new LlmExtension(llm)] }))
        {
            var found = await h.GetJson(search);
            Assert.Equal("d1", found.GetProperty("hits")[0].GetProperty("id").GetString());
            Assert.True(dbl.Requests > 0);
        }
        await using (var h = await ServerHarness.StartAsync(_dir["idx"]))
        {
            var r = await h.Client.GetAsync(search);
            string text = await r.Content.ReadAsStringAsync();
            Assert.False(r.IsSuccessStatusCode, text);
            Assert.Contains("--llm", text);
        }
    }
}
