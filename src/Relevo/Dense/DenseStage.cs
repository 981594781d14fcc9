using System.Globalization;
using Relevo.Evaluation;
using Relevo.Search;

namespace Relevo.Dense;

/// <summary>The parameters of a <c>dense(model=arctic-xs[, int8=true][, oversample=4])</c> pipeline stage.</summary>
public sealed record DenseStageSpec(string Model, bool Int8 = false, int Oversample = 4)
{
    /// <summary>Parses the stage text; false if the text is not a dense stage at all, RelevoException if it is a
    /// malformed one.</summary>
    public static bool TryParse(string text, out DenseStageSpec spec)
    {
        spec = null!;
        string t = text.Trim();
        if (!t.StartsWith("dense", StringComparison.Ordinal)) return false;
        string rest = t[5..].Trim();
        if (rest.Length == 0) throw new RelevoException($"pipeline '{text}': dense needs model=NAME, e.g. dense(model=arctic-xs)");
        if (rest[0] != '(' || rest[^1] != ')') return false;
        string? model = null;
        bool int8 = false;
        int oversample = 4;
        foreach (string part in rest[1..^1].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = part.IndexOf('=');
            if (eq <= 0) throw new RelevoException($"pipeline '{text}': '{part}' is not name=value");
            string key = part[..eq].Trim(), value = part[(eq + 1)..].Trim();
            switch (key)
            {
                case "model": model = value; break;
                case "int8":
                    if (!bool.TryParse(value, out int8)) throw new RelevoException($"pipeline '{text}': int8 must be true or false, not '{value}'");
                    break;
                case "oversample":
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out oversample) || oversample < 1)
                        throw new RelevoException($"pipeline '{text}': oversample must be a positive integer, not '{value}'");
                    break;
                default: throw new RelevoException($"pipeline '{text}': unknown dense parameter '{key}' (model, int8, oversample)");
            }
        }
        if (string.IsNullOrEmpty(model)) throw new RelevoException($"pipeline '{text}': dense needs model=NAME, e.g. dense(model=arctic-xs)");
        spec = new DenseStageSpec(model, int8, oversample);
        return true;
    }

    public DenseSearchOptions SearchOptions => new() { Int8 = Int8, Oversample = Oversample };

    public override string ToString() => Int8 ? $"dense(model={Model},int8=true,oversample={Oversample})" : $"dense(model={Model})";
}

/// <summary>Runs many queries through a <see cref="DenseSearcher"/>: queries are embedded in batches (length-sorted,
/// as passages are), then searched in parallel; the run is the same for any thread count.</summary>
public static class DenseQueryBatch
{
    public static TrecRun Run(DenseSearcher searcher, IReadOnlyList<(string Id, string Text)> queries, int k,
        int threads = 1, string tag = "dense", Action<int>? progress = null)
    {
        int dims = searcher.Dimensions;
        var texts = new string[queries.Count];
        for (int i = 0; i < texts.Length; i++) texts[i] = queries[i].Text;
        var vectors = new float[texts.Length * dims];
        // embedding is most of the work: report it as the first half
        searcher.Encoder.EmbedQueries(texts, vectors, n => progress?.Invoke(n / 2));
        var results = new IReadOnlyList<SearchHit>[queries.Count];
        int done = 0;
        Parallel.For(0, queries.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) }, i =>
        {
            results[i] = searcher.Search(vectors.AsSpan(i * dims, dims), k);
            int n = Interlocked.Increment(ref done);
            if (progress is not null && (n & 15) == 0) progress(queries.Count / 2 + n / 2);
        });
        var run = new TrecRun(tag);
        for (int i = 0; i < queries.Count; i++)
        {
            var ranked = new (string DocId, double Score)[results[i].Count];
            for (int j = 0; j < ranked.Length; j++) ranked[j] = (results[i][j].DocId, results[i][j].Score);
            run.AddRanking(queries[i].Id, ranked);
        }
        progress?.Invoke(queries.Count);
        return run;
    }
}
