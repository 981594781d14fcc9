using System.Text.RegularExpressions;
using Relevo.Analysis;

namespace Relevo.Server;

/// <summary>Finds the words of a text whose analyzed form is a query term (so "cancers" lights up for "cancer"),
/// and cuts a snippet around the densest run of them. Returns plain text plus [start, length] ranges (UTF-16
/// offsets): the page wraps those ranges in &lt;mark&gt; as text nodes, so the text is never parsed as HTML.</summary>
internal sealed partial class Highlighter(Analyzer analyzer, IReadOnlyList<string> queryTerms)
{
    private readonly HashSet<string> _terms = new(queryTerms, StringComparer.Ordinal);
    private readonly Dictionary<string, bool> _seen = new(StringComparer.Ordinal);

    [GeneratedRegex(@"[\p{L}\p{N}]+(?:['’.][\p{L}\p{N}]+)*")]
    private static partial Regex Word();

    public (string Text, int[][] Highlights) Full(string text)
    {
        var ranges = new List<int[]>();
        foreach (var (start, length) in Matches(text)) ranges.Add([start, length]);
        return (text, ranges.ToArray());
    }

    /// <summary>At most about <paramref name="size"/> characters around the densest cluster of query words, cut at
    /// word boundaries, with "…" where text was left out.</summary>
    public (string Text, int[][] Highlights) Snippet(string text, int size = 280)
    {
        var matches = Matches(text);
        if (text.Length <= size) return Full(text);
        int bestStart = 0, bestCount = 0;
        for (int i = 0; i < matches.Count; i++)
        {
            int from = Math.Max(0, matches[i].Start - 40);
            int count = 0;
            for (int j = i; j < matches.Count && matches[j].Start + matches[j].Length <= from + size; j++) count++;
            if (count > bestCount) { bestCount = count; bestStart = from; }
        }
        int start = bestStart == 0 ? 0 : WordStartAfter(text, bestStart);
        int end = Math.Min(text.Length, start + size);
        if (end < text.Length) end = WordEndBefore(text, end, start);
        string prefix = start > 0 ? "… " : "";
        string suffix = end < text.Length ? " …" : "";
        string snippet = prefix + text[start..end] + suffix;
        var ranges = new List<int[]>();
        foreach (var (s, l) in matches)
            if (s >= start && s + l <= end) ranges.Add([s - start + prefix.Length, l]);
        return (snippet, ranges.ToArray());
    }

    private List<(int Start, int Length)> Matches(string text)
    {
        var found = new List<(int, int)>();
        if (_terms.Count == 0) return found;
        foreach (var m in Word().EnumerateMatches(text))
        {
            string word = text.Substring(m.Index, m.Length);
            if (!_seen.TryGetValue(word, out bool hit))
            {
                hit = false;
                foreach (var t in analyzer.Terms(word))
                    if (_terms.Contains(t)) { hit = true; break; }
                _seen[word] = hit;
            }
            if (hit) found.Add((m.Index, m.Length));
        }
        return found;
    }

    private static int WordStartAfter(string text, int i)
    {
        while (i < text.Length && !char.IsWhiteSpace(text[i - 1])) i++;
        return i < text.Length ? i : 0;
    }

    private static int WordEndBefore(string text, int end, int start)
    {
        int i = end;
        while (i > start && !char.IsWhiteSpace(text[i])) i--;
        return i > start ? i : end;
    }
}
