namespace Relevo.Collections;

/// <summary>A test collection in BEIR layout: corpus.jsonl[.gz], queries.jsonl, qrels/test.tsv.</summary>
internal sealed record BeirDataset(string Name, string CorpusPath, string QueriesPath, string QrelsPath)
{
    /// <summary>Opens a folder in BEIR layout, naming the first file that is missing.</summary>
    public static BeirDataset FromFolder(string folder, string split = "test")
    {
        if (!Directory.Exists(folder))
            throw new RelevoException($"{folder}: dataset folder does not exist");
        string corpus = Path.Combine(folder, "corpus.jsonl");
        if (!File.Exists(corpus))
        {
            string gz = corpus + ".gz";
            if (!File.Exists(gz))
                throw new RelevoException($"{corpus}: missing (neither corpus.jsonl nor corpus.jsonl.gz is in the dataset folder)");
            corpus = gz;
        }
        string queries = Path.Combine(folder, "queries.jsonl");
        if (!File.Exists(queries))
            throw new RelevoException($"{queries}: missing");
        string qrels = Path.Combine(folder, "qrels", split + ".tsv");
        if (!File.Exists(qrels))
            throw new RelevoException($"{qrels}: missing");
        return new BeirDataset(Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder))), corpus, queries, qrels);
    }
}
