using Relevo.Analysis;

namespace Relevo.Search;

/// <summary>A weighted bag of analyzed terms. Parsed from text, each term weighs its count (a term typed twice
/// weighs twice, as in Anserini's bag-of-words query); feedback (RM3, Rocchio) produces fractional weights.
/// The weight multiplies the term's score, like a Lucene BoostQuery.</summary>
internal sealed class Query
{
    public IReadOnlyList<(string Term, float Weight)> Terms { get; }
    public string Text { get; }

    public Query(string text, IReadOnlyList<(string Term, float Weight)> terms)
    {
        Text = text;
        Terms = terms;
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

    /// <summary>"term^weight term ..." for display and run names.</summary>
    public override string ToString() =>
        string.Join(' ', Terms.Select(t => t.Weight == 1 ? t.Term : FormattableString.Invariant($"{t.Term}^{t.Weight:0.####}")));
}
