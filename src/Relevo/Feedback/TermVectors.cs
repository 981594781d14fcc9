using Relevo.Analysis;
using Relevo.Search;

namespace Relevo.Feedback;

/// <summary>Feedback documents as term-frequency vectors, with Anserini's feedback-term filter: 2 to 20 characters
/// of [a-z0-9] only, and no term that occurs in more than 10% of the documents (a df cut-off in place of a stop list).</summary>
internal static class TermVectors
{
    /// <summary>A document's term frequencies, from its stored text re-analysed (term vectors are not stored; the
    /// analyzer gives the same terms the index holds), in the order terms first occur. An absent document has none.</summary>
    public static Dictionary<string, float> Counts(Document? doc, Analyzer analyzer)
    {
        var tf = new Dictionary<string, float>(StringComparer.Ordinal);
        if (doc is not null)
            foreach (var t in analyzer.Terms(doc.IndexedText))
                tf[t] = tf.GetValueOrDefault(t) + 1;
        return tf;
    }

    /// <summary>The feedback terms of a document's counts (in their order): the term filter, and no term in more than
    /// 10% of the <paramref name="numDocs"/> live documents (<paramref name="docFreq"/> over the whole index).</summary>
    public static Dictionary<string, float> Filter(Dictionary<string, float> counts, IReadOnlyDictionary<string, long> docFreq, long numDocs)
    {
        var filtered = new Dictionary<string, float>(StringComparer.Ordinal);
        foreach (var (term, f) in counts)
        {
            if (!IsFeedbackTerm(term)) continue;
            if ((float)docFreq[term] / numDocs > 0.1f) continue;
            filtered[term] = f;
        }
        return filtered;
    }

    /// <summary>2 to 20 characters of [a-z0-9] (Anserini's feedback-term filter).</summary>
    public static bool IsFeedbackTerm(string term)
    {
        if (term.Length < 2 || term.Length > 20) return false;
        foreach (char c in term)
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
        return true;
    }

    /// <summary>The k heaviest terms (ties by term, ordinal), as a new vector.</summary>
    public static Dictionary<string, float> Prune(Dictionary<string, float> v, int k)
    {
        var list = new List<KeyValuePair<string, float>>(v);
        list.Sort((a, b) => a.Value != b.Value ? b.Value.CompareTo(a.Value) : string.CompareOrdinal(a.Key, b.Key));
        var pruned = new Dictionary<string, float>(StringComparer.Ordinal);
        for (int i = 0; i < Math.Min(k, list.Count); i++) pruned[list[i].Key] = list[i].Value;
        return pruned;
    }

    public static Dictionary<string, float> ScaleToUnitL1(Dictionary<string, float> v)
    {
        double sum = 0;
        foreach (var x in v.Values) sum += Math.Abs(x);
        var r = new Dictionary<string, float>(v.Count, StringComparer.Ordinal);
        foreach (var (t, x) in v) r[t] = sum > 0 ? (float)(x / sum) : 0f;
        return r;
    }

    public static Dictionary<string, float> ScaleToUnitL2(Dictionary<string, float> v)
    {
        double sum = 0;
        foreach (var x in v.Values) sum += (double)x * x;
        double norm = Math.Sqrt(sum);
        var r = new Dictionary<string, float>(v.Count, StringComparer.Ordinal);
        foreach (var (t, x) in v) r[t] = norm > 0 ? (float)(x / norm) : 0f;
        return r;
    }

    public static Dictionary<string, float> FromQuery(Query q)
    {
        var v = new Dictionary<string, float>(StringComparer.Ordinal);
        foreach (var (t, w) in q.Terms) v[t] = v.GetValueOrDefault(t) + w;
        return v;
    }

    /// <summary>A query from a term vector, heaviest terms first (ties by term) so the order is reproducible.</summary>
    public static Query ToQuery(string text, Dictionary<string, float> v)
    {
        var list = new List<(string, float)>();
        foreach (var kv in Prune(v, v.Count)) if (kv.Value > 0) list.Add((kv.Key, kv.Value));
        return new Query(text, list);
    }
}
