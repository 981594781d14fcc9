using Relevo.Search;

namespace Relevo.Pipelines;

/// <summary>What flows between stages: the current query (text, analysed terms after feedback, or a vector) and the
/// ranking so far.</summary>
public sealed record PipelineState(PipelineQuery Query, Ranking? Ranking);

/// <summary>A query as a pipeline carries it. Feedback replaces <see cref="Terms"/> (sparse) or <see cref="Vector"/>
/// (dense); a stage that rewrites the text (query expansion) starts a new query.</summary>
public sealed record PipelineQuery(string Text)
{
    /// <summary>The query for <paramref name="text"/> read with <paramref name="syntax"/> (a syntax error names its
    /// column); clauses whose words the index's analyzer removes entirely are left out as Lucene's parser leaves them.</summary>
    /// <param name="schema">The index's schema (which keys are text, so dropped when they analyse to nothing); null:
    /// title and text only (a coordinator of shards).</param>
    internal static PipelineQuery Read(string text, QuerySyntax syntax, Analysis.Analyzer analyzer, Relevo.Index.Values.Schema? schema = null)
    {
        if (syntax == QuerySyntax.Plain || syntax == QuerySyntax.Auto && !Search.Syntax.QueryParser.UsesSyntax(text)) return new PipelineQuery(text);
        try
        {
            return new PipelineQuery(text) { Structured = Search.Syntax.QueryParser.Parse(text,
                (field, words) => Search.Structured.StructuredQuery.IsTextField(field, schema) && analyzer.Terms(words).Count == 0) };
        }
        catch (Search.Syntax.QuerySyntaxException e) when (syntax == QuerySyntax.Auto)
        {
            // natural text that looked like syntax: say how to search it as typed
            throw new Search.Syntax.QuerySyntaxException(e.Column,
                e.Message[(e.Message.IndexOf(": ", StringComparison.Ordinal) + 2)..] + " (read in the Lucene syntax because the text uses some; ask for plain words, syntax plain, to search it as typed)");
        }
    }

    /// <summary>Weighted analysed terms set by feedback (RM3, Rocchio); null: the text's analysed terms.</summary>
    internal Query? Terms { get; init; }

    /// <summary>The text read as a query in the Lucene classic syntax, when it is one (<see cref="QuerySyntax"/>); null:
    /// a bag of words.</summary>
    internal Search.Syntax.QueryNode? Structured { get; init; }

    /// <summary>A query vector set by vector feedback; null: the text's embedding.</summary>
    public float[]? Vector { get; init; }

    /// <summary>A filter over typed fields in the Lucene syntax (<c>year:[2015 TO 2020] AND lang:en</c>) that every
    /// retriever applies inside its search; null: none. Set by the search's options or a <c>filter(...)</c> stage.</summary>
    public string? Filter { get; init; }
}

/// <summary>A ranked list of hits, and each stage's own scores for them as columns: <see cref="StageScores"/>(s)[i]
/// is stage s's score for hit i, NaN where that stage did not score the document (a reranker that saw only the head,
/// a fused input that did not retrieve it).</summary>
public sealed class Ranking
{
    private readonly Hit[] _hits;
    private readonly string[] _stages;
    private readonly float[][] _columns;

    internal Ranking(Hit[] hits, string[] stages, float[][] columns)
    {
        _hits = hits;
        _stages = stages;
        _columns = columns;
    }

    /// <summary>The hits, best first.</summary>
    public IReadOnlyList<Hit> Hits => _hits;
    internal Hit[] HitArray => _hits;
    /// <summary>How many hits.</summary>
    public int Count => _hits.Length;

    /// <summary>The stages that scored, in pipeline order (a name repeated in one pipeline gets " #2", ...).</summary>
    public IReadOnlyList<string> Stages => _stages;

    /// <summary>One stage's score for each hit (NaN where it did not score the hit).</summary>
    public ReadOnlySpan<float> StageScores(int stage) => _columns[stage];

    /// <summary>The column of the stage named <paramref name="stage"/>, or -1.</summary>
    internal int ColumnOf(string stage) => Array.IndexOf(_stages, stage);

    /// <summary>This ranking, same hits in the same order, with more columns (names made unique).</summary>
    internal Ranking WithColumns(IReadOnlyList<(string Name, float[] Values)> added)
    {
        var stages = new List<string>(_stages);
        var columns = new List<float[]>(_columns);
        foreach (var (name, values) in added)
        {
            stages.Add(UniqueName(name, stages));
            columns.Add(values);
        }
        return new Ranking(_hits, [.. stages], [.. columns]);
    }

    /// <summary>The first k hits.</summary>
    public Ranking Cut(int k)
    {
        if (_hits.Length <= k) return this;
        var columns = new float[_columns.Length][];
        for (int s = 0; s < columns.Length; s++) columns[s] = _columns[s][..k];
        return new Ranking(_hits[..k], _stages, columns);
    }

    /// <summary>A retriever's hits as a ranking: its own scores form a new column, and the columns of the ranking before
    /// it (if any) are carried over for the documents it retrieved again.</summary>
    internal static Ranking Retrieved(string stage, Hit[] hits, Ranking? before)
    {
        var own = new float[hits.Length];
        for (int i = 0; i < hits.Length; i++) own[i] = hits[i].Score;
        if (before is null || before._stages.Length == 0) return new Ranking(hits, [stage], [own]);
        var columns = before.Realign(hits);
        return before.With(hits, columns, stage, own);
    }

    /// <summary>The columns of this ranking for <paramref name="hits"/> (matched by document id; NaN where absent).</summary>
    internal float[][] Realign(Hit[] hits)
    {
        var at = new Dictionary<string, int>(_hits.Length, StringComparer.Ordinal);
        for (int i = 0; i < _hits.Length; i++) at.TryAdd(_hits[i].Id, i);
        var columns = new float[_columns.Length][];
        for (int s = 0; s < columns.Length; s++)
        {
            var from = _columns[s];
            var to = columns[s] = new float[hits.Length];
            for (int i = 0; i < hits.Length; i++) to[i] = at.TryGetValue(hits[i].Id, out int j) ? from[j] : float.NaN;
        }
        return columns;
    }

    /// <summary>A ranking of <paramref name="hits"/> with this one's stage names, the given (aligned) columns, and one
    /// more stage column.</summary>
    internal Ranking With(Hit[] hits, float[][] columns, string stage, float[] own)
    {
        var stages = new string[_stages.Length + 1];
        _stages.CopyTo(stages, 0);
        stages[^1] = UniqueName(stage, _stages);
        var all = new float[columns.Length + 1][];
        columns.CopyTo(all, 0);
        all[^1] = own;
        return new Ranking(hits, stages, all);
    }

    /// <summary>This ranking reordered: hit <c>order[i]</c> comes i-th, with score <c>scores[i]</c>; the columns move
    /// with their hits, and <paramref name="own"/> (the stage's own scores in the new order) is added under
    /// <paramref name="stage"/>.</summary>
    internal Ranking Reordered(int[] order, float[] scores, string stage, float[] own)
    {
        var hits = new Hit[order.Length];
        for (int i = 0; i < order.Length; i++) hits[i] = _hits[order[i]] with { Score = scores[i] };
        var columns = new float[_columns.Length][];
        for (int s = 0; s < columns.Length; s++)
        {
            var from = _columns[s];
            var to = columns[s] = new float[order.Length];
            for (int i = 0; i < order.Length; i++) to[i] = from[order[i]];
        }
        return With(hits, columns, stage, own);
    }

    /// <summary>The rankings of several sub-pipelines' stages side by side (fusion): the inputs' columns, realigned to
    /// <paramref name="hits"/>, then the fusing stage's own column.</summary>
    internal static Ranking Fused(IReadOnlyList<Ranking?> inputs, Hit[] hits, string stage)
    {
        var names = new List<string>();
        var columns = new List<float[]>();
        foreach (var r in inputs)
        {
            if (r is null) continue;
            var realigned = r.Realign(hits);
            for (int s = 0; s < r._stages.Length; s++)
            {
                names.Add(UniqueName(r._stages[s], names));
                columns.Add(realigned[s]);
            }
        }
        var own = new float[hits.Length];
        for (int i = 0; i < hits.Length; i++) own[i] = hits[i].Score;
        names.Add(UniqueName(stage, names));
        columns.Add(own);
        return new Ranking(hits, [.. names], [.. columns]);
    }

    internal static string UniqueName(string name, IReadOnlyCollection<string> existing)
    {
        string candidate = name;
        for (int i = 2; existing.Contains(candidate); i++) candidate = $"{name} #{i}";
        return candidate;
    }
}
