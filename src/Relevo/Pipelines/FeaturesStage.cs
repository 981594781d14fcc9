using Relevo.Index;

namespace Relevo.Pipelines;

/// <summary>features(f1, f2, ...): scores every candidate of the incoming ranking with each listed feature and adds
/// one column per feature (named <c>f:&lt;feature&gt;</c>) for <c>ltr(model=...)</c> and <c>relevo train</c>. The order
/// of the hits does not change. A feature is:
/// <list type="bullet">
/// <item>a retriever (<c>bm25</c>, <c>ql</c>, <c>dense(model=...)</c>): its exact score for each candidate, whether or
/// not the candidate is in that retriever's own top k (the candidates' postings entries are read, not whole lists);</item>
/// <item>a pipeline ending in a retriever (<c>bm25 &gt;&gt; rm3 &gt;&gt; bm25</c>): the stages before it run as usual
/// (feedback rewrites the query), then the retriever scores the candidates with the rewritten query;</item>
/// <item>a reranker (<c>rerank(dense(model=minilm), passages=3)</c>, <c>rerank(cross(model=...))</c>): its score for
/// every candidate, whatever its depth;</item>
/// <item><c>rank</c> and <c>score</c> (the incoming rank and score), <c>doclen</c> (the document's length in terms, as
/// its norm stores it), <c>qlen</c> (analysed query terms), <c>title</c> (the share of the query's terms in the
/// title), <c>bm25.title</c> and <c>bm25.text</c> (BM25 on each field alone, with that field's statistics).</item>
/// </list>
/// On a sharded index each candidate is scored on its shard with the collection-wide statistics, as the sharded search
/// scores (doclen reads norms, so it needs one index folder).</summary>
internal sealed class FeaturesStage(IReadOnlyList<FeaturesStage.Feature> features) : Stage
{
    public const string ColumnPrefix = "f:";
    public static readonly string[] BuiltIns = ["rank", "score", "doclen", "qlen", "title", "bm25.title", "bm25.text"];

    /// <summary>A pipeline feature (<see cref="Pipeline"/>) or a built-in one (<see cref="Name"/>).</summary>
    internal sealed record Feature(string Name, Stage? Pipeline);

    public IReadOnlyList<Feature> Features { get; } = features;

    public IReadOnlyList<string> Names => Features.Select(f => f.Name).ToList();

    public override IReadOnlyList<Stage> Children => Features.Where(f => f.Pipeline is not null).Select(f => f.Pipeline!).ToList();

    public override string Text => $"features({string.Join(',', Names)})";

    public static Stage Build(StageSyntax s)
    {
        s.Accept();
        if (s.PositionalCount == 0) throw s.Error(s.Column, "features needs at least one feature, e.g. features(bm25, ql, dense(model=arctic-xs), rank)");
        var list = new List<Feature>();
        for (int i = 0; i < s.PositionalCount; i++)
        {
            if (s.Word(i) is var (word, _) && Array.IndexOf(BuiltIns, word) >= 0)
            {
                list.Add(new Feature(word, null));
                continue;
            }
            var pipeline = s.Pipeline(i);
            if (LastRetriever(pipeline) is null && pipeline is not RerankStage)
                throw s.Error(s.PositionalColumn(i), $"features: '{pipeline.Text}' is neither a retriever, a pipeline ending in one, a reranker, nor one of {string.Join(", ", BuiltIns)}");
            list.Add(new Feature(pipeline.Text, pipeline));
        }
        var duplicate = list.GroupBy(f => f.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw s.Error(s.Column, $"features: '{duplicate.Key}' is listed twice");
        return new FeaturesStage(list);
    }

    private static RetrieverStage? LastRetriever(Stage pipeline) => pipeline switch
    {
        RetrieverStage r => r,
        SequenceStage { Stages: var stages } when stages[^1] is RetrieverStage r => r,
        _ => null,
    };

    public override async ValueTask<PipelineState> RunAsync(PipelineState state, StageContext context, int depth)
    {
        var ranking = state.Ranking ?? throw new RelevoException("features needs a ranking before it (e.g. bm25 >> features(bm25, ql))");
        var hits = ranking.Hits;
        var columns = new List<(string, float[])>(Features.Count);
        Document?[]? documents = null;
        foreach (var feature in Features)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            var values = new float[hits.Count];
            switch (feature.Name)
            {
                case "rank":
                    for (int i = 0; i < values.Length; i++) values[i] = i + 1;
                    break;
                case "score":
                    for (int i = 0; i < values.Length; i++) values[i] = hits[i].Score;
                    break;
                case "doclen":
                    var reader = context.Target.LocalReader ?? throw new RelevoException("features: doclen needs one index folder");
                    for (int i = 0; i < values.Length; i++) values[i] = SmallFloat.Byte4ToInt(reader.Segments[hits[i].Segment].Norms[hits[i].Doc]);
                    break;
                case "qlen":
                    Array.Fill(values, RetrieverStage.TermsOf(state.Query, context).Terms.Count);
                    break;
                case "title":
                    documents ??= await context.DocumentsAsync(hits).ConfigureAwait(false);
                    var queryTerms = new HashSet<string>(context.Analyze(state.Query.Text), StringComparer.Ordinal);
                    for (int i = 0; i < values.Length; i++)
                    {
                        if (queryTerms.Count == 0 || documents[i] is not { } d) continue;
                        var title = new HashSet<string>(context.Analyze(d.Title), StringComparer.Ordinal);
                        int shared = 0;
                        foreach (var t in queryTerms) if (title.Contains(t)) shared++;
                        values[i] = (float)shared / queryTerms.Count;
                    }
                    break;
                case "bm25.title" or "bm25.text":
                    var commit = context.Target.LocalReader ?? throw new RelevoException($"features: {feature.Name} needs one index folder");
                    var stats = await Search.FieldStatistics.ForAsync(commit, context.Cancellation).ConfigureAwait(false);
                    var field = feature.Name == "bm25.title" ? stats.Title : stats.Text;
                    var query = RetrieverStage.TermsOf(state.Query, context).Terms;
                    documents ??= await context.DocumentsAsync(hits).ConfigureAwait(false);
                    for (int i = 0; i < values.Length; i++)
                        if (documents[i] is { } doc)
                            values[i] = Search.FieldStatistics.Score(field, query, context.Analyzer.Terms(feature.Name == "bm25.title" ? doc.Title : doc.Text),
                                new Search.Similarities.Bm25Parameters());
                    break;
                default:
                    values = feature.Pipeline is RerankStage reranker
                        ? await reranker.ScoreAllAsync(state.Query.Text, hits, context).ConfigureAwait(false)
                        : await ScoreAsync(feature.Pipeline!, state, context, depth, hits).ConfigureAwait(false);
                    break;
            }
            columns.Add((ColumnPrefix + feature.Name, values));
        }
        return state with { Ranking = ranking.WithColumns(columns) };
    }

    /// <summary>A pipeline feature's scores: the stages before its retriever run on the incoming query (feedback reads
    /// the incoming ranking only if the pipeline retrieves first), then the retriever scores the candidates.</summary>
    private static async ValueTask<float[]> ScoreAsync(Stage pipeline, PipelineState state, StageContext context, int depth, IReadOnlyList<Hit> hits)
    {
        var retriever = LastRetriever(pipeline)!;
        var query = state.Query;
        if (pipeline is SequenceStage sequence)
        {
            var before = new PipelineState(state.Query, null);
            for (int i = 0; i < sequence.Stages.Count - 1; i++) before = await context.RunAsync(sequence.Stages[i], before, depth).ConfigureAwait(false);
            query = before.Query;
        }
        var request = await retriever.PrepareRequestAsync(query, context).ConfigureAwait(false);
        return await context.Target.ScoreAsync(retriever, request, hits, context.Cancellation).ConfigureAwait(false);
    }
}

/// <summary>ltr(model=DIR): reorders the incoming ranking by a learned model (<c>relevo train</c>) over the feature
/// columns a <c>features(...)</c> stage before it added. The features must be the ones the model was trained on, in
/// the same order; anything else is refused, naming the difference.</summary>
internal sealed class LtrStage(string path, Learning.RankingModel model) : Stage
{
    public string Path { get; } = path;
    public Learning.RankingModel Model { get; } = model;

    public override string Text => $"ltr(model={Path})";

    public static Stage Build(StageSyntax s)
    {
        s.Accept("model");
        s.NoPositional();
        string path = s.String("model") ?? throw s.Error(s.Column, "ltr needs model=DIR (a folder relevo train wrote)");
        try
        {
            return new LtrStage(path, Learning.RankingModel.Read(s.Registry.ModelPath(path)));
        }
        catch (RelevoException e)
        {
            throw s.Error(s.ColumnOf("model"), e.Message);
        }
    }

    public override ValueTask<PipelineState> RunAsync(PipelineState state, StageContext context, int depth)
    {
        var ranking = state.Ranking ?? throw new RelevoException($"ltr needs features before it: {Model.Pipeline} >> {Model.Features} >> ltr(model={Path})");
        var names = Model.FeatureNames;
        var features = new List<string>();
        var stages = new List<string>();
        foreach (var column in ranking.Stages)
            if (column.StartsWith(FeaturesStage.ColumnPrefix, StringComparison.Ordinal)) features.Add(column[FeaturesStage.ColumnPrefix.Length..]);
            else stages.Add(column);
        if (!features.SequenceEqual(names))
            throw new RelevoException($"ltr: the model {Path} was trained on {Model.Features}, but the ranking has " +
                (features.Count == 0 ? "no features" : $"features({string.Join(',', features)})") + "; compute the same features in the same order");
        if (!stages.SequenceEqual(Model.Stages))
            throw new RelevoException($"ltr: the model {Path} was trained on candidates of '{Model.Pipeline}' (scores {string.Join(", ", Model.Stages)}), " +
                $"but these come from scores {string.Join(", ", stages)}; rerank what the model was trained on: {Model.Pipeline} >> {Model.Features} >> ltr(model={Path})");
        var at = new int[names.Count];
        for (int f = 0; f < names.Count; f++) at[f] = ranking.ColumnOf(FeaturesStage.ColumnPrefix + names[f]);
        var rows = new float[ranking.Count][];
        for (int i = 0; i < rows.Length; i++)
        {
            rows[i] = new float[names.Count];
            for (int f = 0; f < names.Count; f++) rows[i][f] = ranking.StageScores(at[f])[i];
        }
        var scores = Model.Score(rows);
        var order = new int[rows.Length];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        Array.Sort(order, (a, b) => scores[a] != scores[b] ? scores[b].CompareTo(scores[a]) : a.CompareTo(b));
        var sorted = new float[order.Length];
        for (int i = 0; i < order.Length; i++) sorted[i] = (float)scores[order[i]];
        return ValueTask.FromResult(state with { Ranking = ranking.Reordered(order, sorted, "ltr", sorted) });
    }
}
