namespace Relevo.Evaluation;

/// <summary>Per-query values and aggregates of one run; values are stored per measure as arrays aligned with
/// <see cref="QueryIds"/>.</summary>
public sealed class EvaluationResult
{
    private readonly Measure[] _measures;
    private readonly string[] _queryIds;
    private readonly double[][] _values; // [measure][query]
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
    private IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>>? _perQuery;

    internal EvaluationResult(string runTag, Measure[] measures, string[] queryIds, double[][] values, EvaluationOptions options)
    {
        RunTag = runTag;
        _measures = measures;
        _queryIds = queryIds;
        _values = values;
        Options = options;
        for (int i = 0; i < measures.Length; i++) _index[measures[i].Name] = i;
        Measures = Array.ConvertAll(measures, m => m.Name);
    }

    /// <summary>Tag of the evaluated run.</summary>
    public string RunTag { get; }

    /// <summary>The options the run was evaluated with.</summary>
    public EvaluationOptions Options { get; }

    /// <summary>Canonical trec_eval names, in request order, e.g. "ndcg_cut_10".</summary>
    public IReadOnlyList<string> Measures { get; }

    /// <summary>Parsed measures, aligned with <see cref="Measures"/>.</summary>
    internal IReadOnlyList<Measure> MeasureSpecs => _measures;

    /// <summary>The evaluated queries in trec_eval order (ordinal order of query ids).</summary>
    public IReadOnlyList<string> QueryIds => _queryIds;

    /// <summary>Mean over the evaluated queries (with AllQueries: over all qrels queries). Accepts canonical or
    /// short names (nDCG@10). For count measures (num_rel_ret, ...) this is the mean; see <see cref="Aggregate"/>.</summary>
    public double Mean(string measure)
    {
        double[] v = Values(measure);
        if (v.Length == 0) return 0.0;
        double sum = 0.0;
        for (int i = 0; i < v.Length; i++) sum += v[i];
        return sum / v.Length;
    }

    /// <summary>The figure trec_eval prints on its "all" line: the mean, or the sum for count measures
    /// (num_rel_ret, num_ret, num_rel).</summary>
    public double Aggregate(string measure)
    {
        var m = _measures[IndexOf(measure)];
        if (!m.IsCount) return Mean(measure);
        double sum = 0.0;
        foreach (double x in Values(measure)) sum += x;
        return sum;
    }

    /// <summary>Per-query values of a measure aligned with <see cref="QueryIds"/> (do not modify).</summary>
    public double[] Values(string measure) => _values[IndexOf(measure)];

    /// <summary>Value of one measure for one query.</summary>
    public double Value(string measure, string qid)
    {
        int q = Array.BinarySearch(_queryIds, qid, StringComparer.Ordinal);
        if (q < 0) throw new KeyNotFoundException($"query '{qid}' was not evaluated");
        return _values[IndexOf(measure)][q];
    }

    /// <summary>measure → qid → value, canonical measure names.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> PerQuery => _perQuery ??= BuildPerQuery();

    private Dictionary<string, IReadOnlyDictionary<string, double>> BuildPerQuery()
    {
        var d = new Dictionary<string, IReadOnlyDictionary<string, double>>(StringComparer.Ordinal);
        for (int m = 0; m < _measures.Length; m++)
        {
            var inner = new Dictionary<string, double>(_queryIds.Length, StringComparer.Ordinal);
            for (int q = 0; q < _queryIds.Length; q++) inner[_queryIds[q]] = _values[m][q];
            d[_measures[m].Name] = inner;
        }
        return d;
    }

    private int IndexOf(string measure)
    {
        if (_index.TryGetValue(measure, out int i)) return i;
        if (Measure.TryParse(measure, out var parsed) && _index.TryGetValue(parsed.Name, out i)) return i;
        throw new KeyNotFoundException($"measure '{measure}' was not evaluated (evaluated: {string.Join(", ", Measures)})");
    }
}
