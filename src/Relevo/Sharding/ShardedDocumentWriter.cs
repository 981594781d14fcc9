using Relevo.Collections;
using Relevo.Index;

namespace Relevo.Sharding;

/// <summary>The writer of a sharded index whose shards are served in this process: documents are routed to their
/// shards and <see cref="Commit"/> publishes everything as one cluster-wide version (<see cref="ShardedWriter"/>).
/// Disposing without committing returns every shard to the last cluster-wide commit.</summary>
internal sealed class ShardedDocumentWriter(IReadOnlyList<ShardHost> hosts, ShardedWriter writer, WriterOptions options,
    Action? release, Action? committed) : DocumentWriter
{
    private bool _dirty;
    // the shards' writers outlive this writer (a server keeps them), so a choice not to merge is undone on Dispose
    private readonly bool _mergeSegments = SetMergePolicy(hosts, options.MergeSegments);

    private static bool SetMergePolicy(IReadOnlyList<ShardHost> hosts, bool merge)
    {
        foreach (var h in hosts) h.WithWriter(w => w.MergePolicy = merge ? MergePolicy.Default : null);
        return merge;
    }

    public override void Add(Document document) => AddRange([document]);

    public override long AddRange(IEnumerable<Document> documents, Action<long>? progress = null) => AddTyped(documents, null, progress);

    /// <summary>Routes documents to their shards, each checked against one schema for all shards first
    /// (<see cref="ShardedWriter.AddAsync"/>).</summary>
    private long AddTyped(IEnumerable<Document> documents, Func<Document, string>? where, Action<long>? progress)
    {
        _dirty = true;
        return writer.AddAsync(documents, options.ReplaceExisting, added: progress, where: where).GetAwaiter().GetResult();
    }

    public override long AddCorpus(string path, Action<double, long>? progress = null)
    {
        if (Directory.Exists(path)) throw new RelevoException($"{path}: is a directory, not a JSON-lines file");
        if (!File.Exists(path)) throw new RelevoException($"{path}: file not found");
        var position = new JsonlReader.Position();
        double fraction = 0;
        long line = 0;
        IEnumerable<Document> Documents()
        {
            foreach (var r in JsonlReader.Read(path, requireText: false, position))
            {
                fraction = position.TotalBytes == 0 ? 0 : (double)position.BytesRead / position.TotalBytes;
                line = r.Line;
                yield return new Document(r.Id, r.Title, r.Text) { Fields = r.Fields };
            }
            fraction = 1;
        }
        try
        {
            return AddTyped(Documents(), _ => $"{path}:{line}", n => progress?.Invoke(fraction, n));
        }
        catch (DuplicateDocumentIdException e)
        {
            // documents go to the shards in batches, so the line is the last one read (at or after the duplicate)
            throw new RelevoException($"{path}: field _id: {e.Message} (found by line {line}); nothing was committed", e);
        }
    }

    public override bool Delete(string id)
    {
        _dirty = true;
        return writer.DeleteAsync([id]).GetAwaiter().GetResult() > 0;
    }

    public override long Commit()
    {
        long version = writer.CommitAsync(options.CommitStage).GetAwaiter().GetResult();
        _dirty = false;
        committed?.Invoke();
        return version;
    }

    public override void ForceMerge()
    {
        foreach (var h in hosts) h.WithWriter(w => { w.ForceMerge(); return 0; });
        _dirty = true;
        Commit();
    }

    public override long CommitMerged()
    {
        foreach (var h in hosts) h.MergeNewSegments(); // completing the new segments first: vectors stay everywhere
        _dirty = true;
        return Commit();
    }

    public override long LiveDocs
    {
        get
        {
            long n = 0;
            foreach (var h in hosts) n += h.WithWriter(w => w.LiveDocs);
            return n;
        }
    }

    internal override void ForEachIndexWriter(Action<IndexWriter, int> action)
    {
        _dirty = true;
        for (int i = 0; i < hosts.Count; i++)
        {
            int shard = i;
            hosts[i].WithWriter(w => { action(w, shard); return 0; });
        }
    }

    public override void Dispose()
    {
        try
        {
            if (_dirty) writer.RollbackAsync().GetAwaiter().GetResult();
            if (!_mergeSegments) SetMergePolicy(hosts, true);
        }
        finally
        {
            release?.Invoke();
        }
    }
}
