using System.ComponentModel;
using Relevo.Collections;
using Relevo.Evaluation;
using Spectre.Console.Cli;

namespace Relevo.Cli.Commands;

/// <summary><c>relevo eval</c>: trec_eval-exact measures for one or more runs, significance against a baseline,
/// per-query output, trec/json formats and an HTML or Markdown report with charts.</summary>
internal sealed class EvalCommand : Command<EvalCommand.Settings>
{
    public const string DefaultMeasures = "ndcg_cut_10,map,recall_100,P_10,recip_rank,judged_10";

    public sealed class Settings : CommandSettings
    {
        [CommandOption("--dataset <NAME>")]
        [Description("Dataset name or folder (BEIR layout); its qrels/test.tsv is used")]
        public string? Dataset { get; init; }

        [CommandOption("--qrels <PATH>")]
        [Description("Qrels file: TREC (qid iter docid grade) or BEIR tsv (query-id corpus-id score)")]
        public string? Qrels { get; init; }

        [CommandOption("--run <PATH>")]
        [Description("TREC run file (qid Q0 docid rank score tag); repeat for several runs")]
        public string[] Runs { get; init; } = [];

        [CommandOption("--baseline <PATH>")]
        [Description("The run the others are compared with (default: the first --run)")]
        public string? Baseline { get; init; }

        [CommandOption("-m|--measures <LIST>")]
        [Description("Comma-separated measures, trec_eval or short names: ndcg_cut_10/nDCG@10, ndcg, map/AP, map_cut_K, recall_K/R@K, P_K/P@K, recip_rank/RR, RR@K, success_K, bpref, num_rel_ret, judged_K/Judged@K")]
        [DefaultValue(DefaultMeasures)]
        public string Measures { get; init; } = DefaultMeasures;

        [CommandOption("-l|--rel-level <N>")]
        [Description("Lowest grade that counts as relevant (trec_eval -l)")]
        [DefaultValue(1)]
        public int RelevanceLevel { get; init; } = 1;

        [CommandOption("-c|--all-queries")]
        [Description("Average over all qrels queries; queries a run lacks count as 0 (trec_eval -c)")]
        public bool AllQueries { get; init; }

        [CommandOption("-q|--per-query")]
        [Description("Also print one row per query")]
        public bool PerQuery { get; init; }

        [CommandOption("--format <FORMAT>")]
        [Description("table (default), trec (\"measure<TAB>qid|all<TAB>value\" like trec_eval -q) or json")]
        [DefaultValue("table")]
        public string Format { get; init; } = "table";

        [CommandOption("--report <PATH>")]
        [Description("Write a report with tables and charts: .html (self-contained) or .md (PNGs beside it)")]
        public string? Report { get; init; }

        [CommandOption("--permutations <N>")]
        [Description("Permutations of the paired randomization test")]
        [DefaultValue(10_000)]
        public int Permutations { get; init; } = 10_000;

        [CommandOption("--seed <N>")]
        [Description("Seed of the randomization test")]
        [DefaultValue(42)]
        public int Seed { get; init; } = 42;

        [CommandOption("--alpha <P>")]
        [Description("Significance level for the Holm-adjusted p-values")]
        [DefaultValue(0.05)]
        public double Alpha { get; init; } = 0.05;

        [CommandOption("--agreement <QRELS>")]
        [Description("Two qrels to compare instead of evaluating, the reference first (e.g. --agreement human.tsv --agreement llm.tsv, or human.tsv,llm.tsv): Cohen's kappa (binary, graded, linearly weighted), Krippendorff's alpha and the confusion matrix over the second's judged pool, and Kendall's tau between the system orderings of the --run files (first measure)")]
        public string[] Agreement { get; init; } = [];

        [CommandOption("--complete-qrels")]
        [Description("With --agreement: the reference qrels judge every pair they should (a TREC pool); compare on the pairs both hold. Without it a pool pair the reference does not list counts as non-relevant, as BEIR's qrels list relevant pairs only")]
        public bool CompleteQrels { get; init; }

        public override Spectre.Console.ValidationResult Validate()
        {
            if (Runs.Length == 0) return Spectre.Console.ValidationResult.Error("give at least one --run PATH");
            if (Agreement.Length == 0 && (Dataset is null) == (Qrels is null)) return Spectre.Console.ValidationResult.Error("give exactly one of --qrels PATH or --dataset NAME");
            if (Format is not ("table" or "trec" or "json")) return Spectre.Console.ValidationResult.Error("--format must be table, trec or json");
            if (Permutations < 1) return Spectre.Console.ValidationResult.Error("--permutations must be positive");
            if (Alpha is <= 0 or >= 1) return Spectre.Console.ValidationResult.Error("--alpha must be between 0 and 1");
            if (Report is not null && !(Report.EndsWith(".html", StringComparison.OrdinalIgnoreCase) || Report.EndsWith(".htm", StringComparison.OrdinalIgnoreCase) || Report.EndsWith(".md", StringComparison.OrdinalIgnoreCase)))
                return Spectre.Console.ValidationResult.Error("--report must end in .html or .md");
            return Spectre.Console.ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (settings.Agreement.Length > 0) return AgreementOutput.Print(settings.Agreement, settings.Runs, settings.Measures, settings.RelevanceLevel, settings.CompleteQrels);
        string qrelsPath = settings.Qrels ?? DatasetLocator.Resolve(settings.Dataset!).QrelsPath;
        var measures = Evaluator.ParseMeasures([settings.Measures]);
        var qrels = Evaluation.Qrels.Load(qrelsPath);
        var evaluator = new Evaluator(qrels, new EvaluationOptions { RelevanceLevel = settings.RelevanceLevel, AllQueries = settings.AllQueries });

        var paths = new List<string>(settings.Runs);
        int baseline = 0;
        if (settings.Baseline is not null)
        {
            baseline = paths.FindIndex(p => SamePath(p, settings.Baseline));
            if (baseline < 0)
            {
                paths.Insert(0, settings.Baseline);
                baseline = 0;
            }
        }
        var runs = new List<TrecRun>(paths.Count);
        var results = new List<EvaluationResult>(paths.Count);
        foreach (string p in paths)
        {
            var run = TrecRun.Load(p);
            var result = evaluator.Evaluate(run, measures);
            if (result.QueryIds.Count == 0)
                throw new RelevoException($"{p}: no query of the run is in the qrels {qrelsPath}");
            runs.Add(run);
            results.Add(result);
        }
        var labels = EvalOutput.Labels(paths);
        RunComparison? comparison = results.Count > 1
            ? RunComparison.Compare(results, baseline, new ComparisonOptions { Permutations = settings.Permutations, Seed = settings.Seed, Alpha = settings.Alpha })
            : null;
        var view = new EvalView(qrelsPath, paths, labels, runs, results, baseline, comparison, evaluator);

        switch (settings.Format)
        {
            case "trec": EvalOutput.WriteTrec(Console.Out, view); break;
            case "json": EvalOutput.WriteJson(Console.OpenStandardOutput(), view, settings.PerQuery); break;
            default:
                if (CliHost.Interactive) EvalOutput.WriteSpectre(view, settings.PerQuery);
                else EvalOutput.WritePlain(Console.Out, view, settings.PerQuery);
                break;
        }
        if (settings.Report is not null)
        {
            EvalReport.Write(settings.Report, view);
            Console.Error.WriteLine($"report written to {settings.Report}");
        }
        return 0;
    }

    private static bool SamePath(string a, string b) =>
        string.Equals(Path.GetFullPath(a), Path.GetFullPath(b), StringComparison.Ordinal);
}

/// <summary>Everything the outputs of one <c>relevo eval</c> need.</summary>
internal sealed record EvalView(
    string QrelsPath, IReadOnlyList<string> Paths, IReadOnlyList<string> Labels, IReadOnlyList<TrecRun> Runs,
    IReadOnlyList<EvaluationResult> Results, int Baseline, RunComparison? Comparison, Evaluator Evaluator)
{
    public IReadOnlyList<Measure> Measures => Results[0].MeasureSpecs;
}
