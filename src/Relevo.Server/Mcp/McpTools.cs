using System.ComponentModel;
using Relevo.Collections;
using Relevo.Evaluation;
using Relevo.Fusion;
using Relevo.Pipelines;
using ModelContextProtocol;
using ModelContextProtocol.Server;

namespace Relevo.Server.Mcp;

/// <summary>The MCP tools over one served index: the same checks, limits and time budget as the HTTP API
/// (<see cref="Endpoints"/>), with results shaped for an agent. A refused argument or a failed search is an MCP tool
/// error whose message says what to change; nothing a client sends crashes the server.</summary>
[McpServerToolType]
internal sealed class McpTools(ServerContext s)
{
    /// <summary>Longest run or qrels text <c>evaluate</c> reads, in characters.</summary>
    internal const int MaxEvaluateChars = 32 << 20;

    /// <summary>Most ranked lists <c>fuse</c> fuses, and most hits it reads from each.</summary>
    internal const int MaxFuseInputs = 8, MaxFuseListLength = 1000;

    [McpServerTool(Name = "search", Title = "Search the index", ReadOnly = true, Idempotent = true, OpenWorld = false)]
    [Description("Searches the index and returns the top k documents: rank, id, title, a snippet around the query terms, " +
                 "the score, and each pipeline stage's score. Use get_document for a document's full text and explain for " +
                 "why a document scored as it did.")]
    public Task<McpSearchResult> Search(
        [Description("The query, in plain words (a bag of words; no operators).")] string query,
        [Description("How many documents to return (1 to the server's limit, usually 1000).")] int k = 10,
        [Description("The retrieval pipeline, e.g. bm25, fuse(rrf,bm25,dense(model=arctic-xs)); index_info lists those offered. Default: the server's default.")]
        string? pipeline = null,
        [Description("Only documents matching this filter over the index's typed fields can be returned, e.g. year:[2015 TO 2020] AND lang:en " +
                     "(the Lucene syntax; index_info lists the typed fields). Default: none.")]
        string? filter = null,
        CancellationToken cancellation = default) => Guard(async () =>
    {
        CheckQuery(query);
        var r = await Endpoints.Search(s, new SearchRequest(query, k, pipeline, Filter: filter), cancellation);
        return new McpSearchResult(r.Query, r.Pipeline, r.Terms, Hits(r));
    });

    [McpServerTool(Name = "get_document", Title = "Read a document", ReadOnly = true, Idempotent = true, OpenWorld = false)]
    [Description("Returns a stored document by its id: id, title and full text.")]
    public Task<McpDocument> GetDocument(
        [Description("The document's id, as search returns it.")] string id,
        CancellationToken cancellation = default) => Guard(async () =>
    {
        if (string.IsNullOrEmpty(id)) throw new McpException("id: required");
        cancellation.ThrowIfCancellationRequested();
        var doc = await s.Index.GetDocumentAsync(id) ?? throw new McpException($"id: no document with id '{Shown(id)}'");
        return new McpDocument(doc.Id, doc.Title, doc.Text);
    });

    [McpServerTool(Name = "fuse", Title = "Fuse rankings", ReadOnly = true, Idempotent = true, OpenWorld = false)]
    [Description("Fuses several rankings into one. Either give `pipelines` (two or more, each run on `query` here) or " +
                 "`runs` (two or more ranked lists you already have, best first, each hit an id and optionally a score). " +
                 "Methods: rrf (reciprocal rank fusion, k=60), borda, combsum and combmnz (min-max normalized scores), " +
                 "minmax and zscore (alpha * first + (1 - alpha) * second, exactly two inputs). Returns the fused top k.")]
    public Task<McpFuseResult> Fuse(
        [Description("Fusion method: rrf, borda, combsum, combmnz, minmax or zscore.")] string method = "rrf",
        [Description("With `pipelines`: the query to run them on.")] string? query = null,
        [Description("Pipelines to run and fuse, e.g. [\"bm25\", \"dense(model=arctic-xs)\"].")] string[]? pipelines = null,
        [Description("Ranked lists to fuse instead of pipelines, best first.")] McpRankedHit[][]? runs = null,
        [Description("How many fused documents to return.")] int k = 10,
        [Description("For minmax and zscore: the weight of the first input, 0 to 1.")] double alpha = 0.5,
        CancellationToken cancellation = default) => Guard(async () =>
    {
        var m = FuseStage.ParseMethod(method ?? "") ?? throw new McpException($"method: '{Shown(method ?? "")}' is not one of {FuseStage.MethodNames}");
        if (k < 1 || k > s.Options.MaxK) throw new McpException($"k: must be between 1 and {s.Options.MaxK}, found {k}");
        if (!double.IsFinite(alpha) || alpha is < 0 or > 1) throw new McpException($"alpha: must be from 0 to 1, found {alpha}");
        bool interpolates = m is FusionMethod.MinMax or FusionMethod.ZScore;
        int inputs = (pipelines?.Length ?? 0) + (runs?.Length ?? 0);
        if ((pipelines is null) == (runs is null)) throw new McpException("give either pipelines (with query) or runs, not both and not neither");
        if (inputs < 2 || inputs > MaxFuseInputs) throw new McpException($"fuse needs from 2 to {MaxFuseInputs} inputs, found {inputs}");
        if (interpolates && inputs != 2) throw new McpException($"method {method}: interpolates exactly two inputs; use combsum for more");

        if (pipelines is not null)
        {
            var texts = new string[pipelines.Length];
            for (int i = 0; i < texts.Length; i++)
            {
                if (pipelines[i] is not { Length: > 0 and <= 1024 } p) throw new McpException($"pipelines[{i}]: a pipeline of 1 to 1024 characters");
                texts[i] = s.Pipeline(p); // each input must be one the operator offers
            }
            CheckQuery(query);
            string fused = $"fuse({method},{string.Join(',', texts)}{(interpolates ? $",alpha={alpha.ToString(System.Globalization.CultureInfo.InvariantCulture)}" : "")})";
            var r = await Endpoints.Search(s, new SearchRequest(query, k), fused, cancellation);
            return new McpFuseResult(r.Pipeline, Hits(r));
        }

        var lists = new IReadOnlyList<Hit>[runs!.Length];
        for (int i = 0; i < lists.Length; i++)
        {
            var run = runs[i] ?? throw new McpException($"runs[{i}]: a list of hits");
            if (run.Length > MaxFuseListLength) throw new McpException($"runs[{i}]: {run.Length} hits; at most {MaxFuseListLength} per list");
            var list = new List<Hit>(run.Length);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (int j = 0; j < run.Length; j++)
            {
                if (run[j]?.Id is not { Length: > 0 } id) throw new McpException($"runs[{i}][{j}].id: required");
                if (!seen.Add(id)) throw new McpException($"runs[{i}][{j}].id: '{Shown(id)}' appears twice in the list");
                double score = run[j].Score ?? run.Length - j; // rank order when no scores are given
                if (!double.IsFinite(score)) throw new McpException($"runs[{i}][{j}].score: not a finite number");
                list.Add(new Hit(id, (float)score));
            }
            lists[i] = list;
        }
        var fusedHits = FuseStage.Fuse(m, lists, 60, alpha, null, MaxFuseListLength, Normalization.MinMax);
        int n = Math.Min(k, fusedHits.Count);
        var result = new McpHit[n];
        for (int i = 0; i < n; i++) result[i] = new McpHit(i + 1, fusedHits[i].Id, fusedHits[i].Score, null, null, null);
        return new McpFuseResult($"{method} over {lists.Length} given runs", result);
    });

    [McpServerTool(Name = "evaluate", Title = "Evaluate a run", ReadOnly = true, Idempotent = true, OpenWorld = false)]
    [Description("Evaluates a TREC run (lines `qid Q0 docid rank score tag`) against relevance judgments with trec_eval's " +
                 "exact measures: give the qrels as TREC qrels text (`qid 0 docid grade`) or name a dataset this machine holds " +
                 "(e.g. scifact: its test qrels). Returns each measure's mean over the judged queries (trec_eval's default).")]
    public Task<McpEvaluation> Evaluate(
        [Description("The run, as TREC run text.")] string run,
        [Description("Relevance judgments as TREC qrels text (or use dataset).")] string? qrels = null,
        [Description("Instead of qrels: a dataset name whose test qrels to use (only datasets already on this machine).")] string? dataset = null,
        [Description("trec_eval measure names, e.g. ndcg_cut_10, recall_100, map, P_10, recip_rank. Default: ndcg_cut_10, recall_100, map.")]
        string[]? measures = null,
        [Description("Also return every query's values.")] bool perQuery = false,
        CancellationToken cancellation = default) => Guard(() =>
    {
        if (string.IsNullOrWhiteSpace(run)) throw new McpException("run: required (TREC run text)");
        if (run.Length > MaxEvaluateChars) throw new McpException($"run: {run.Length} characters; the limit is {MaxEvaluateChars}");
        if ((qrels is null) == (dataset is null)) throw new McpException("give either qrels (TREC qrels text) or dataset (a name), not both and not neither");
        Qrels judged;
        if (qrels is not null)
        {
            if (qrels.Length > MaxEvaluateChars) throw new McpException($"qrels: {qrels.Length} characters; the limit is {MaxEvaluateChars}");
            judged = Qrels.Parse(new StringReader(qrels), "qrels");
        }
        else
        {
            if (!IsDatasetName(dataset!)) throw new McpException($"dataset: '{Shown(dataset!)}' is not a dataset name (letters, digits, '-', '_', '.')");
            var found = DatasetLocator.TryResolveLocal(dataset!) ?? throw new McpException($"dataset: '{dataset}' is not on this machine");
            judged = found.ReadQrels();
        }
        cancellation.ThrowIfCancellationRequested();
        var trec = TrecRun.Parse(new StringReader(run), "run");
        var names = measures is { Length: > 0 } ? measures : ["ndcg_cut_10", "recall_100", "map"];
        if (names.Length > 64) throw new McpException($"measures: {names.Length} measures; at most 64");
        var result = new Evaluator(judged).Evaluate(trec, names);
        var means = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var name in result.Measures) means[name] = Math.Round(result.Aggregate(name), 4);
        return Task.FromResult(new McpEvaluation(result.QueryIds.Count, means, perQuery ? result.PerQuery : null));
    });

    [McpServerTool(Name = "explain", Title = "Explain a score", ReadOnly = true, Idempotent = true, OpenWorld = false)]
    [Description("Explains one document's score for a query: its rank and what the score is made of, as the stage that gave " +
                 "it computes it: bm25/ql each query term's contribution (they sum to the score); fuse each input's share (they sum " +
                 "to the score) with the input's own explanation; dense the cosine attributed to document and query tokens, words " +
                 "and sentences (layer-wise relevance propagation); rerankers their own score.")]
    public Task<McpExplanation> Explain(
        [Description("The query.")] string query,
        [Description("The document's id.")] string id,
        [Description("The pipeline (default: the server's default).")] string? pipeline = null,
        [Description("How deep to look for the document in the ranking (1 to the server's k limit).")] int depth = 1000,
        CancellationToken cancellation = default) => Guard(async () =>
    {
        CheckQuery(query);
        if (string.IsNullOrEmpty(id)) throw new McpException("id: required");
        if (depth < 1 || depth > s.Options.MaxK) throw new McpException($"depth: must be between 1 and {s.Options.MaxK}, found {depth}");
        string p = s.Pipeline(pipeline);
        var found = await s.WithinBudget("explanation", cancellation, budget => s.Index.ExplainAsync(query, p, id, depth, budget));
        if (found is not var (rank, hit, explanation))
            return new McpExplanation(id, p, null, null, $"'{Shown(id)}' is not in the top {depth} of {p} for this query", null);
        string note = explanation is null ? $"{p}'s last stage explains nothing: only its rank and score are known" : explanation.Note ?? "the terms' scores sum to the score";
        return new McpExplanation(id, p, rank, hit.Score, note, explanation);
    });

    [McpServerTool(Name = "index_info", Title = "Describe the index", ReadOnly = true, Idempotent = true, OpenWorld = false)]
    [Description("Describes the served index: documents, segments or shards, analyzer, the pipelines this server offers " +
                 "(the first is the default), whether the ask tool is available, and the typed fields a search may filter on.")]
    public Task<McpIndexInfo> IndexInfo(CancellationToken cancellation = default) => Guard(async () =>
    {
        var st = await s.Index.StatusAsync(withSize: false);
        var choices = s.Choices();
        var pipelines = new McpPipeline[choices.Count];
        for (int i = 0; i < pipelines.Length; i++) pipelines[i] = new McpPipeline(choices[i].Pipeline, choices[i].Label);
        return new McpIndexInfo(s.Index.Description, st.Documents, st.Generation, st.Analyzer, s.Index.IsSharded, pipelines,
            s.Allowed is null ? "any pipeline the index can run" : "only the pipelines listed", s.Index.CanAnswer) { Fields = await s.Index.TypedFieldsAsync(cancellation) };
    });

    /// <summary>A search's hits as the tools return them.</summary>
    private static McpHit[] Hits(SearchResponse r)
    {
        var hits = new McpHit[r.Hits.Count];
        for (int i = 0; i < hits.Length; i++)
        {
            var h = r.Hits[i];
            hits[i] = new McpHit(h.Rank, h.Id, h.Score, h.Title, h.Snippet, h.Stages);
        }
        return hits;
    }

    /// <summary>Runs a tool body; the API's and the core's refusals become MCP tool errors with their message.</summary>
    internal static async Task<T> Guard<T>(Func<Task<T>> body)
    {
        try
        {
            return await body();
        }
        catch (ApiException e)
        {
            throw new McpException(e.Message, e);
        }
        catch (RelevoException e)
        {
            throw new McpException(e.Message, e);
        }
    }

    /// <summary>The query checks of the API, named as the tools name the argument.</summary>
    private void CheckQuery(string? query)
    {
        if (query is null) throw new McpException("query: required");
        if (string.IsNullOrWhiteSpace(query)) throw new McpException("query: empty query");
        if (query.Length > s.Options.MaxQueryChars) throw new McpException($"query: {query.Length} characters; the limit is {s.Options.MaxQueryChars}");
    }

    private static bool IsDatasetName(string name)
    {
        if (name.Length is 0 or > 64 || name[0] == '.') return false;
        foreach (char c in name)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')) return false;
        return true;
    }

    internal static string Shown(string s) => s.Length <= 60 ? s : s[..60] + "…";
}

/// <summary>The <c>ask</c> tool, offered only when the operator gave an LLM endpoint.</summary>
[McpServerToolType]
internal sealed class McpAskTool(ServerContext s)
{
    [McpServerTool(Name = "ask", Title = "Answer a question", ReadOnly = true, Idempotent = false, OpenWorld = true)]
    [Description("Answers a question from the index's passages with an LLM, citing them as [id]: retrieves `depth` " +
                 "passages, keeps those the LLM rates at least `threshold` (0-10, at most `passages`), and answers. Returns " +
                 "the answer, the ids it cites, citations it made up (removed), and the passages read.")]
    public Task<AskResponse> Ask(
        [Description("The question.")] string question,
        [Description("The retrieval pipeline (default: the server's default).")] string? pipeline = null,
        [Description("Passages retrieved (1-100).")] int depth = 20,
        [Description("Most passages kept for the answer (1-20).")] int passages = 5,
        [Description("Least relevance (0-10) a passage needs to be kept.")] double threshold = 5,
        [Description("Rounds of retrieve-then-answer (1-3).")] int iterations = 1,
        CancellationToken cancellation = default) =>
        McpTools.Guard(() => Endpoints.Ask(s, new AskRequest(question, pipeline, depth, passages, threshold, iterations), cancellation));
}
