using Relevo.Index;

namespace Relevo.Search.Pruning;

/// <summary>How <see cref="Bm25Searcher"/> finds the top k. All three return the same documents and scores.</summary>
public enum PruningAlgorithm
{
    /// <summary>Every posting scored (term-at-a-time): the oracle the others are tested against.</summary>
    Exhaustive,
    /// <summary>MaxScore (Turtle and Flood) with block-max checks on the non-essential terms.</summary>
    MaxScore,
    /// <summary>Block-max WAND (Ding and Suel).</summary>
    BlockMaxWand,
}

/// <summary>Per-thread, reusable state of one query evaluation: term iterators, the top-k heap and scratch arrays.
/// After warm-up a query allocates nothing here.</summary>
internal sealed class QueryEvaluator
{
    [ThreadStatic] private static QueryEvaluator? t_current;

    public static QueryEvaluator Current => t_current ??= new QueryEvaluator();

    public readonly TopKCollector Top = new(16);
    private TermIterator[] _pool = [];
    public TermIterator[] Iterators = new TermIterator[8];
    /// <summary>Query terms that occur in the collection, in query order, with their weights (boost × idf).</summary>
    public string[] Terms = new string[8];
    public float[] Weights = new float[8];
    public int TermCount;
    /// <summary>Per query term, its score contribution to the document being scored (0 if absent).</summary>
    public float[] Contributions = new float[8];
    /// <summary>Scratch: prefix sums of upper bounds.</summary>
    public double[] Bounds = new double[8];

    public void BeginQuery() => TermCount = 0;

    public void AddTerm(string term, float weight)
    {
        if (TermCount == Terms.Length)
        {
            Array.Resize(ref Terms, TermCount * 2);
            Array.Resize(ref Weights, TermCount * 2);
        }
        Terms[TermCount] = term;
        Weights[TermCount] = weight;
        TermCount++;
    }

    private void EnsureIterators(int n)
    {
        if (_pool.Length >= n) return;
        int size = Math.Max(n, _pool.Length * 2);
        var pool = new TermIterator[size];
        Array.Copy(_pool, pool, _pool.Length);
        for (int i = _pool.Length; i < size; i++) pool[i] = new TermIterator();
        _pool = pool;
        Iterators = new TermIterator[size];
        Contributions = new float[size];
        Bounds = new double[size];
    }

    /// <summary>Runs a pruned search over every segment; hits (global doc numbers, best first) go to the spans.</summary>
    public int Search(IndexReader reader, float[] normInverse, int k, PruningAlgorithm algorithm, Span<int> docs, Span<float> scores,
        float floor = float.NegativeInfinity, SharedBound? shared = null)
    {
        Top.Reset(k);
        Top.Floor = floor;
        Top.Shared = shared;
        EnsureIterators(TermCount);
        if (Contributions.Length < TermCount) Contributions = new float[Math.Max(TermCount, Contributions.Length * 2)];
        for (int s = 0; s < reader.Segments.Count; s++)
        {
            var seg = reader.Segments[s];
            int n = 0;
            for (int t = 0; t < TermCount; t++)
            {
                int ord = seg.FindTerm(Terms[t]);
                if (ord < 0) continue;
                var it = _pool[n];
                it.Reset(seg, ord, t, Weights[t], normInverse);
                Iterators[n++] = it;
            }
            if (n == 0) continue;
            if (algorithm == PruningAlgorithm.BlockMaxWand) BlockMaxWand.Run(this, seg, reader.DocBase[s], n);
            else MaxScore.Run(this, seg, reader.DocBase[s], n);
        }
        Top.Shared = null;
        return Top.DrainInto(docs, scores);
    }

    /// <summary>The document's score from the recorded contributions, summed in double in query-term order and cast
    /// to float, exactly as <see cref="ExhaustiveScorer"/> sums; clears the contributions.</summary>
    public float ExactScore()
    {
        double sum = 0;
        var c = Contributions;
        for (int t = 0; t < TermCount; t++)
        {
            sum += c[t];
            c[t] = 0;
        }
        return (float)sum;
    }

    public void ClearContributions() => Contributions.AsSpan(0, TermCount).Clear();
}
