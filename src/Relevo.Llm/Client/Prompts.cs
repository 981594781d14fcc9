using System.Globalization;
using System.Text;
using Relevo.Index;

namespace Relevo.Llm;

/// <summary>A criterion beyond topical relevance and its weight (REBEL), e.g. relevance:1, recency:0.3.</summary>
internal sealed record Criterion(string Name, double Weight);

/// <summary>The prompts of the LLM stages, and the parsing of their replies (tolerant: identifiers anywhere in the
/// text, repairs of missing and duplicate ones).</summary>
internal static class Prompts
{
    public const int PassageWords = Document.PassageWords;

    /// <summary>A document as prompts show it: "title: text", cut to <paramref name="maxWords"/> words, on one line.</summary>
    public static string Passage(Document doc, int maxWords = PassageWords) => doc.Passage(maxWords);

    public static bool IsPlainRelevance(IReadOnlyList<Criterion> criteria) =>
        criteria.Count == 1 && criteria[0].Name == "relevance";

    /// <summary>"relevance to the query" or "relevance (weight 1), recency (weight 0.3)".</summary>
    public static string Criteria(IReadOnlyList<Criterion> criteria) =>
        IsPlainRelevance(criteria)
            ? "relevance to the query"
            : "these criteria, weighted: " + string.Join(", ", criteria.Select(c => $"{c.Name} (weight {c.Weight.ToString("0.###", CultureInfo.InvariantCulture)})"));

    public static string Pointwise(string query, string passage, string criterion) =>
        $"Query: {query}\nPassage: {passage}\n\n" +
        $"On a scale from 0 (not at all) to 10 (perfectly), how well does the passage satisfy the query by {criterion}? " +
        "Answer with the number only.";

    public static string Listwise(string query, IReadOnlyList<string> passages, IReadOnlyList<Criterion> criteria, bool letters)
    {
        var sb = new StringBuilder();
        sb.Append($"I will provide you with {passages.Count} passages, each indicated by an identifier []. ");
        sb.Append($"Rank the passages by {Criteria(criteria)}.\nSearch query: {query}\n\n");
        for (int i = 0; i < passages.Count; i++) sb.Append('[').Append(Id(i, letters)).Append("] ").Append(passages[i]).Append('\n');
        sb.Append($"\nSearch query: {query}\nRank the {passages.Count} passages above, most relevant first. ");
        sb.Append(letters
            ? "Answer with the identifiers only, in the format A > C > B, starting with the best identifier."
            : "Answer with the identifiers only, in the format [2] > [1] > [3].");
        return sb.ToString();
    }

    public static string Setwise(string query, IReadOnlyList<string> passages, IReadOnlyList<Criterion> criteria, bool reasoning)
    {
        var sb = new StringBuilder();
        sb.Append($"Search query: {query}\nWhich of these passages is the best by {Criteria(criteria)}?\n\n");
        for (int i = 0; i < passages.Count; i++) sb.Append('[').Append(i + 1).Append("] ").Append(passages[i]).Append('\n');
        sb.Append(reasoning
            ? "\nThink briefly inside <think></think>, then give the best identifier inside <answer></answer>, e.g. <answer>[2]</answer>."
            : "\nAnswer with the identifier of the best passage only, e.g. [2].");
        return sb.ToString();
    }

    public static string Groupwise(string query, IReadOnlyList<string> passages, IReadOnlyList<Criterion> criteria)
    {
        var sb = new StringBuilder();
        sb.Append($"Search query: {query}\nScore each passage from 0 (not at all) to 10 (perfectly) by {Criteria(criteria)}, " +
                  "comparing the passages with each other.\n\n");
        for (int i = 0; i < passages.Count; i++) sb.Append('[').Append(i + 1).Append("] ").Append(passages[i]).Append('\n');
        sb.Append("\nAnswer with one line per passage, in the format [1]: 7");
        return sb.ToString();
    }

    /// <summary>LATTICE navigation: the children of a frontier node of the semantic tree (topic summaries or passages),
    /// and anchors scored before, judged together on one scale.</summary>
    public static string LatticeJudge(string query, IReadOnlyList<string> items)
    {
        var sb = new StringBuilder();
        sb.Append($"Search query: {query}\nBelow are entries of a topic tree over a document collection: each is either a summary of a " +
                  "group of documents or a single passage. Score each entry from 0 (no relevant document there) to 10 (certainly " +
                  "contains or is a passage that answers the query).\n\n");
        for (int i = 0; i < items.Count; i++) sb.Append('[').Append(i + 1).Append("] ").Append(items[i]).Append('\n');
        sb.Append("\nAnswer with one line per entry, in the format [1]: 7");
        return sb.ToString();
    }

    /// <summary>A node summary for the semantic tree, from its children's summaries or passages.</summary>
    public static string TreeSummary(IReadOnlyList<string> children)
    {
        var sb = new StringBuilder();
        sb.Append("Summarize what these documents or topics have in common in at most 50 words, naming the subjects, entities " +
                  "and questions a searcher would look for in them. Write only the summary.\n\n");
        for (int i = 0; i < children.Count; i++) sb.Append('[').Append(i + 1).Append("] ").Append(children[i]).Append('\n');
        sb.Append("\nSummary:");
        return sb.ToString();
    }

    public static string Expand(string query) =>
        $"Write a short passage (about 100 words) that answers this query, as an encyclopedia or a scientific abstract would.\n" +
        $"Query: {query}\nPassage:";

    /// <summary>The expansion prompt with feedback passages (PromptPRF): the top passages of the first retrieval, which
    /// the model may draw on where they are relevant.</summary>
    public static string ExpandWithFeedback(string query, IReadOnlyList<string> passages)
    {
        var sb = new System.Text.StringBuilder();
        sb.Append("Write a short passage (about 100 words) that answers this query, as an encyclopedia or a scientific abstract would. ");
        sb.Append("These passages were retrieved for the query: use what in them is relevant and ignore the rest.\n");
        for (int i = 0; i < passages.Count; i++) sb.Append('[').Append(i + 1).Append("] ").Append(passages[i]).Append('\n');
        sb.Append("Query: ").Append(query).Append("\nPassage:");
        return sb.ToString();
    }

    public static string Id(int i, bool letters) => letters ? ((char)('A' + i)).ToString() : (i + 1).ToString(CultureInfo.InvariantCulture);

    /// <summary>A permutation of 0..n-1 from a reply such as "[3] > [1] > [2]": identifiers in order of first
    /// appearance, out-of-range and repeated ones skipped, missing ones appended in their incoming order.
    /// <paramref name="repaired"/> says whether anything had to be fixed.</summary>
    public static int[] ParsePermutation(string text, int n, bool letters, out bool repaired)
    {
        var seen = new bool[n];
        var order = new List<int>(n);
        repaired = false;
        foreach (int id in Identifiers(text, letters))
        {
            if (id < 0 || id >= n) { repaired = true; continue; }
            if (seen[id]) { repaired = true; continue; }
            seen[id] = true;
            order.Add(id);
        }
        for (int i = 0; i < n; i++)
            if (!seen[i]) { order.Add(i); repaired = true; }
        return order.ToArray();
    }

    /// <summary>0-based identifiers in the text: numbers (1-based in the text) or single capital letters.</summary>
    public static IEnumerable<int> Identifiers(string text, bool letters)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (letters)
            {
                char c = text[i];
                bool alone = (i == 0 || !char.IsLetterOrDigit(text[i - 1])) && (i + 1 == text.Length || !char.IsLetterOrDigit(text[i + 1]));
                if (c is >= 'A' and <= 'Z' && alone && InChain(text, i)) yield return c - 'A';
            }
            else if (char.IsAsciiDigit(text[i]))
            {
                int j = i, v = 0;
                while (j < text.Length && char.IsAsciiDigit(text[j]) && j - i < 6) v = v * 10 + (text[j++] - '0');
                yield return v - 1;
                i = j - 1;
            }
        }
    }

    /// <summary>Whether a lone capital letter is part of a ranking ("C > A", "[C]") rather than prose ("I think"):
    /// in brackets, or next to a '>' (spaces aside), or the whole reply.</summary>
    private static bool InChain(string text, int i)
    {
        int before = i - 1, after = i + 1;
        if (before >= 0 && text[before] == '[' && after < text.Length && text[after] == ']') return true;
        while (before >= 0 && text[before] is ' ' or '[') before--;
        while (after < text.Length && text[after] is ' ' or ']') after++;
        return (before < 0 && after >= text.Length) || (before >= 0 && text[before] == '>') || (after < text.Length && text[after] == '>');
    }

    /// <summary>The first whole number in the text within [min, max], or null.</summary>
    public static int? FirstNumber(string text, int min, int max)
    {
        foreach (int id in Identifiers(text, false))
            if (id + 1 >= min && id + 1 <= max) return id + 1;
        return null;
    }

    /// <summary>A token as an identifier: "[3", " 3", "C" → 2; null when it is none.</summary>
    public static int? TokenIdentifier(string token, bool letters)
    {
        string t = token.Trim().TrimStart('[').TrimEnd(']').Trim();
        if (t.Length == 0) return null;
        if (letters) return t.Length == 1 && t[0] is >= 'A' and <= 'Z' ? t[0] - 'A' : null;
        return int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v - 1 : null;
    }
}
