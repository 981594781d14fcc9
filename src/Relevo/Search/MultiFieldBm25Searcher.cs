using System.Globalization;
using Relevo.Index;
using Relevo.Index.Fields;
using Relevo.Search.Similarities;

namespace Relevo.Search;

/// <summary>One field of a multi-field search and its boost.</summary>
internal readonly record struct FieldBoost(string Field, float Boost)
{
    public override string ToString() => Boost == 1 ? Field : Field + "^" + Boost.ToString("0.####", CultureInfo.InvariantCulture);

    /// <summary>"title^2" or "text": a text field with an optional positive boost.</summary>
    public static FieldBoost Parse(string item)
    {
        int caret = item.IndexOf('^');
        string field = caret < 0 ? item : item[..caret];
        float boost = 1;
        if (caret >= 0 && (!float.TryParse(item.AsSpan(caret + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out boost) || !(boost > 0) || float.IsInfinity(boost)))
            throw new RelevoException($"'{item}': the boost after '^' must be a positive number");
        // which fields are text is the index's to say (title, text, keys its schema declares text): checked at search
        if (field == "contents")
            throw new RelevoException("'contents' is the concatenated field, which bm25 without fields searches; name text fields (title, text, keys declared text)");
        if (field.Length == 0 || field.Length > 256 || field.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            throw new RelevoException($"'{field}' is not a field name");
        return new FieldBoost(field, boost);
    }
}

/// <summary>BM25 over several text fields, as Anserini's multi-field search (Pyserini's <c>fields</c>) scores: a
/// document's score is the sum over the fields of the field's boost times its BM25 score for the query, each field with
/// its own statistics (documents with the field, average field length, per-term document frequency) and its own length
/// norms. Each (field, term) pair is one scored term of the <see cref="Weight{TScorer}"/>, reading the field's postings,
/// so the same MaxScore / block-max WAND pruning applies and returns what exhaustive scoring returns.</summary>
internal sealed class MultiFieldBm25Searcher
{
    private readonly FieldView[] _views;
    private readonly Bm25Similarity[] _similarities;

    /// <param name="statisticsOf">Each field's collection-wide statistics (a shard of a sharded index); null: the commit's own.</param>
    public MultiFieldBm25Searcher(IndexReader reader, IReadOnlyList<FieldBoost> fields, Bm25Parameters parameters,
        Func<string, ICollectionStatistics>? statisticsOf = null)
    {
        if (fields.Count == 0) throw new RelevoException("multi-field BM25 needs at least one field");
        Reader = reader;
        Fields = fields;
        Parameters = parameters;
        _views = new FieldView[fields.Count];
        _similarities = new Bm25Similarity[fields.Count];
        for (int i = 0; i < fields.Count; i++)
        {
            _views[i] = FieldView.Of(reader, fields[i].Field);
            _similarities[i] = new Bm25Similarity(parameters, statisticsOf?.Invoke(fields[i].Field) ?? _views[i]);
        }
    }

    public IndexReader Reader { get; }
    public IReadOnlyList<FieldBoost> Fields { get; }
    public Bm25Parameters Parameters { get; }

    /// <summary>How the top k is found; every choice returns the same documents and scores.</summary>
    public PruningAlgorithm Algorithm { get; init; } = PruningAlgorithm.MaxScore;

    /// <summary>This thread's weight for the query: its terms in every field, field by field.</summary>
    private Weight<Bm25TermScorer> WeightOf(Query query)
    {
        var w = Weight<Bm25TermScorer>.ForThread();
        w.IntegerWeights = false;
        for (int f = 0; f < _views.Length; f++)
        {
            int field = w.AddField(_views[f].Segments);
            foreach (var (term, weight) in query.Terms)
                if (_similarities[f].TryGetScorer(term, Fields[f].Boost * weight, out var scorer)) w.Add(term, scorer, field);
        }
        return w;
    }

    /// <summary>The top k as global document numbers and scores, best first (ties by smaller document number).</summary>
    public int SearchDocs(Query query, int k, Span<int> docs, Span<float> scores, PruningAlgorithm? algorithm = null,
        float floor = float.NegativeInfinity, SharedBound? shared = null, Filters.DocFilter? filter = null)
    {
        if (k <= 0) throw new RelevoException("k must be at least 1");
        return WeightOf(query).Search(Reader, k, algorithm ?? Algorithm, docs, scores, floor, shared, filter);
    }

    /// <summary>The top k documents.</summary>
    public IReadOnlyList<Hit> Search(Query query, int k, PruningAlgorithm? algorithm = null) =>
        Reader.TopHits(k, (docs, scores) => SearchDocs(query, k, docs, scores, algorithm));

    /// <summary>The exact scores of given documents of this commit.</summary>
    public void ScoreDocs(Query query, ReadOnlySpan<int> segment, ReadOnlySpan<int> doc, Span<float> scores) =>
        WeightOf(query).ScoreDocs(Reader.Segments, segment, doc, scores);

    /// <summary>Each (field, term) pair's contribution, named "field:term"; they add up to the score Search returns.</summary>
    public Explanation Explain(Query query, Hit hit)
    {
        var terms = new List<TermContribution>();
        double total = 0;
        for (int f = 0; f < _views.Length; f++)
        {
            var view = _views[f];
            var similarity = _similarities[f];
            var seg = view.Segments[hit.Segment];
            byte norm = seg.Norms[hit.Doc];
            var stats = similarity.Statistics;
            foreach (var (term, weight) in query.Terms)
            {
                long df = stats.DocFreq(term);
                float boosted = Fields[f].Boost * weight;
                if (df == 0 || boosted <= 0) continue;
                float idf = Bm25Scorer.Idf(df, stats.DocCount);
                int tf = Bm25Searcher.TermFrequency(seg, term, hit.Doc);
                float contribution = tf == 0 ? 0f : Bm25Scorer.Score(boosted * idf, tf, similarity.NormInverse(norm));
                total += contribution;
                terms.Add(new TermContribution(view.Field + ":" + term, boosted, df, idf, tf, SmallFloat.Byte4ToInt(norm), similarity.AverageLength, contribution)
                {
                    DocCount = stats.DocCount,
                });
            }
        }
        return new Explanation(hit.Id, (float)total, "bm25") { K1 = Parameters.K1, B = Parameters.B, Terms = terms };
    }
}
