using System.ComponentModel;
using Relevo.Collections;
using Relevo.Evaluation;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Relevo.Cli.Commands;

internal sealed class RunCommand : Command<RunCommand.Settings>
{
    public sealed class Settings : LlmDatasetSettings
    {
        [CommandOption("--verbose")][System.ComponentModel.Description("After the LLM cost line, one line per query whose LLM calls failed or needed repair.")] public bool Verbose { get; init; }
        [CommandOption("--index <DIR>")] public string IndexDir { get; init; } = "";
        [CommandOption("--pipeline <TEXT>")][DefaultValue("bm25")][Description("e.g. bm25, bm25(k1=1.2,b=0.75), ql(mu=1000), bm25>>rm3(terms=10,docs=10,weight=0.5)>>bm25, fuse(rrf,bm25,ql)")] public string Pipeline { get; init; } = "bm25";
        [CommandOption("-k|--top-k <K>")][DefaultValue(1000)] public int K { get; init; } = 1000;
        [CommandOption("--output <FILE>")][Description("TREC run file to write (qid Q0 docid rank score tag).")] public string? Output { get; init; }
        [CommandOption("--tag <TAG>")][Description("Run tag (default: the pipeline text).")] public string? Tag { get; init; }
        [CommandOption("--threads <N>")][DefaultValue(1)][Description("Queries run in parallel; the output is identical for any N.")] public int Threads { get; init; } = 1;
        [CommandOption("--eval")][Description("Evaluate the run against the dataset's qrels and print the table.")] public bool Eval { get; init; }
        [CommandOption("--filter <QUERY>")][Description("Every query searches only documents matching this filter over typed fields (e.g. 'year:[[2015 TO 2020]] AND lang:en'), applied inside retrieval.")] public string? Filter { get; init; }
        [CommandOption("--syntax <MODE>")][DefaultValue("plain")][Description("plain: each query is a bag of words (test collections' queries are natural language); lucene: the Lucene query syntax; auto: Lucene syntax for the queries that use it.")] public string Syntax { get; init; } = "plain";
        [CommandOption("--measures <LIST>")][DefaultValue("ndcg_cut_10,recall_100,recall_1000,map")] public string Measures { get; init; } = "ndcg_cut_10,recall_100,recall_1000,map";

        public override ValidationResult Validate()
        {
            if (IndexDir.Length == 0) return ValidationResult.Error("--index is required");
            if (K < 1) return ValidationResult.Error("--k must be at least 1");
            if (Threads < 1) return ValidationResult.Error("--threads must be at least 1");
            if (Output is null && !Eval) return ValidationResult.Error("give --output FILE, --eval, or both");
            if (CliIndex.ParseSyntax(Syntax) is null) return ValidationResult.Error($"--syntax: '{Syntax}' is not one of plain, lucene, auto");
            return ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        using var llm = LlmOptions.Create(settings);
        string pipeline = CliIndex.CanonicalPipeline(settings.Pipeline, llm);
        // Judgments are read before any search, so a dataset without them fails at once; without --eval none are needed.
        var judgments = settings.Eval ? Qrels.Load(settings.QrelsPath() ?? throw new RelevoException("--eval needs --dataset or --qrels")) : null;
        var queries = JsonVectorReader.ReadQueries(settings.QueriesPath());
        using var index = CliIndex.Open(settings.IndexDir, llm);
        if (settings.Tag is { } t && t.Any(char.IsWhiteSpace)) throw new RelevoException("--tag: a TREC run tag cannot contain spaces");
        var options = new RunOptions { Threads = settings.Threads, Tag = settings.Tag, Cancellation = cancellation, Syntax = CliIndex.ParseSyntax(settings.Syntax)!.Value, Filter = settings.Filter };
        TrecRun? run = null;
        if (settings.Output is { } output)
        {
            if (Path.GetDirectoryName(Path.GetFullPath(output)) is { } dir) Directory.CreateDirectory(dir);
            long lines;
            using (var file = new FileStream(output, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
                lines = ProgressReporter.Run("search", "queries", report =>
                    index.WriteRun(queries, file, pipeline, settings.K, options with { Progress = n => report((double)n / queries.Count, 1, n) }));
            Console.WriteLine($"wrote {lines:N0} lines for {queries.Count:N0} queries to {output}");
            if (settings.Eval) run = TrecRun.Load(output);
        }
        else
        {
            run = ProgressReporter.Run("search", "queries", report =>
                index.Run(queries, pipeline, settings.K, options with { Progress = n => report((double)n / queries.Count, 1, n) }));
        }
        LlmOptions.Report(llm, settings.Verbose ? queries : null);
        if (settings.Eval)
        {
            var result = new Evaluator(judgments!).Evaluate(run!, settings.Measures.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            var table = new Table().AddColumn("measure").AddColumn(new TableColumn("value").RightAligned());
            foreach (var m in result.Measures)
                table.AddRow(m, result.Mean(m).ToString("F4", System.Globalization.CultureInfo.InvariantCulture));
            AnsiConsole.Write(table);
        }
        return 0;
    }
}
