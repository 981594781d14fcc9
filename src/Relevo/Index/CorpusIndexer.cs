using Relevo.Collections;

namespace Relevo.Index;

/// <summary>Feeds a JSON-lines corpus into a writer, turning per-document errors into file:line:field messages.
/// It does not commit: the caller commits on success and disposes (discarding everything) on failure.</summary>
public static class CorpusIndexer
{
    /// <param name="progress">Called now and then with (fraction of the file read, documents so far).</param>
    public static long AddCorpus(IndexWriter writer, string corpusPath, Action<double, long>? progress = null)
    {
        var position = new JsonlReader.Position();
        long count = 0;
        foreach (var r in JsonlReader.Read(corpusPath, requireText: false, position))
        {
            try
            {
                writer.Add(new Document(r.Id, r.Title, r.Text));
            }
            catch (DuplicateDocumentIdException e)
            {
                throw new RelevoException($"{corpusPath}:{r.Line}: field _id: {e.Message}", e);
            }
            count++;
            if (progress is not null && (count & 255) == 0)
                progress(position.TotalBytes == 0 ? 0 : (double)position.BytesRead / position.TotalBytes, count);
        }
        progress?.Invoke(1, count);
        return count;
    }
}
