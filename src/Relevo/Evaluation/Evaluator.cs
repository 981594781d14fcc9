namespace Relevo.Evaluation;

/// <summary>Evaluates runs against qrels with trec_eval 9.x semantics: a run is re-sorted by score descending, ties
/// broken by document id in descending ordinal order; grades are nDCG gains; grade ≥ RelevanceLevel is relevant;
/// queries are averaged over those in both run and qrels (or all qrels queries with AllQueries). Thread-safe.</summary>
public sealed class Evaluator
{
    // trec_eval's markers for documents outside the pool and in the pool but unjudged (negative qrels grade)
    private const int NonPool = -1;
    private const int Unjudged = -2;

    private sealed class QueryJudgments
    {
        public required Dictionary<string, int> Grades;
        public required int NumRel;      // grade >= rel level
        public required int NumNonRel;   // 0 <= grade < rel level
        public required int[] IdealGains; // positive grades, descending
        public required DocTable Table;   // doc id -> grade, probed with FastHash
    }

    /// <summary>Open-addressing table of a query's judged documents, probed with a hash computed once per retrieved
    /// document (the same hash serves the duplicate check).</summary>
    internal sealed class DocTable
    {
        private readonly string?[] _keys;
        private readonly int[] _hashes;
        private readonly int[] _grades;
        private readonly int _mask;

        public DocTable(Dictionary<string, int> grades)
        {
            int size = 4;
            while (size < grades.Count * 2) size <<= 1;
            _keys = new string?[size];
            _hashes = new int[size];
            _grades = new int[size];
            _mask = size - 1;
            foreach (var (doc, g) in grades)
            {
                int h = FastHash(doc);
                int i = h & _mask;
                while (_keys[i] is not null) i = (i + 1) & _mask;
                _keys[i] = doc;
                _hashes[i] = h;
                _grades[i] = g;
            }
        }

        public bool TryGet(string doc, int hash, out int grade)
        {
            int i = hash & _mask;
            while (true)
            {
                string? k = _keys[i];
                if (k is null) break;
                if (_hashes[i] == hash && (ReferenceEquals(k, doc) || string.Equals(k, doc, StringComparison.Ordinal)))
                {
                    grade = _grades[i];
                    return true;
                }
                i = (i + 1) & _mask;
            }
            grade = 0;
            return false;
        }
    }

    /// <summary>FNV-1a over UTF-16 code units, finished with a multiply-shift mix: fast for short ids.</summary>
    internal static int FastHash(string s)
    {
        uint h = 2166136261;
        foreach (char c in s) h = (h ^ c) * 16777619;
        h ^= h >> 15;
        h *= 0x2c1b3c6d;
        h ^= h >> 12;
        return (int)h;
    }

    private readonly Qrels _qrels;
    private readonly Dictionary<string, QueryJudgments> _judgments = new(StringComparer.Ordinal);
    private readonly string[] _qrelsQueries;
    private readonly int _maxIdeal;

    /// <summary>An evaluator of runs against <paramref name="qrels"/>, with trec_eval's defaults unless
    /// <paramref name="options"/> say otherwise.</summary>
    public Evaluator(Qrels qrels, EvaluationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(qrels);
        _qrels = qrels;
        Options = options ?? new EvaluationOptions();
        _qrelsQueries = [.. qrels.QueryIds];
        int relLevel = Options.RelevanceLevel;
        foreach (string qid in _qrelsQueries)
        {
            var grades = qrels.JudgmentsOf(qid)!;
            int numRel = 0, numNonRel = 0, positive = 0;
            foreach (int g in grades.Values)
            {
                if (g >= relLevel && g >= 0) numRel++;
                else if (g >= 0) numNonRel++;
                if (g > 0) positive++;
            }
            var ideal = new int[positive];
            int k = 0;
            foreach (int g in grades.Values) if (g > 0) ideal[k++] = g;
            Array.Sort(ideal);
            Array.Reverse(ideal);
            _maxIdeal = Math.Max(_maxIdeal, positive);
            _judgments[qid] = new QueryJudgments { Grades = grades, NumRel = numRel, NumNonRel = numNonRel, IdealGains = ideal, Table = new DocTable(grades) };
        }
    }

    /// <summary>The qrels this evaluator judges with.</summary>
    public Qrels Qrels => _qrels;

    /// <summary>The relevance level and query set the evaluator uses.</summary>
    public EvaluationOptions Options { get; }

    /// <summary>Parses measure names (canonical or short), dropping repeats; throws RelevoException on an unknown one.</summary>
    internal static Measure[] ParseMeasures(IEnumerable<string> measures)
    {
        var list = new List<Measure>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string raw in measures)
            foreach (string part in raw.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var m = Measure.Parse(part);
                if (seen.Add(m.Name)) list.Add(m);
            }
        if (list.Count == 0) throw new RelevoException("no measure requested");
        return [.. list];
    }

    /// <summary>Evaluates a run for the named measures (trec_eval or short names, e.g. "ndcg_cut_10", "nDCG@10").</summary>
    public EvaluationResult Evaluate(TrecRun run, IEnumerable<string> measures) => Evaluate(run, ParseMeasures(measures));

    /// <summary>Evaluates a run for parsed measures.</summary>
    internal EvaluationResult Evaluate(TrecRun run, IReadOnlyList<Measure> measures)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(measures);
        var specs = new Measure[measures.Count];
        for (int i = 0; i < specs.Length; i++) specs[i] = measures[i];

        // queries: qrels order; those in the run, or all with AllQueries
        var queries = new List<string>(_qrelsQueries.Length);
        int maxLen = _maxIdeal;
        foreach (string qid in _qrelsQueries)
        {
            var r = run.RankingOf(qid);
            if (r is null && !Options.AllQueries) continue;
            queries.Add(qid);
            if (r is not null && r.Docs.Count > maxLen) maxLen = r.Docs.Count;
        }
        string[] qids = [.. queries];
        var log2 = new double[maxLen + 1];
        for (int i = 0; i < log2.Length; i++) log2[i] = Math.Log2(i + 2);

        var values = new double[specs.Length][];
        for (int m = 0; m < specs.Length; m++) values[m] = new double[qids.Length];

        var ctx = new Context(specs, log2, Options.RelevanceLevel);
        if (qids.Length < 64)
        {
            var ws = new Workspace();
            for (int q = 0; q < qids.Length; q++) EvaluateQuery(ctx, ws, run, qids[q], q, values);
        }
        else
        {
            Parallel.For(0, qids.Length, () => new Workspace(),
                (q, _, ws) => { EvaluateQuery(ctx, ws, run, qids[q], q, values); return ws; }, _ => { });
        }
        return new EvaluationResult(run.Tag, specs, qids, values, Options);
    }

    private sealed record Context(Measure[] Measures, double[] Log2, int RelLevel);

    private sealed class Workspace
    {
        public int[] Order = new int[1024];
        public double[] Keys = new double[1024];
        public int[] Rel = new int[1024];
        // duplicate check: open addressing with generation stamps, so nothing is cleared between queries
        public string?[] SeenKeys = new string?[4096];
        public int[] SeenHash = new int[4096];
        public int[] SeenStamp = new int[4096];
        public int Generation;

        /// <summary>Starts a new query's duplicate check sized for n documents.</summary>
        public void ResetSeen(int n)
        {
            if (SeenKeys.Length < n * 2)
            {
                int size = SeenKeys.Length;
                while (size < n * 2) size <<= 1;
                SeenKeys = new string?[size];
                SeenHash = new int[size];
                SeenStamp = new int[size];
                Generation = 0;
            }
            if (++Generation == int.MaxValue)
            {
                Array.Clear(SeenStamp);
                Generation = 1;
            }
        }

        /// <summary>Adds a document; false when it was already added for this query.</summary>
        public bool AddSeen(string doc, int hash)
        {
            int mask = SeenKeys.Length - 1;
            int i = hash & mask;
            while (SeenStamp[i] == Generation)
            {
                if (SeenHash[i] == hash && (ReferenceEquals(SeenKeys[i], doc) || string.Equals(SeenKeys[i], doc, StringComparison.Ordinal)))
                    return false;
                i = (i + 1) & mask;
            }
            SeenStamp[i] = Generation;
            SeenHash[i] = hash;
            SeenKeys[i] = doc;
            return true;
        }

        public void Ensure(int n)
        {
            if (Order.Length >= n) return;
            int size = Math.Max(n, Order.Length * 2);
            Order = new int[size];
            Keys = new double[size];
            Rel = new int[size];
        }
    }

    private void EvaluateQuery(Context ctx, Workspace ws, TrecRun run, string qid, int q, double[][] values)
    {
        var j = _judgments[qid];
        int n = BuildRelevance(ws, run, qid, j);
        var measures = ctx.Measures;
        for (int m = 0; m < measures.Length; m++)
            values[m][q] = Compute(measures[m], ws.Rel, n, j, ctx);
    }

    /// <summary>Sorts a query's ranking the trec_eval way and fills ws.Rel with grades (or NonPool / Unjudged);
    /// returns the number of retrieved documents.</summary>
    private static int BuildRelevance(Workspace ws, TrecRun run, string qid, QueryJudgments j)
    {
        var ranking = run.RankingOf(qid);
        int n = ranking?.Docs.Count ?? 0;
        ws.Ensure(n);
        int[] rel = ws.Rel;
        if (ranking is null || n == 0) return 0;
        var docs = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(ranking.Docs);
        var scores = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(ranking.Scores);
        var hashes = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(ranking.Hashes);
        int[] order = ws.Order;
        for (int i = 0; i < n; i++) order[i] = i;
        if (!IsTrecSorted(docs, scores)) SortTrec(docs, scores, order, ws.Keys, n);

        ws.ResetSeen(n);
        var table = j.Table;
        for (int i = 0; i < n; i++)
        {
            int o = order[i];
            string doc = docs[o];
            int h = hashes[o];
            if (!ws.AddSeen(doc, h))
                throw new RelevoException($"{run.Source ?? "run '" + run.Tag + "'"}: document '{doc}' appears twice for query '{qid}'");
            rel[i] = table.TryGet(doc, h, out int g) ? (g >= 0 ? g : Unjudged) : NonPool;
        }
        return n;
    }

    /// <summary>Interpolated precision at recall 0.0, 0.1, ..., 1.0 (trec_eval iprec_at_recall), averaged over
    /// the same queries as <see cref="Evaluate(TrecRun, IReadOnlyList{Measure})"/>: the points of a recall–precision curve.</summary>
    internal double[] InterpolatedPrecision(TrecRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var curve = new double[11];
        var ws = new Workspace();
        int queries = 0;
        var point = new double[11];
        foreach (string qid in _qrelsQueries)
        {
            if (run.RankingOf(qid) is null && !Options.AllQueries) continue;
            queries++;
            var j = _judgments[qid];
            int n = BuildRelevance(ws, run, qid, j);
            if (j.NumRel == 0) continue;
            Array.Clear(point);
            // as trec_eval: recall cutoff c becomes a count of relevant documents, (long)(c * R + 0.9); the value is
            // the best precision at any rank that has found at least that many
            int relSoFar = 0;
            for (int i = 0; i < n; i++)
            {
                if (ws.Rel[i] < Options.RelevanceLevel) continue;
                relSoFar++;
                double precision = relSoFar / (double)(i + 1);
                for (int k = 0; k < 11; k++)
                    if (relSoFar >= (long)(k / 10.0 * j.NumRel + 0.9) && precision > point[k]) point[k] = precision;
            }
            for (int k = 0; k < 11; k++) curve[k] += point[k];
        }
        if (queries > 0)
            for (int k = 0; k < 11; k++) curve[k] /= queries;
        return curve;
    }

    private static bool IsTrecSorted(ReadOnlySpan<string> docs, ReadOnlySpan<double> scores)
    {
        for (int i = 1; i < docs.Length; i++)
        {
            double a = scores[i - 1], b = scores[i];
            if (a > b) continue;
            if (a < b) return false;
            if (string.CompareOrdinal(docs[i - 1], docs[i]) <= 0) return false;
        }
        return true;
    }

    /// <summary>Orders by score descending, then document id descending (strcmp order, as trec_eval's qsort).</summary>
    private static void SortTrec(ReadOnlySpan<string> docs, ReadOnlySpan<double> scores, int[] order, double[] keys, int n)
    {
        for (int i = 0; i < n; i++) keys[i] = -scores[i];
        Array.Sort(keys, order, 0, n);
        int start = 0;
        while (start < n)
        {
            int end = start + 1;
            while (end < n && keys[end] == keys[start]) end++;
            if (end - start > 1)
            {
                // insertion sort for small tie groups, Array.Sort for large ones
                int len = end - start;
                if (len <= 16)
                {
                    for (int a = start + 1; a < end; a++)
                    {
                        int v = order[a];
                        string dv = docs[v];
                        int b = a - 1;
                        while (b >= start && string.CompareOrdinal(docs[order[b]], dv) < 0)
                        {
                            order[b + 1] = order[b];
                            b--;
                        }
                        order[b + 1] = v;
                    }
                }
                else
                {
                    var tieDocs = new string[len];
                    for (int a = 0; a < len; a++) tieDocs[a] = docs[order[start + a]];
                    tieDocs.AsSpan().Sort(order.AsSpan(start, len), DescendingOrdinal.Instance);
                }
            }
            start = end;
        }
    }

    private sealed class DescendingOrdinal : IComparer<string>
    {
        public static readonly DescendingOrdinal Instance = new();
        public int Compare(string? x, string? y) => string.CompareOrdinal(y, x);
    }

    private static double Compute(Measure measure, int[] rel, int n, QueryJudgments j, Context ctx)
    {
        int relLevel = ctx.RelLevel;
        int k = measure.Cutoff;
        switch (measure.Kind)
        {
            case MeasureKind.NdcgCut:
            {
                double[] log2 = ctx.Log2;
                int lim = Math.Min(k, n);
                double dcg = 0.0;
                for (int i = 0; i < lim; i++)
                    if (rel[i] > 0) dcg += rel[i] / log2[i];
                int[] ideal = j.IdealGains;
                int ilim = Math.Min(k, ideal.Length);
                double idcg = 0.0;
                for (int i = 0; i < ilim; i++) idcg += ideal[i] / log2[i];
                return idcg > 0.0 ? dcg / idcg : dcg;
            }
            case MeasureKind.Ndcg:
            {
                double[] log2 = ctx.Log2;
                double dcg = 0.0;
                for (int i = 0; i < n; i++)
                    if (rel[i] > 0) dcg += rel[i] / log2[i];
                int[] ideal = j.IdealGains;
                double idcg = 0.0;
                for (int i = 0; i < ideal.Length; i++) idcg += ideal[i] / log2[i];
                return idcg > 0.0 ? dcg / idcg : 0.0;
            }
            case MeasureKind.Map:
            {
                long relSoFar = 0;
                double sum = 0.0;
                for (int i = 0; i < n; i++)
                    if (rel[i] >= relLevel)
                    {
                        relSoFar++;
                        sum += relSoFar / (double)(i + 1);
                    }
                return relSoFar > 0 ? sum / j.NumRel : 0.0;
            }
            case MeasureKind.MapCut:
            {
                if (j.NumRel == 0) return 0.0;
                int lim = Math.Min(k, n);
                long relSoFar = 0;
                double sum = 0.0;
                for (int i = 0; i < lim; i++)
                    if (rel[i] >= relLevel)
                    {
                        relSoFar++;
                        sum += relSoFar / (double)(i + 1);
                    }
                return sum / j.NumRel;
            }
            case MeasureKind.Recall:
                return j.NumRel == 0 ? 0.0 : CountRel(rel, Math.Min(k, n), relLevel) / (double)j.NumRel;
            case MeasureKind.Precision:
                return CountRel(rel, Math.Min(k, n), relLevel) / (double)k;
            case MeasureKind.RecipRank:
            case MeasureKind.RecipRankCut:
            {
                int lim = measure.Kind == MeasureKind.RecipRank ? n : Math.Min(k, n);
                for (int i = 0; i < lim; i++)
                    if (rel[i] >= relLevel) return 1.0 / (i + 1);
                return 0.0;
            }
            case MeasureKind.Success:
                return CountRel(rel, Math.Min(k, n), relLevel) > 0 ? 1.0 : 0.0;
            case MeasureKind.Bpref:
            {
                long nonRelSoFar = 0;
                double bpref = 0.0;
                long numRel = j.NumRel;
                double denom = Math.Min(j.NumNonRel, numRel);
                for (int i = 0; i < n; i++)
                {
                    int r = rel[i];
                    if (r < 0) continue; // outside the pool, or in the pool unjudged
                    if (r < relLevel) nonRelSoFar++;
                    else if (nonRelSoFar > 0) bpref += 1.0 - Math.Min(nonRelSoFar, numRel) / denom;
                    else bpref += 1.0;
                }
                return numRel > 0 ? bpref / numRel : bpref;
            }
            case MeasureKind.NumRelRet:
                return CountRel(rel, n, relLevel);
            case MeasureKind.NumRet:
                return n;
            case MeasureKind.NumRel:
                return j.NumRel;
            case MeasureKind.RPrec:
                return j.NumRel == 0 ? 0.0 : CountRel(rel, Math.Min(j.NumRel, n), relLevel) / (double)j.NumRel;
            case MeasureKind.Judged:
            {
                int lim = Math.Min(k, n);
                if (lim == 0) return 0.0;
                int judged = 0;
                for (int i = 0; i < lim; i++)
                    if (rel[i] >= 0) judged++;
                return judged / (double)lim;
            }
            default:
                throw new InvalidOperationException($"measure {measure.Kind} not implemented");
        }
    }

    private static int CountRel(int[] rel, int lim, int relLevel)
    {
        int c = 0;
        for (int i = 0; i < lim; i++)
            if (rel[i] >= relLevel) c++;
        return c;
    }
}
