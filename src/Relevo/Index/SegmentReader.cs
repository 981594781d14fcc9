namespace Relevo.Index;

/// <summary>One immutable segment as search and merges read it, whatever its format version: the term dictionary,
/// postings (through <see cref="PostingsCursor"/>) with the impacts that bound their scores, one-byte length norms,
/// external ids and stored documents. <see cref="Formats.V1.V1SegmentReader"/> implements it for format 1.</summary>
internal abstract unsafe class SegmentReader : IDisposable
{
    protected SegmentReader(string name, DeletedDocs deletes)
    {
        Name = name;
        Deletes = deletes;
    }

    public string Name { get; }
    public abstract int MaxDoc { get; }
    public abstract int TermCount { get; }

    /// <summary>The deletions this reader sees (the commit's, or a writer's pending ones during a merge).</summary>
    public DeletedDocs Deletes { get; internal set; }
    public int LiveDocs => MaxDoc - Deletes.Count;
    public bool IsDeleted(int doc) => Deletes.IsDeleted(doc);

    /// <summary>Another reader of the same segment with other deletions (a later commit's), sharing this one's open
    /// files and in-memory tables instead of opening and verifying them again; each reader is disposed on its own, and
    /// the files close with the last.</summary>
    public abstract SegmentReader Share(DeletedDocs deletes);

    /// <summary>Norm bytes of all documents (Lucene's one-byte length encoding), in document order.</summary>
    public abstract ReadOnlySpan<byte> Norms { get; }

    /// <summary>The norms as raw memory, valid while the reader is open, for scoring loops that keep it in a field.
    /// At least three readable bytes follow the last norm (4-byte gathers read past it).</summary>
    public abstract byte* NormsPointer { get; }

    /// <summary>Ordinal of the term in the dictionary, or -1.</summary>
    public abstract int FindTerm(ReadOnlySpan<char> term);
    public abstract string Term(int ord);
    public abstract int DocFreq(int ord);
    public abstract long TotalTermFreq(int ord);

    /// <summary>A cursor over a term's postings; <paramref name="reuse"/> (one this reader made) is re-pointed instead
    /// of allocating.</summary>
    public abstract PostingsCursor Postings(int ord, PostingsCursor? reuse = null);

    /// <summary>The Pareto frontier of (tf, norm) over a term's whole list: any score that grows with tf and does not
    /// grow with the document length reaches its maximum over the list at one of these pairs.</summary>
    public abstract (int Tf, byte Norm)[] ListImpacts(int ord);

    /// <summary>External id of a document.</summary>
    public abstract string GetId(int doc);

    /// <summary>The UTF-8 bytes of a document's external id (valid while the reader is open).</summary>
    public abstract ReadOnlySpan<byte> GetIdUtf8(int doc);

    /// <summary>Document number of an external id (deleted or not), or -1.</summary>
    public abstract int FindId(string id);

    /// <summary>The stored document (id, title, text).</summary>
    public abstract Document GetDocument(int doc);

    public abstract void Dispose();
}
