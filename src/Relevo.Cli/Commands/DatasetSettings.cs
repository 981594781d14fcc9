using System.ComponentModel;
using Relevo.Collections;
using Spectre.Console.Cli;

namespace Relevo.Cli.Commands;

/// <summary>--dataset NAME|PATH, or the files one by one with --corpus / --queries / --qrels.</summary>
internal class DatasetSettings : CommandSettings
{
    [CommandOption("--dataset <NAME|PATH>")]
    [Description("A folder in BEIR layout, or a name looked up in $RELEVO_DATA, ../shared/datasets, the user cache (BEIR names are downloaded there).")]
    public string? Dataset { get; init; }

    [CommandOption("--corpus <FILE>")]
    [Description("corpus.jsonl or corpus.jsonl.gz ({\"_id\",\"title\",\"text\"} per line)")]
    public string? Corpus { get; init; }

    [CommandOption("--queries <FILE>")]
    [Description("queries.jsonl ({\"_id\",\"text\"} per line); for pre-encoded queries also JSON lines of {\"id\",\"vector\"} or a TSV of qid<TAB>term term ... (run)")]
    public string? Queries { get; init; }

    [CommandOption("--qrels <FILE>")]
    [Description("qrels in BEIR tsv or TREC layout")]
    public string? Qrels { get; init; }

    private BeirDataset? _resolved;

    /// <summary>The --dataset folder; its qrels file may be missing (only <see cref="QrelsPath"/> needs it).</summary>
    internal BeirDataset? ResolveDataset()
    {
        if (Dataset is null) return null;
        return _resolved ??= DatasetDownload.Resolve(Dataset, needsQrels: false);
    }

    internal string CorpusPath() => Corpus ?? ResolveDataset()?.CorpusPath
        ?? throw new RelevoException("give --dataset or --corpus");
    internal string QueriesPath() => Queries ?? ResolveDataset()?.QueriesPath
        ?? throw new RelevoException("give --dataset or --queries");

    /// <summary>--qrels, or the --dataset's qrels file, which must then exist; null if neither option is given.</summary>
    internal string? QrelsPath() => Qrels ?? ResolveDataset()?.RequireQrels().QrelsPath;
}

/// <summary>Dataset resolution with a progress bar when a BEIR download is needed.</summary>
internal static class DatasetDownload
{
    /// <param name="nameOrPath">A dataset folder or name.</param>
    /// <param name="needsQrels">True for the commands that evaluate (experiment, quickstart): a dataset without its
    /// qrels file is then an error now, before anything is indexed. Commands that only index or search pass false.</param>
    public static BeirDataset Resolve(string nameOrPath, bool needsQrels = true)
    {
        var dataset = DatasetLocator.TryResolveLocal(nameOrPath) ?? ProgressReporter.Run($"download {nameOrPath}", "bytes", report =>
            DatasetLocator.ResolveOrDownload(nameOrPath, new Progress<DownloadProgress>(p =>
                report(p.BytesTotal is > 0 ? (double)p.BytesDone / p.BytesTotal.Value : 0, 1, p.BytesDone))));
        return needsQrels ? dataset.RequireQrels() : dataset;
    }
}
