using Relevo.Index;
using Relevo.Search.Pruning;
using Relevo.Search.Similarities;

namespace Relevo.Search;

/// <summary>How the top k is found. All three return the same documents and scores.</summary>
internal enum PruningAlgorithm
{
    /// <summary>Every posting scored (term-at-a-time): the oracle the others are tested against.</summary>
    Exhaustive,
    /// <summary>MaxScore (Turtle and Flood) with block-max checks on the non-essential terms.</summary>
    MaxScore,
    /// <summary>Block-max WAND (Ding and Suel).</summary>
    BlockMaxWand,
}

/// <summary>A query with its collection statistics applied: for each query term that can score (in query order) its
/// <typeparamref name="TScorer"/>, which carries the term's weight and the model's tables. <c>Search</c>
/// makes a per-segment scorer of it (term iterators driven by a pruning algorithm, or the exhaustive scorer) and
/// feeds a <see cref="TopKCollector"/>. Instances are per thread and reused (<see cref="ForThread"/>): after warm-up a
/// query allocates nothing here.</summary>
internal sealed class Weight<TScorer> where TScorer : struct, ITermScorer
{
    [ThreadStatic] private static Weight<TScorer>? t_current;

    /// <summary>This thread's weight, emptied.</summary>
    public static Weight<TScorer> ForThread()
    {
        var w = t_current ??= new Weight<TScorer>();
        w.TermCount = 0;
        w.RequiredTerms = 0;
        w.Fields.Clear();
        return w;
    }

    public readonly TopKCollector Top = new(16);
    private TermIterator<TScorer>[] _pool = [];
    public TermIterator<TScorer>[] Iterators = new TermIterator<TScorer>[8];
    /// <summary>Query terms that can score, in query order, with their scorers.</summary>
    public string[] Terms = new string[8];
    public TScorer[] Scorers = new TScorer[8];
    /// <summary>Per query term, where its postings and norms are read: 0, the segments searched (the index's one
    /// concatenated field); f &gt; 0, <see cref="Fields"/>[f − 1], a field's postings of the same segments
    /// (multi-field BM25 sums terms of several fields).</summary>
    public int[] FieldOf = new int[8];
    /// <summary>Per field a term of this weight reads, its postings segment by segment (the same documents).</summary>
    public readonly List<IReadOnlyList<SegmentReader>> Fields = [];
    public int TermCount;
    /// <summary>The first this many terms (in query order) are required: a document must have them all
    /// (<see cref="Pruning.RequiredMaxScore"/>); the others are optional. 0: a disjunction.</summary>
    public int RequiredTerms;
    /// <summary>Per query term, its score contribution to the document being scored (0 if absent).</summary>
    public float[] Contributions = new float[8];
    /// <summary>Scratch: prefix sums of upper bounds.</summary>
    public double[] Bounds = new double[8];

    /// <summary>Fills this weight with the query's terms that can score under <paramref name="similarity"/>.</summary>
    public Weight<TScorer> For(Query query, ISimilarity<TScorer> similarity)
    {
        TermCount = 0;
        RequiredTerms = 0;
        Fields.Clear();
        IntegerWeights = true;
        var terms = query.Terms;
        for (int i = 0; i < terms.Count; i++)
        {
            var (term, weight) = terms[i];
            if (!(weight == MathF.Floor(weight) && weight < 65536)) IntegerWeights = false;
            if (similarity.TryGetScorer(term, weight, out var scorer)) Add(term, scorer);
        }
        return this;
    }

    /// <summary>Every term's query weight is a whole number below 2^16 (a bag-of-words query's counts): with integer
    /// impacts every score and partial sum is then an exact integer, whatever the order of addition.</summary>
    public bool IntegerWeights;

    public void Add(string term, TScorer scorer, int field = 0)
    {
        if (TermCount == Terms.Length)
        {
            Array.Resize(ref Terms, TermCount * 2);
            Array.Resize(ref Scorers, TermCount * 2);
            Array.Resize(ref FieldOf, TermCount * 2);
        }
        Terms[TermCount] = term;
        Scorers[TermCount] = scorer;
        FieldOf[TermCount] = field;
        TermCount++;
    }

    /// <summary>Registers a field's postings (one per segment searched); returns the number its terms are added with.</summary>
    public int AddField(IReadOnlyList<SegmentReader> segments)
    {
        Fields.Add(segments);
        return Fields.Count;
    }

    /// <summary>Where term <paramref name="t"/>'s postings are in segment <paramref name="s"/> of those searched.</summary>
    public SegmentReader SegmentOf(int t, int s, IReadOnlyList<SegmentReader> segments) =>
        FieldOf[t] == 0 ? segments[s] : Fields[FieldOf[t] - 1][s];

    private void EnsureIterators(int n)
    {
        if (_pool.Length >= n) return;
        int size = Math.Max(n, _pool.Length * 2);
        var pool = new TermIterator<TScorer>[size];
        Array.Copy(_pool, pool, _pool.Length);
        for (int i = _pool.Length; i < size; i++) pool[i] = new TermIterator<TScorer>();
        _pool = pool;
        Iterators = new TermIterator<TScorer>[size];
        Contributions = new float[size];
        Bounds = new double[size];
    }

    /// <summary>The top k of the reader's documents into the spans (global doc numbers, best first; ties by smaller
    /// document number); returns how many. Only documents scoring above <paramref name="floor"/> are kept, and
    /// <paramref name="shared"/> (if given) is a k-th-score bound shared with other shards' searches of this query.</summary>
    public int Search(IndexReader reader, int k, PruningAlgorithm algorithm, Span<int> docs, Span<float> scores,
        float floor = float.NegativeInfinity, SharedBound? shared = null, Filters.DocFilter? filter = null) =>
        Search(reader.Segments, reader.DocBase, k, algorithm, docs, scores, floor, shared, filter);

    /// <summary>The documents the segment being searched must skip: its deletions, or a filter's exclusions (which
    /// include them). Set per segment by <see cref="Search(IReadOnlyList{SegmentReader}, IReadOnlyList{int}, int, PruningAlgorithm, Span{int}, Span{float}, float, SharedBound?, Filters.DocFilter?)"/>.</summary>
    internal DeletedDocs Skipped { get; private set; } = null!;

    /// <summary>As <see cref="Search(IndexReader, int, PruningAlgorithm, Span{int}, Span{float}, float, SharedBound?, Filters.DocFilter?)"/>
    /// over a commit's segments as a scoring model reads them (e.g. with their impacts) and their first global document
    /// numbers.</summary>
    public int Search(IReadOnlyList<SegmentReader> segments, IReadOnlyList<int> docBase, int k, PruningAlgorithm algorithm,
        Span<int> docs, Span<float> scores, float floor = float.NegativeInfinity, SharedBound? shared = null, Filters.DocFilter? filter = null)
    {
        Top.Reset(k, floor, shared);
        if (RequiredTerms > 0 && algorithm == PruningAlgorithm.Exhaustive)
            throw new InvalidOperationException("required terms are matched by the structured query's tree when scored exhaustively");
        if (algorithm == PruningAlgorithm.Exhaustive)
            ExhaustiveScorer.Search(segments, docBase, this, Top, filter);
        else
        {
            EnsureIterators(TermCount);
            if (Contributions.Length < TermCount) Contributions = new float[Math.Max(TermCount, Contributions.Length * 2)];
            for (int s = 0; s < segments.Count; s++)
            {
                var seg = segments[s];
                Skipped = filter is null ? seg.Deletes : filter.Excluded[s];
                if (Skipped.Count == seg.MaxDoc) continue;
                int n = 0;
                for (int t = 0; t < TermCount; t++)
                {
                    var postings = SegmentOf(t, s, segments);
                    int ord = postings.FindTerm(Terms[t]);
                    if (ord < 0) continue;
                    var it = _pool[n];
                    it.Reset(postings, ord, t, Scorers[t]);
                    Iterators[n++] = it;
                }
                if (n == 0) continue;
                if (RequiredTerms > 0)
                {
                    int present = 0;
                    for (int i = 0; i < n; i++) if (Iterators[i].TermIndex < RequiredTerms) present++;
                    if (present == RequiredTerms) RequiredMaxScore.Run(this, seg, docBase[s], n); // else no document has them all
                }
                else if (algorithm == PruningAlgorithm.BlockMaxWand) BlockMaxWand.Run(this, seg, docBase[s], n);
                else MaxScore.Run(this, seg, docBase[s], n);
            }
        }
        Top.DetachShared();
        return Top.DrainInto(docs, scores);
    }

    /// <summary>The exact scores of given documents (<paramref name="segment"/>[i], <paramref name="doc"/>[i]; deleted or
    /// unmatched ones score 0), term by term in query order and summed in double as <see cref="ExhaustiveScorer"/>
    /// sums, so each equals the score a search of the whole commit gives the document. Candidates are visited in
    /// document order, so each term's list is passed once, decoding only the blocks that hold a candidate (feature
    /// extraction for learning to rank).</summary>
    public void ScoreDocs(IReadOnlyList<SegmentReader> segments, ReadOnlySpan<int> segment, ReadOnlySpan<int> doc, Span<float> scores)
    {
        var sums = new double[scores.Length];
        var order = new List<int>();
        var docs = doc.ToArray();
        PostingsCursor? cursor = null;
        for (int s = 0; s < segments.Count; s++)
        {
            var seg = segments[s];
            order.Clear();
            for (int i = 0; i < segment.Length; i++)
                if (segment[i] == s && !seg.IsDeleted(doc[i])) order.Add(i);
            if (order.Count == 0) continue;
            order.Sort((a, b) => docs[a].CompareTo(docs[b])); // candidates in document order: one pass over each list
            for (int t = 0; t < TermCount; t++)
            {
                var postings = SegmentOf(t, s, segments);
                int ord = postings.FindTerm(Terms[t]);
                if (ord < 0) continue;
                var norms = postings.Norms;
                cursor = postings.Postings(ord, cursor);
                int block = 0, loaded = -1, at = 0;
                foreach (int i in order)
                {
                    int d = doc[i];
                    while (block < cursor.BlockCount && cursor.BlockLastDoc(block) < d) block++;
                    if (block == cursor.BlockCount) break;
                    if (loaded != block)
                    {
                        cursor.ReadBlock(block);
                        loaded = block;
                        at = 0;
                    }
                    while (at < cursor.BlockLength && cursor.Docs[at] < d) at++;
                    if (at < cursor.BlockLength && cursor.Docs[at] == d) sums[i] += Scorers[t].Score(cursor.Freqs[at], norms[d]);
                }
            }
        }
        for (int i = 0; i < scores.Length; i++) scores[i] = (float)sums[i];
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
