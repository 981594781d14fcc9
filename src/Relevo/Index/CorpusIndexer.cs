using Relevo.Collections;

namespace Relevo.Index;

/// <summary>Feeds a JSON-lines corpus into a writer, turning per-document errors into file:line:field messages.
/// It does not commit: the caller commits on success and disposes (discarding everything) on failure.</summary>
internal static class CorpusIndexer
{
    /// <param name="progress">Called now and then with (fraction of the file read, documents so far).</param>
    /// <param name="threads">Analysis threads (0: one per core); the index is the same for any number.</param>
    public static long AddCorpus(IndexWriter writer, string corpusPath, Action<double, long>? progress = null, int threads = 0)
    {
        var position = new JsonlReader.Position();
        long count = 0;
        // Documents are read ahead of the one being added (batches are analysed in parallel): remember each one's line
        // and how far into the file it was (the reader's file may be closed by the time the document is added).
        var lines = new Queue<(long Line, double Fraction)>();
        IEnumerable<Document> Documents()
        {
            foreach (var r in JsonlReader.Read(corpusPath, requireText: false, position))
            {
                lines.Enqueue((r.Line, position.TotalBytes == 0 ? 0 : (double)position.BytesRead / position.TotalBytes));
                if (r.Fields is not null) writer.Schema.Check(r.Fields, $"{corpusPath}:{r.Line}", r.Line);
                yield return new Document(r.Id, r.Title, r.Text) { Fields = r.Fields };
            }
        }
        try
        {
            writer.AddRange(Documents(), threads, n =>
            {
                var (_, fraction) = lines.Dequeue();
                count = n;
                if (progress is not null && (n & 255) == 0) progress(fraction, n);
            });
        }
        catch (DuplicateDocumentIdException e)
        {
            throw new RelevoException($"{corpusPath}:{lines.Peek().Line}: field _id: {e.Message}", e);
        }
        progress?.Invoke(1, count);
        return count;
    }
}
