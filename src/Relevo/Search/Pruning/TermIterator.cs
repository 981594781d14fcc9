using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Relevo.Index.Formats.V1;

namespace Relevo.Search.Pruning;

/// <summary>Document-at-a-time iterator over one query term's postings in one segment, with BM25 scoring and the
/// block maxima dynamic pruning needs. Reused from query to query (see <see cref="QueryEvaluator"/>): nothing is
/// allocated per query once its arrays have grown to the longest list seen.</summary>
internal sealed unsafe class TermIterator
{
    public const int NoMoreDocs = int.MaxValue;

    private readonly PostingsCursor _cursor = new();
    private readonly int[] _docs, _freqs; // the cursor's decoded block
    private readonly float[] _blockScores = new float[SegmentFiles.BlockSize];
    private int _blockLength;
    private bool _freqsReady;
    private float[] _blockMax = new float[16];
    private float[] _normInverse = null!;
    private byte* _norms;
    private int _index;      // position inside the decoded block
    private int _block;      // decoded block, or -1
    private int _blockCount;
    private int _blockEnd;   // last doc of the decoded block
    private int _shallow;    // block found by the last ShallowBlock (targets only grow, so searches resume there)

    /// <summary>Current document, or <see cref="NoMoreDocs"/>.</summary>
    public int Doc;
    /// <summary>Position of the term in the query's term list: scores are summed in this order.</summary>
    public int TermIndex;
    public float Weight;
    /// <summary>Upper bound of this term's score over the whole list.</summary>
    public float MaxScore;

    public TermIterator()
    {
        _docs = _cursor.Docs;
        _freqs = _cursor.Freqs;
    }

    public void Reset(SegmentReader segment, int ord, int termIndex, float weight, float[] normInverse)
    {
        segment.Postings(ord, _cursor);
        _norms = segment.NormsPointer;
        _normInverse = normInverse;
        TermIndex = termIndex;
        Weight = weight;
        _blockCount = _cursor.BlockCount;
        if (_blockMax.Length < _blockCount) _blockMax = new float[Math.Max(_blockCount, _blockMax.Length * 2)];
        _blockMax.AsSpan(0, _blockCount).Fill(float.NaN);
        float max = 0;
        foreach (var (tf, norm) in segment.ListImpacts(ord))
        {
            float sc = Bm25Scorer.Score(weight, tf, normInverse[norm]);
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
        _cursor.ReadDocs(block);
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
        if (b > 0 && b <= _blockCount && _cursor.BlockLastDoc(b - 1) >= target) b = Math.Max(_block, 0); // target behind the resume point
        while (b < _blockCount && _cursor.BlockLastDoc(b) < target) b++;
        return _shallow = b;
    }

    /// <summary>Block that would hold <paramref name="target"/> (no decoding); the block count past the end.</summary>
    public int ShallowBlock(int target) => target <= _blockEnd && _block >= 0 ? _block : FindBlock(target);

    /// <summary>Last document of a block (<see cref="NoMoreDocs"/> past the end).</summary>
    public int BlockLastDoc(int block) => block >= _blockCount ? NoMoreDocs : _cursor.BlockLastDoc(block);

    /// <summary>Largest score any document of a block can get (0 past the end); computed once per block and query.</summary>
    public float BlockMax(int block)
    {
        if (block >= _blockCount) return 0;
        float m = _blockMax[block];
        if (float.IsNaN(m)) _blockMax[block] = m = _cursor.BlockMaxScore(block, Weight, _normInverse);
        return m;
    }

    /// <summary>BM25 score of the current document (exactly as the exhaustive scorer computes it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Score()
    {
        if (!_freqsReady) LoadFreqs();
        return Bm25Scorer.Score(Weight, _freqs[_index], _normInverse[_norms[Doc]]);
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
        return (last - _block + 1) * SegmentFiles.BlockSize - _index;
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

    /// <summary>BM25 scores of the decoded block's postings [from, to) into the block score buffer, eight at a time
    /// where AVX2 is there: the same float operations in the same order as <see cref="Bm25Scorer.Score"/>, so the
    /// same bits.</summary>
    private void ScoreRange(int from, int to)
    {
        if (!_freqsReady) LoadFreqs();
        float w = Weight;
        byte* norms = _norms;
        fixed (int* docs = _docs)
        fixed (int* freqs = _freqs)
        fixed (float* ni = _normInverse)
        fixed (float* sc = _blockScores)
        {
            int j = from;
            if (Avx2.IsSupported)
            {
                var vw = Vector256.Create(w);
                var one = Vector256.Create(1f);
                var lowByte = Vector256.Create(0xFF);
                for (; j + 8 <= to; j += 8)
                {
                    // norms: a 4-byte gather at each document's norm byte (the norms file ends with a 12-byte footer)
                    var nb = Avx2.And(Avx2.GatherVector256((int*)norms, Avx.LoadVector256(docs + j), 1), lowByte);
                    var inv = Avx2.GatherVector256(ni, nb, 4);
                    var tf = Avx.ConvertToVector256Single(Avx.LoadVector256(freqs + j));
                    var s = Avx.Subtract(vw, Avx.Divide(vw, Avx.Add(one, Avx.Multiply(tf, inv))));
                    Avx.Store(sc + j, s);
                }
            }
            for (; j < to; j++) sc[j] = Bm25Scorer.Score(w, freqs[j], ni[norms[docs[j]]]);
        }
    }

    private void LoadFreqs()
    {
        _cursor.ReadFreqs();
        _freqsReady = true;
    }
}
