namespace Relevo.Dense;

/// <summary>A document cut into overlapping windows of whole sentences, each prefixed with the title, for passage-level
/// scoring (MaxP: a document scores as its best passage, as in Dai and Callan's BERT-MaxP). Sentences end at '.', '!'
/// or '?' followed by white space and a capital letter or digit, unless the word before is a common abbreviation or a
/// single letter (initials, "e.g.").</summary>
internal static class PassageWindows
{
    /// <summary>The most windows one document gives (the rest of a very long text is not scored).</summary>
    public const int MaxWindows = 64;

    private static readonly HashSet<string> Abbreviations = new(StringComparer.OrdinalIgnoreCase)
    {
        "al", "fig", "figs", "vs", "dr", "mr", "mrs", "ms", "prof", "no", "ref", "refs", "approx", "ca", "cf", "eq", "st", "etc", "resp", "sp", "spp",
    };

    /// <summary>Windows of <paramref name="sentences"/> sentences with a stride of half a window (rounded up), so that
    /// every sentence is in at least one window and neighbours share one.</summary>
    public static List<string> Of(Document doc, int sentences)
    {
        var parts = Sentences(doc.Text);
        var windows = new List<string>();
        if (parts.Count == 0)
        {
            windows.Add(DenseIndexer.PassageText(doc));
            return windows;
        }
        int stride = Math.Max(1, (sentences + 1) / 2);
        for (int start = 0; windows.Count < MaxWindows; start += stride)
        {
            int end = Math.Min(parts.Count, start + sentences);
            windows.Add(DenseIndexer.PassageText(doc with { Text = string.Join(' ', parts.GetRange(start, end - start)) }));
            if (end >= parts.Count) break;
        }
        return windows;
    }

    /// <summary>The text's sentences, trimmed, none empty.</summary>
    public static List<string> Sentences(string text)
    {
        var result = new List<string>();
        foreach (var (start, end) in SentenceSpans(text)) result.Add(text[start..end]);
        return result;
    }

    /// <summary>Where the text's sentences are: [start, end) of each, trimmed, none empty.</summary>
    public static List<(int Start, int End)> SentenceSpans(string text)
    {
        var result = new List<(int, int)>();
        int start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] is not ('.' or '!' or '?') || i + 1 >= text.Length || !char.IsWhiteSpace(text[i + 1])) continue;
            int next = i + 1;
            while (next < text.Length && char.IsWhiteSpace(text[next])) next++;
            if (next >= text.Length || !(char.IsUpper(text[next]) || char.IsDigit(text[next]))) continue;
            if (text[i] == '.' && IsAbbreviation(text, i)) continue;
            Add(result, text, start, i + 1);
            start = next;
        }
        Add(result, text, start, text.Length);
        return result;
    }

    private static bool IsAbbreviation(string text, int dot)
    {
        int begin = dot;
        while (begin > 0 && char.IsLetter(text[begin - 1])) begin--;
        int length = dot - begin;
        if (length == 0) return false;
        if (length == 1) return true; // "J. Smith", "e.g.", "i.e."
        return Abbreviations.Contains(text.Substring(begin, length));
    }

    private static void Add(List<(int, int)> result, string text, int from, int to)
    {
        while (from < to && char.IsWhiteSpace(text[from])) from++;
        while (to > from && char.IsWhiteSpace(text[to - 1])) to--;
        if (to > from) result.Add((from, to));
    }
}
