namespace Relevo.Collections;

/// <summary>A test collection in BEIR layout: corpus.jsonl[.gz], queries.jsonl, qrels/test.tsv. The qrels file is
/// needed only to evaluate: a folder without it opens, and <see cref="ReadQrels"/> names the missing file.</summary>
public sealed record BeirDataset(string Name, string CorpusPath, string QueriesPath, string QrelsPath)
{
    /// <summary>A dataset by name or folder: a folder in BEIR layout, or a name looked up in <c>$RELEVO_DATA</c>, then
    /// <c>../shared/datasets</c> beside the repository, then the user cache; a BEIR name found nowhere is downloaded from
    /// the official BEIR address into the user cache (its checksum checked).</summary>
    public static BeirDataset Load(string nameOrPath) => DatasetLocator.ResolveOrDownload(nameOrPath);

    /// <summary>The queries, in file order (<c>{"_id", "text"}</c> per line).</summary>
    public IReadOnlyList<(string Id, string Text)> ReadQueries() => JsonlReader.ReadQueries(QueriesPath);

    /// <summary>The relevance judgments; an error naming <see cref="QrelsPath"/> if the dataset has none.</summary>
    public Evaluation.Qrels ReadQrels() => Evaluation.Qrels.Load(RequireQrels().QrelsPath);

    /// <summary>This dataset if its qrels file exists; otherwise the error <c>{QrelsPath}: missing</c>, for the
    /// commands that evaluate to give before they do any work.</summary>
    internal BeirDataset RequireQrels() =>
        File.Exists(QrelsPath) ? this : throw new RelevoException($"{QrelsPath}: missing (the dataset has no judgments to evaluate against)");

    /// <summary>Opens a folder in BEIR layout, naming the first file that is missing (the corpus or the queries; the
    /// qrels file of <paramref name="split"/> may be missing, see <see cref="RequireQrels"/>).</summary>
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
        return new BeirDataset(Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder))), corpus, queries, qrels);
    }
}
