using Relevo.Collections;
using Relevo.Index;

namespace Relevo;

/// <summary>Adds, replaces and deletes documents of an index (ordinary or sharded) and commits them atomically: nothing
/// is visible to searches, or survives a crash, until <see cref="Commit"/> returns; disposing without committing
/// discards the changes. One writer per index at a time.</summary>
public abstract class DocumentWriter : IDisposable
{
    private protected DocumentWriter() { }

    /// <summary>Adds a document (a duplicate id is an error unless the writer replaces).</summary>
    public abstract void Add(Document document);

    /// <summary>Adds documents in order, analysing them on several threads; the index is the same for any number.
    /// <paramref name="progress"/> hears how many were added so far.</summary>
    public abstract long AddRange(IEnumerable<Document> documents, Action<long>? progress = null);

    /// <summary>Adds every document of a JSON-lines corpus (<c>{"_id", "title", "text"}</c> per line, optionally
    /// gzipped); a bad line or a duplicate id is an error naming the file, line and field. <paramref name="progress"/>
    /// hears (fraction of the file read, documents added).</summary>
    public abstract long AddCorpus(string path, Action<double, long>? progress = null);

    /// <summary>Deletes the live document with this id; false if there is none.</summary>
    public abstract bool Delete(string id);

    /// <summary>Makes every change so far durable and visible, atomically; returns the new generation (cluster-wide
    /// version of a sharded index).</summary>
    public abstract long Commit();

    /// <summary>Merges the index's segments into one (each shard's, on a sharded index) and commits.</summary>
    public abstract void ForceMerge();

    /// <summary>Commits like <see cref="Commit"/>, with the segments this writer wrote merged into one (per shard on a
    /// sharded index); segments the index had when the writer opened are left as they are. A large batch becomes one
    /// segment without rewriting what was indexed before.</summary>
    public abstract long CommitMerged();

    /// <summary>Live documents, committed and pending.</summary>
    public abstract long LiveDocs { get; }

    /// <summary>Runs <paramref name="action"/> on the writer of the index, or of each shard (with its number), for
    /// extensions that add per-segment data (vectors) as part of the next commit.</summary>
    internal abstract void ForEachIndexWriter(Action<IndexWriter, int> action);

    /// <summary>Closes the writer; changes not committed are discarded.</summary>
    public abstract void Dispose();
}

/// <summary>The writer of one ordinary index folder.</summary>
internal sealed class LocalDocumentWriter(IndexWriter writer, WriterOptions options, Action? committed) : DocumentWriter
{
    public IndexWriter Writer => writer;

    public override void Add(Document document) => writer.Add(document);

    public override long AddRange(IEnumerable<Document> documents, Action<long>? progress = null)
    {
        long n = 0;
        writer.AddRange(documents, options.Threads, count => { n = count; progress?.Invoke(count); });
        return n;
    }

    public override long AddCorpus(string path, Action<double, long>? progress = null) =>
        CorpusIndexer.AddCorpus(writer, path, progress, options.Threads);

    public override bool Delete(string id) => writer.Delete(id);

    public override long Commit()
    {
        writer.Commit();
        committed?.Invoke();
        return writer.LastCommit.Generation;
    }

    public override void ForceMerge()
    {
        writer.ForceMerge();
        committed?.Invoke();
    }

    public override long CommitMerged()
    {
        writer.MergeNewSegments();
        committed?.Invoke();
        return writer.LastCommit.Generation;
    }

    public override long LiveDocs => writer.LiveDocs;

    internal override void ForEachIndexWriter(Action<IndexWriter, int> action) => action(writer, 0);

    public override void Dispose() => writer.Dispose();
}
