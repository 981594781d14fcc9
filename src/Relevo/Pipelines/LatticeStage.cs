using Relevo.Index.Trees;
using Relevo.Search;

namespace Relevo.Pipelines;

/// <summary>Scores texts for a query on 0–10 (an LLM judging a list in one call): registered by the LLM layer when it
/// has an endpoint, so the core's <c>lattice(llm=true)</c> navigates without referencing it. Null where the reply
/// gave no score for an item.</summary>
internal interface ILatticeJudge
{
    ValueTask<double?[]> JudgeAsync(string query, IReadOnlyList<string> texts, CancellationToken cancellation);
}

/// <summary>A query's embedding by the model an index's vectors (and tree) were made with: registered by the dense
/// layer, so the core's <c>lattice</c> can navigate by centroid similarity without referencing it.</summary>
internal interface IQueryEmbedder
{
    float[] EmbedQuery(string model, string text);
}

/// <summary>lattice(beam=4[,llm=true][,alpha=0.5][,rounds=N][,anchors=2]): LLM-guided hierarchical retrieval
/// (LATTICE) over the index's semantic tree (<c>relevo tree build</c>). With llm=true the LLM judges the children of
/// the frontier nodes (summaries, then passages) and the search calibrates its judgements into path relevance
/// (<see cref="LatticeSearch"/>); without, the navigator is cosine similarity between the query's embedding and node
/// centroids (documents: their stored vectors) — the baseline. Returns the documents reached, by path relevance. Runs on
/// one local index (a sharded index has no tree).</summary>
internal sealed class LatticeStage(LatticeOptions options, bool llm) : Stage
{
    /// <summary>Where no LLM endpoint was given (the LLM layer registers the judge only with one).</summary>
    public const string NoJudge = "lattice(llm=true) navigates with an LLM: pass --llm ENDPOINT --llm-model NAME " +
        "(e.g. --llm http://127.0.0.1:11434/v1 --llm-model qwen2.5:7b) or set RELEVO_LLM_ENDPOINT and RELEVO_LLM_MODEL; lattice(beam=4) navigates by embeddings";

    public LatticeOptions Options { get; } = options;
    public bool Llm { get; } = llm;

    public override string Text =>
        $"lattice(beam={Options.Beam}" + (Llm ? ",llm=true" : "") + (Options.Alpha != 0.5 ? $",alpha={Num(Options.Alpha)}" : "") +
        (Options.Rounds != 0 ? $",rounds={Options.Rounds}" : "") + (Options.Anchors != 2 ? $",anchors={Options.Anchors}" : "") + ")";

    public static Stage Build(StageSyntax s)
    {
        s.Accept("beam", "llm", "alpha", "rounds", "anchors");
        s.NoPositional();
        return new LatticeStage(new LatticeOptions(s.Int("beam", 4, 1, LatticeOptions.MaxBeam), s.Float("alpha", 0.5f, 0, 0.99f),
            s.Int("rounds", 0, 0, LatticeOptions.MaxRounds), s.Int("anchors", 2, 0, 8)), s.Bool("llm", false));
    }

    public override async ValueTask<PipelineState> RunAsync(PipelineState state, StageContext context, int depth)
    {
        var reader = context.Target.LocalReader
            ?? throw new RelevoException("lattice: a sharded index has no semantic tree; search one index folder");
        var view = TreeReader.For(reader)
            ?? throw new RelevoException($"lattice: {reader.Directory} has no semantic tree; build one with: relevo tree build --index {reader.Directory} --model arctic-xs");
        ILatticeNavigator navigator = Llm
            ? new JudgeNavigator(context.TryGetService<ILatticeJudge>() ?? throw new RelevoException(NoJudge), state.Query.Text, view, context)
            : new EmbeddingNavigator(state.Query.Vector ?? context.GetService<IQueryEmbedder>().EmbedQuery(view.Tree.Model, state.Query.Text),
                view, context);
        var result = await LatticeSearch.RunAsync(view, navigator, Options, depth, context.Cancellation).ConfigureAwait(false);
        var hits = new Hit[result.Documents.Count];
        for (int i = 0; i < hits.Length; i++)
        {
            var (d, score) = result.Documents[i];
            hits[i] = new Hit(view.Tree.DocIds[d], (float)score, view.Segment[d], view.Doc[d]);
        }
        return state with { Ranking = Ranking.Retrieved("lattice", hits, state.Ranking) };
    }

    private static Hit HitOf(TreeReader view, int doc) => new(view.Tree.DocIds[doc], 0, view.Segment[doc], view.Doc[doc]);

    /// <summary>Cosine similarity mapped to [0, 1]: (1 + cos) / 2; documents by their stored vectors, fetched where
    /// they live.</summary>
    private sealed class EmbeddingNavigator(float[] query, TreeReader view, StageContext context) : ILatticeNavigator
    {
        private readonly float[] _query = view.Tree.Dimension == query.Length
            ? TreeBuilder.Normalized(query)
            : throw new RelevoException($"lattice: the tree's vectors have {view.Tree.Dimension} dimensions, the query's {query.Length}");

        public bool NeedsCalibration => false;

        public async ValueTask<double[]> ScoreAsync(IReadOnlyList<int> items, CancellationToken cancellation)
        {
            var scores = new double[items.Count];
            var docs = new List<Hit>();
            var at = new List<int>();
            for (int i = 0; i < items.Count; i++)
            {
                if (items[i] >= 0) scores[i] = (1 + System.Numerics.Tensors.TensorPrimitives.Dot(view.Tree.Centroid(items[i]), _query)) / 2;
                else
                {
                    docs.Add(HitOf(view, ~items[i]));
                    at.Add(i);
                }
            }
            if (docs.Count == 0) return scores;
            var rows = await context.Target.FetchAsync(DocumentOperations.StoredVector, view.Tree.Model, docs, cancellation).ConfigureAwait(false);
            for (int j = 0; j < rows.Length; j++)
            {
                if (rows[j] is not { } bytes) { scores[at[j]] = double.NaN; continue; }
                var v = TreeBuilder.Normalized(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes));
                scores[at[j]] = (1 + System.Numerics.Tensors.TensorPrimitives.Dot<float>(v, _query)) / 2;
            }
            return scores;
        }
    }

    /// <summary>The LLM judges a list: nodes by their summaries, documents by their passages; 0–10 becomes [0, 1].</summary>
    private sealed class JudgeNavigator(ILatticeJudge judge, string query, TreeReader view, StageContext context) : ILatticeNavigator
    {
        public bool NeedsCalibration => true;

        public async ValueTask<double[]> ScoreAsync(IReadOnlyList<int> items, CancellationToken cancellation)
        {
            var texts = new string[items.Count];
            var docs = new List<Hit>();
            var at = new List<int>();
            for (int i = 0; i < items.Count; i++)
            {
                if (items[i] >= 0) texts[i] = view.Tree.Summaries[items[i]];
                else
                {
                    docs.Add(HitOf(view, ~items[i]));
                    at.Add(i);
                }
            }
            if (docs.Count > 0)
            {
                var stored = await context.Target.DocumentsAsync(docs, cancellation).ConfigureAwait(false);
                for (int j = 0; j < stored.Length; j++) texts[at[j]] = stored[j] is { } d ? PassageText(d) : "";
            }
            var grades = await judge.JudgeAsync(query, texts, cancellation).ConfigureAwait(false);
            var scores = new double[items.Count];
            for (int i = 0; i < scores.Length; i++) scores[i] = grades[i] is { } g ? Math.Clamp(g / 10, 0, 1) : double.NaN;
            return scores;
        }
    }

    /// <summary>A document as the navigator shows it: as every LLM stage shows passages (<see cref="Document.Passage"/>).</summary>
    internal static string PassageText(Document d) => d.Passage();
}
