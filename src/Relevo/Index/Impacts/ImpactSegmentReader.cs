using Relevo.Index.Formats.V1;

namespace Relevo.Index.Impacts;

/// <summary>A segment as impact scoring reads it: the segment's own dictionary, documents and doc ids, with each
/// posting's quantized impact where its term frequency was, and each block's (and list's) largest impact as its only
/// (tf, norm) bound. The same <c>Weight → TermIterator → MaxScore / block-max WAND → TopKCollector</c> chain then runs
/// over it with a scorer that multiplies the impact by the query term's weight. Does not own the segment.</summary>
internal sealed unsafe class ImpactSegmentReader : SegmentReader
{
    private readonly SegmentReader _inner;
    private readonly ImpactFile _impacts;
    // (impact, norm 0) frontiers shared by every list: one per possible largest impact
    private static readonly (int Tf, byte Norm)[][] Frontiers = CreateFrontiers();

    public ImpactSegmentReader(SegmentReader inner, ImpactFile impacts) : base(inner.Name, inner.Deletes)
    {
        _inner = inner;
        _impacts = impacts;
    }

    public ImpactFile Impacts => _impacts;

    private static (int, byte)[][] CreateFrontiers()
    {
        var f = new (int, byte)[256][];
        for (int i = 0; i < 256; i++) f[i] = i == 0 ? [] : [(i, (byte)0)];
        return f;
    }

    public override int MaxDoc => _inner.MaxDoc;
    public override int TermCount => _inner.TermCount;
    public override SegmentReader Share(DeletedDocs deletes) => throw new NotSupportedException("an impact view is not shared");
    public override ReadOnlySpan<byte> Norms => _inner.Norms;
    public override byte* NormsPointer => _inner.NormsPointer;
    public override int FindTerm(ReadOnlySpan<char> term) => _inner.FindTerm(term);
    public override string Term(int ord) => _inner.Term(ord);
    public override int DocFreq(int ord) => _inner.DocFreq(ord);
    public override long TotalTermFreq(int ord) => _inner.TotalTermFreq(ord);

    public override PostingsCursor Postings(int ord, PostingsCursor? reuse = null)
    {
        var cursor = _inner.Postings(ord, reuse) as V1PostingsCursor
            ?? throw new RelevoException($"segment {Name}: impacts are read over format {SegmentFiles.Version} postings only");
        byte* maxima = _impacts.BlockMaxima(ord);
        cursor.UseImpacts(maxima + cursor.BlockCount, maxima);
        return cursor;
    }

    public override (int Tf, byte Norm)[] ListImpacts(int ord) => Frontiers[_impacts.ListMax(ord)];

    /// <summary>A document's impact for a term (0 when the term is not in it): for explanations.</summary>
    public int Impact(int ord, int doc) => Postings(ord).FrequencyOf(doc);

    public override string GetId(int doc) => _inner.GetId(doc);
    public override ReadOnlySpan<byte> GetIdUtf8(int doc) => _inner.GetIdUtf8(doc);
    public override int FindId(string id) => _inner.FindId(id);
    public override Document GetDocument(int doc) => _inner.GetDocument(doc);

    public override void Dispose() { } // the segment belongs to the commit's reader, the impacts to the view
}
