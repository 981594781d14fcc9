using System.Runtime.CompilerServices;
using Relevo.Index;
using Relevo.Search.Similarities;

namespace Relevo.Search.Pruning;

/// <summary>The per-segment scorer of one query term: a document-at-a-time iterator over its postings that scores
/// with <typeparamref name="TScorer"/> and knows the upper bounds dynamic pruning needs (of the whole list, and of
/// each block, from the impacts the format stores). Reused from query to query (see <see cref="Weight{TScorer}"/>):
/// nothing is allocated per query once its arrays have grown to the longest list seen.</summary>
internal sealed unsafe class TermIterator<TScorer> where TScorer : struct, ITermScorer
{
    public const int NoMoreDocs = int.MaxValue;

    private PostingsCursor? _cursor;
    private int[] _docs = [], _freqs = []; // the cursor's decoded block
    private readonly float[] _blockScores = new float[PostingsCursor.BlockSize];
    private readonly int[] _impactTfs = new int[PostingsCursor.BlockSize];
    private readonly byte[] _impactNorms = new byte[PostingsCursor.BlockSize];
    private int _blockLength;
    private bool _freqsReady;
    private float[] _blockMax = new float[16];
    private TScorer _scorer;
    private byte* _norms;
    private int _index;      // position inside the decoded block
    private int _block;      // decoded block, or -1
    private int _blockCount;
    private int _blockEnd;   // last doc of the decoded block
    private int _shallow;    // block found by the last ShallowBlock (targets only grow, so searches resume there)
    private byte* _impacts;  // an impact index's bytes of this term (one per posting), or null
    private byte* _blockMaxImpacts; // and one per block: its largest impact

    /// <summary>Current document, or <see cref="NoMoreDocs"/>.</summary>
    public int Doc;
    /// <summary>Position of the term in the query's term list: scores are summed in this order.</summary>
    public int TermIndex;
    /// <summary>Upper bound of this term's score over the whole list.</summary>
    public float MaxScore;
    /// <summary>Documents in this term's list (which required term leads a conjunction).</summary>
    public int Cost;

    public void Reset(SegmentReader segment, int ord, int termIndex, TScorer scorer)
    {
        // a cursor belongs to its segment's format: re-pointed when it is the same kind, replaced otherwise
        var cursor = segment.Postings(ord, _cursor);
        if (!ReferenceEquals(cursor, _cursor))
        {
            _cursor = cursor;
            _docs = cursor.Docs;
            _freqs = cursor.Freqs;
        }
        _norms = segment.NormsPointer;
        _scorer = scorer;
        TermIndex = termIndex;
        Cost = segment.DocFreq(ord);
        _blockCount = cursor.BlockCount;
        _impacts = TScorer.UsesNorms ? null : cursor.ImpactBytes;
        _blockMaxImpacts = _impacts == null ? null : cursor.BlockMaxImpactBytes;
        if (_blockMaxImpacts == null)
        {
            // block maxima computed from the impacts on first use, cached for the query
            if (_blockMax.Length < _blockCount) _blockMax = new float[Math.Max(_blockCount, _blockMax.Length * 2)];
            _blockMax.AsSpan(0, _blockCount).Fill(float.NaN);
        }
        float max = 0;
        foreach (var (tf, norm) in segment.ListImpacts(ord))
        {
            float sc = scorer.Score(tf, norm);
            if (sc > max) max = sc;
        }
        MaxScore = max;
        _block = -1;
        _blockEnd = -1;
        _shallow = 0;
        LoadBlock(0);
    }

    private void LoadBlock(int block)
    {
        if (block >= _blockCount)
        {
            Doc = NoMoreDocs;
            _block = _blockCount;
            _blockEnd = NoMoreDocs;
            _blockLength = 0;
            return;
        }
        _cursor!.ReadDocs(block);
        _block = block;
        _blockLength = _cursor.BlockLength;
        _blockEnd = _docs[_blockLength - 1];
        _freqsReady = false;
        _index = 0;
        Doc = _docs[0];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int NextDoc()
    {
        int i = _index + 1;
        if ((uint)i < (uint)_blockLength)
        {
            _index = i;
            return Doc = _docs[i];
        }
        LoadBlock(_block + 1);
        return Doc;
    }

    /// <summary>Moves to the first document at or after <paramref name="target"/>.</summary>
    public int Advance(int target)
    {
        if (target <= Doc) return Doc;
        if (target > _blockEnd)
        {
            int b = FindBlock(target);
            LoadBlock(b);
            if (Doc == NoMoreDocs) return Doc;
        }
        var docs = _docs;
        int i = _index;
        while (docs[i] < target) i++;
        _index = i;
        return Doc = docs[i];
    }

    /// <summary>First block (at or after the current one) whose last document is at least <paramref name="target"/>,
    /// or the block count.</summary>
    private int FindBlock(int target)
    {
        int b = Math.Max(_block, _shallow);
        if (b > 0 && b <= _blockCount && _cursor!.BlockLastDoc(b - 1) >= target) b = Math.Max(_block, 0); // target behind the resume point
        while (b < _blockCount && _cursor!.BlockLastDoc(b) < target) b++;
        return _shallow = b;
    }

    /// <summary>Block that would hold <paramref name="target"/> (no decoding); the block count past the end.</summary>
    public int ShallowBlock(int target) => target <= _blockEnd && _block >= 0 ? _block : FindBlock(target);

    /// <summary>Last document of a block (<see cref="NoMoreDocs"/> past the end).</summary>
    public int BlockLastDoc(int block) => block >= _blockCount ? NoMoreDocs : _cursor!.BlockLastDoc(block);

    /// <summary>Largest score any document of a block can get (0 past the end); computed once per block and query.</summary>
    public float BlockMax(int block)
    {
        if (block >= _blockCount) return 0;
        if (_blockMaxImpacts != null) return _scorer.Score(_blockMaxImpacts[block], 0); // stored: one byte, no cache
        float m = _blockMax[block];
        if (float.IsNaN(m)) _blockMax[block] = m = ComputeBlockMax(block);
        return m;
    }

    private float ComputeBlockMax(int block)
    {
        int n = _cursor!.BlockImpacts(block, _impactTfs, _impactNorms);
        float max = 0;
        for (int i = 0; i < n; i++)
        {
            float s = _scorer.Score(_impactTfs[i], _impactNorms[i]);
            if (s > max) max = s;
        }
        return max;
    }

    /// <summary>Score of the current document (exactly as the exhaustive scorer computes it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Score()
    {
        // an impact index: this posting's byte, without decoding the block's impacts
        if (!TScorer.UsesNorms) return ScoreImpact();
        if (!_freqsReady) LoadFreqs();
        return _scorer.Score(_freqs[_index], _norms[Doc]);
    }

    private float ScoreImpact()
    {
        if (_impacts != null) return _scorer.Score(_impacts[(long)_block * PostingsCursor.BlockSize + _index], 0);
        if (!_freqsReady) LoadFreqs();
        return _scorer.Score(_freqs[_index], 0);
    }

    /// <summary>Scores every posting from the current document up to <paramref name="end"/> (exclusive) a block at a
    /// time, adds each score to <c>acc[doc - start]</c> (in double, as the exhaustive scorer sums) and sets the
    /// document's bit in <paramref name="matched"/>, listing the window-relative document in <paramref name="touched"/>
    /// the first time it is marked; stops at the first document at or after <paramref name="end"/>. Returns the new
    /// length of the list.</summary>
    public int AccumulateWindow(int start, int end, double* acc, ulong* matched, int* touched, int touchedCount)
    {
        int t = touchedCount;
        while (Doc < end)
        {
            int from = _index, to = BlockRangeEnd(end);
            fixed (int* docs = _docs)
            fixed (float* sc = _blockScores)
            {
                ScoreRange(from, to);
                for (int j = from; j < to; j++)
                {
                    int d = docs[j] - start;
                    acc[d] += sc[j];
                    // first time in this window: listed once (the mark says whether it was)
                    ulong word = matched[d >> 6], bit = 1UL << d;
                    touched[t] = d;
                    t += (word & bit) == 0 ? 1 : 0;
                    matched[d >> 6] = word | bit;
                }
            }
            if (to < _blockLength)
            {
                _index = to;
                Doc = _docs[to];
                return t;
            }
            LoadBlock(_block + 1);
        }
        return t;
    }

    /// <summary>For a window where this is the only term with postings: its score is the document's whole score (one
    /// term: the double sum is the float itself), so the postings up to <paramref name="end"/> (exclusive) that score
    /// above <paramref name="theta"/> are written out at once (documents and scores); returns their count.</summary>
    public int ScoreWindowAbove(int end, float theta, int* docsOut, float* scoresOut)
    {
        int c = 0;
        while (Doc < end)
        {
            int from = _index, to = BlockRangeEnd(end);
            fixed (int* docs = _docs)
            fixed (float* sc = _blockScores)
            {
                ScoreRange(from, to);
                for (int j = from; j < to; j++)
                {
                    float x = sc[j];
                    docsOut[c] = docs[j];
                    scoresOut[c] = x;
                    c += x > theta ? 1 : 0;
                }
            }
            if (to < _blockLength)
            {
                _index = to;
                Doc = _docs[to];
                return c;
            }
            LoadBlock(_block + 1);
        }
        return c;
    }

    /// <summary>For a non-essential term: scores its postings up to <paramref name="end"/> (exclusive) a block at a
    /// time and adds each score to <c>acc[doc - start]</c> only where the document is marked (× the mark bit, so
    /// unmarked accumulators stay 0 and marked ones get the exact score); stops at the first document at or after
    /// <paramref name="end"/>.</summary>
    public void AddToMarked(int start, int end, double* acc, ulong* matched)
    {
        while (Doc < end)
        {
            int from = _index, to = BlockRangeEnd(end);
            fixed (int* docs = _docs)
            fixed (float* sc = _blockScores)
            {
                ScoreRange(from, to);
                for (int j = from; j < to; j++)
                {
                    int d = docs[j] - start;
                    acc[d] += sc[j] * (float)(int)((matched[d >> 6] >> d) & 1);
                }
            }
            if (to < _blockLength)
            {
                _index = to;
                Doc = _docs[to];
                return;
            }
            LoadBlock(_block + 1);
        }
    }

    /// <summary>Roughly how many postings lie from the current one up to <paramref name="end"/>: whole blocks counted.</summary>
    public int PostingsBefore(int end)
    {
        if (Doc >= end) return 0;
        if (_blockEnd >= end) return _blockLength - _index;
        int last = FindBlock(end - 1 > _blockEnd ? end - 1 : _blockEnd);
        return (last - _block + 1) * PostingsCursor.BlockSize - _index;
    }

    /// <summary>As <see cref="AccumulateWindow"/>, but the window-relative documents and their scores are written to
    /// <paramref name="docsOut"/> and <paramref name="scoresOut"/> (summed later, in query-term order); returns their count.</summary>
    public int ScoreWindow(int start, int end, int* docsOut, float* scoresOut, ulong* matched, int* touched, ref int touchedCount)
    {
        int t = touchedCount;
        int c = 0;
        while (Doc < end)
        {
            int from = _index, to = BlockRangeEnd(end);
            fixed (int* docs = _docs)
            fixed (float* sc = _blockScores)
            {
                ScoreRange(from, to);
                for (int j = from; j < to; j++, c++)
                {
                    int d = docs[j] - start;
                    docsOut[c] = d;
                    scoresOut[c] = sc[j];
                    ulong word = matched[d >> 6], bit = 1UL << d;
                    touched[t] = d;
                    t += (word & bit) == 0 ? 1 : 0;
                    matched[d >> 6] = word | bit;
                }
            }
            if (to < _blockLength)
            {
                _index = to;
                Doc = _docs[to];
                touchedCount = t;
                return c;
            }
            LoadBlock(_block + 1);
        }
        touchedCount = t;
        return c;
    }

    /// <summary>Index in the decoded block of the first document at or after <paramref name="end"/> (the block length if none).</summary>
    private int BlockRangeEnd(int end)
    {
        if (_blockEnd < end) return _blockLength;
        var docs = _docs;
        int lo = _index, hi = _blockLength - 1; // docs[hi] >= end
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (docs[mid] < end) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    /// <summary>Scores of the decoded block's postings [from, to) into the block score buffer (the scorer's block
    /// loop: the same bits as <see cref="Score"/>).</summary>
    private void ScoreRange(int from, int to)
    {
        if (!_freqsReady) LoadFreqs();
        fixed (int* docs = _docs)
        fixed (int* freqs = _freqs)
        fixed (float* sc = _blockScores)
            _scorer.ScoreBlock(docs, freqs, _norms, sc, from, to);
    }

    private void LoadFreqs()
    {
        _cursor!.ReadFreqs();
        _freqsReady = true;
    }
}
