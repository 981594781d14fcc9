using Relevo.Analysis;

namespace Relevo.Search;

/// <summary>A bag-of-words query: the analyzed terms with their counts, in order of first appearance.
/// A term that occurs twice weighs twice, as in Anserini's bag-of-words query generator.</summary>
public sealed class Query
{
    public IReadOnlyList<(string Term, int Count)> Terms { get; }
    public string Text { get; }

    private Query(string text, List<(string, int)> terms)
    {
        Text = text;
        Terms = terms;
    }

    public static Query Parse(string text, Analyzer analyzer)
    {
        if (string.IsNullOrWhiteSpace(text))
            throw new RelevoException("empty query");
        var terms = new List<(string Term, int Count)>();
        foreach (var t in analyzer.Terms(text))
        {
            int i = terms.FindIndex(x => x.Term == t);
            if (i >= 0) terms[i] = (t, terms[i].Count + 1);
            else terms.Add((t, 1));
        }
        return new Query(text, terms);
    }
}
