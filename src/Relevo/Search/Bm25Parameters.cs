namespace Relevo.Search;

/// <summary>BM25 k1 and b; the defaults are Anserini's (k1 = 0.9, b = 0.4).</summary>
public readonly record struct Bm25Parameters(float K1 = Bm25Scorer.DefaultK1, float B = Bm25Scorer.DefaultB)
{
    public Bm25Parameters() : this(Bm25Scorer.DefaultK1, Bm25Scorer.DefaultB) { }

    public override string ToString() =>
        FormattableString.Invariant($"bm25(k1={K1},b={B})");
}

public static class Bm25ParametersText
{
    /// <summary>Parses "bm25" or "bm25(k1=1.2,b=0.75)". The general pipeline language builds on the same form.</summary>
    public static Bm25Parameters Parse(string text)
    {
        string t = text.Trim();
        if (t == "bm25") return new Bm25Parameters();
        if (!t.StartsWith("bm25(", StringComparison.Ordinal) || !t.EndsWith(')'))
            throw new RelevoException($"pipeline '{text}': unknown stage; available: bm25, bm25(k1=..,b=..)");
        float k1 = Bm25Scorer.DefaultK1, b = Bm25Scorer.DefaultB;
        foreach (var part in t[5..^1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var kv = part.Split('=', 2, StringSplitOptions.TrimEntries);
            if (kv.Length != 2 || !float.TryParse(kv[1], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out float v))
                throw new RelevoException($"pipeline '{text}': expected name=number, found '{part}'");
            switch (kv[0])
            {
                case "k1": k1 = v; break;
                case "b": b = v; break;
                default: throw new RelevoException($"pipeline '{text}': bm25 has no parameter '{kv[0]}' (k1, b)");
            }
        }
        if (k1 < 0 || b < 0 || b > 1) throw new RelevoException($"pipeline '{text}': need k1 >= 0 and 0 <= b <= 1");
        return new Bm25Parameters(k1, b);
    }
}
