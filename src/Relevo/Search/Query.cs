using Relevo.Analysis;

namespace Relevo.Search;

/// <summary>A weighted bag of analyzed terms. Parsed from text, each term weighs its count (a term typed twice
/// weighs twice, as in Anserini's bag-of-words query); feedback (RM3, Rocchio) produces fractional weights.
/// The weight multiplies the term's score, like a Lucene BoostQuery.</summary>
internal sealed class Query
{
    public IReadOnlyList<(string Term, float Weight)> Terms { get; }
    public string Text { get; }

    /// <summary>The query in the Lucene classic syntax when it was written in it (<see cref="Terms"/> are then its
    /// words outside excluded clauses): bm25 matches and scores by the tree; retrievers that take a bag of words read
    /// <see cref="Terms"/>.</summary>
    public Syntax.QueryNode? Structured { get; init; }

    public Query(string text, IReadOnlyList<(string Term, float Weight)> terms)
    {
        Text = text;
        Terms = terms;
    }

    /// <summary>The terms and their weights as two arrays (how a request to a shard carries them).</summary>
    public (string[] Terms, float[] Weights) ToArrays()
    {
        var terms = new string[Terms.Count];
        var weights = new float[terms.Length];
        for (int i = 0; i < terms.Length; i++) (terms[i], weights[i]) = Terms[i];
        return (terms, weights);
    }

    /// <summary>A query of given terms and weights (what <see cref="ToArrays"/> gave).</summary>
    public static Query FromArrays(string[] terms, float[] weights)
    {
        var weighted = new (string Term, float Weight)[terms.Length];
        for (int i = 0; i < terms.Length; i++) weighted[i] = (terms[i], weights[i]);
        return new Query(string.Join(' ', terms), weighted);
    }

    public static Query Parse(string text, Analyzer analyzer)
    {
        if (string.IsNullOrWhiteSpace(text))
            throw new RelevoException("empty query");
        var terms = new List<(string Term, float Weight)>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var t in analyzer.Terms(text))
        {
            if (index.TryGetValue(t, out int i)) terms[i] = (t, terms[i].Weight + 1);
            else { index[t] = terms.Count; terms.Add((t, 1)); }
        }
        return new Query(text, terms);
    }

    /// <summary>A pre-encoded query, as learned sparse queries come (Anserini's "term term term" lines, where a repeated
    /// term weighs its count, or "term^weight" pairs): white-space separated terms, taken as they are, each with an
    /// optional "^weight" suffix (a positive number; without one, 1); repeated terms add their weights. A token whose
    /// text after its last '^' is not a number is a term as it stands (SPLADE vocabularies hold "^").</summary>
    public static Query ParseWeighted(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
            throw new RelevoException("empty query");
        var terms = new List<(string Term, float Weight)>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var token in text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            string term = token;
            float weight = 1;
            int caret = token.LastIndexOf('^');
            if (caret > 0 && caret < token.Length - 1 &&
                float.TryParse(token.AsSpan(caret + 1), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out float w))
            {
                if (!(w > 0) || float.IsInfinity(w))
                    throw new RelevoException($"query term '{token}': the weight after '^' must be a positive number");
                term = token[..caret];
                weight = w;
            }
            if (index.TryGetValue(term, out int i)) terms[i] = (term, terms[i].Weight + weight);
            else { index[term] = terms.Count; terms.Add((term, weight)); }
        }
        return new Query(text, terms);
    }

    /// <summary>"term^weight term ..." for display and run names.</summary>
    public override string ToString() =>
        string.Join(' ', Terms.Select(t => t.Weight == 1 ? t.Term : FormattableString.Invariant($"{t.Term}^{t.Weight:0.####}")));
}
