using System.ComponentModel;
using System.Security.Cryptography;
using System.Text;
using Relevo.Collections;
using Relevo.Evaluation;
using Relevo.Index;
using Relevo.Pipelines;
using Spectre.Console;
using Relevo.Cli.Learning;
using Spectre.Console.Cli;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Relevo.Cli.Commands;

/// <summary>`relevo experiment experiments/NAME.yaml`: datasets × pipelines → runs (cached by index commit and
/// pipeline text) → one evaluation table per dataset with significance against the baseline, written to
/// docs/results/NAME.md together with the command that reproduces it.</summary>
internal sealed class ExperimentCommand : Command<ExperimentCommand.Settings>
{
    public sealed class Settings : LlmCommandSettings
    {
        [CommandArgument(0, "<FILE>")][Description("Experiment file (YAML): datasets, pipelines, baseline, measures, k.")]
        public string File { get; init; } = "";

        [CommandOption("--output <FILE>")][Description("Markdown to write (default docs/results/<name>.md).")]
        public string? Output { get; init; }

        [CommandOption("--index-root <DIR>")][DefaultValue("idx")][Description("Where dataset indexes are built and reused.")]
        public string IndexRoot { get; init; } = "idx";

        [CommandOption("--runs <DIR>")][DefaultValue("runs/cache")][Description("Run cache: one TREC file per (index commit, pipeline, k).")]
        public string RunCache { get; init; } = "runs/cache";

        [CommandOption("--threads <N>")] public int? Threads { get; init; }
    }

    /// <summary>The experiment file, as YAML.</summary>
    public sealed class Spec
    {
        public string? Title { get; set; }
        public string? Description { get; set; }
        public List<string> Datasets { get; set; } = [];
        public List<string> Pipelines { get; set; } = [];
        public string? Baseline { get; set; }
        public List<string> Measures { get; set; } = ["ndcg_cut_10", "map", "recall_100", "recall_1000"];
        public int K { get; set; } = 1000;
        /// <summary>Learned rankers to add as rows: cross-validated on each dataset, or trained on another one.</summary>
        public List<LearnedSpec> Learned { get; set; } = [];
    }

    /// <summary>A learned row: the pipeline ending in features(...), the learner, and either cross-validation folds
    /// over the dataset's own queries or the dataset it is trained on (transfer).</summary>
    public sealed class LearnedSpec
    {
        public string Pipeline { get; set; } = "";
        public string Learner { get; set; } = "lambdamart";
        public int Folds { get; set; } = 5;
        public string? TrainOn { get; set; }
        public int Depth { get; set; } = 100;

        public string Label(string canonical) =>
            $"{canonical}>>ltr({Learner}, {(TrainOn is null ? $"{Folds}-fold cross-validation" : $"trained on {TrainOn}")})";
    }

    public static Spec Load(string path)
    {
        if (!System.IO.File.Exists(path)) throw new RelevoException($"{path}: file not found");
        Spec? spec;
        try
        {
            spec = new DeserializerBuilder().WithNamingConvention(CamelCaseNamingConvention.Instance).Build()
                .Deserialize<Spec>(System.IO.File.ReadAllText(path));
        }
        catch (YamlException e)
        {
            throw new RelevoException($"{path}:{e.Start.Line}: {e.InnerException?.Message ?? e.Message}");
        }
        if (spec is null) throw new RelevoException($"{path}: empty experiment file");
        if (spec.Datasets.Count == 0) throw new RelevoException($"{path}: field datasets: list at least one dataset");
        if (spec.Pipelines.Count == 0) throw new RelevoException($"{path}: field pipelines: list at least one pipeline");
        if (spec.K < 1) throw new RelevoException($"{path}: field k: must be at least 1");
        for (int i = 0; i < spec.Pipelines.Count; i++)
        {
            try { CliIndex.CanonicalPipeline(spec.Pipelines[i]); }
            catch (PipelineSyntaxException e) { throw new RelevoException($"{path}: field pipelines[{i}]: {e.Message}"); }
        }
        string baseline = spec.Baseline ?? spec.Pipelines[0];
        if (!spec.Pipelines.Exists(p => CliIndex.CanonicalPipeline(p) == CliIndex.CanonicalPipeline(baseline)))
            throw new RelevoException($"{path}: field baseline: '{baseline}' is not one of the pipelines");
        for (int i = 0; i < spec.Learned.Count; i++)
        {
            var l = spec.Learned[i];
            string field = $"{path}: field learned[{i}]";
            try { LearnedRuns.Split(Pipeline.Parse(l.Pipeline, ExtensionRegistry.Create(CliIndex.Extensions()))); }
            catch (RelevoException e) { throw new RelevoException($"{field}.pipeline: {e.Message}"); }
            if (!LearnedRuns.Learners.Contains(l.Learner)) throw new RelevoException($"{field}.learner: '{l.Learner}' is not one of {string.Join(", ", LearnedRuns.Learners)}");
            if (l.TrainOn is null && l.Folds is < 2 or > 20) throw new RelevoException($"{field}.folds: between 2 and 20 (or give trainOn)");
            if (l.Depth is < 1 or > 10_000) throw new RelevoException($"{field}.depth: between 1 and 10000");
        }
        Evaluator.ParseMeasures(spec.Measures);
        return spec;
    }

    private static bool UsesLlm(Pipeline p) =>
        p.Root.Descendants().Any(s => s is Relevo.Llm.LlmStage or Relevo.Llm.ExpandStage);

    /// <summary>Every embedding model a pipeline uses, so the dataset's index can be given its vectors first.</summary>
    private static IEnumerable<string> DenseModels(IEnumerable<Pipeline> pipelines)
    {
        var models = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var p in pipelines)
            foreach (var stage in p.Root.Descendants())
            {
                if (stage is Relevo.Dense.DenseStage d) models.Add(d.Spec.Model);
                if (stage is Relevo.Dense.VectorPrfStage v) models.Add(v.Model);
                if (stage is Relevo.Dense.DenseRerankStage r) models.Add(r.Spec.Model);
            }
        return models;
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var spec = Load(settings.File);
        string name = Path.GetFileNameWithoutExtension(settings.File);
        string output = settings.Output ?? Path.Combine("docs", "results", name + ".md");
        using var llm = LlmOptions.Create(settings);
        var registry = ExtensionRegistry.Create(CliIndex.Extensions(llm));
        var pipelines = spec.Pipelines.Select(p => Pipeline.Parse(p, registry)).ToList();
        string baselineText = Pipeline.Parse(spec.Baseline ?? spec.Pipelines[0], registry).Text;
        int baseline = pipelines.FindIndex(p => p.Text == baselineText);
        int threads = settings.Threads ?? Environment.ProcessorCount;

        var md = new StringBuilder();
        md.Append("# ").Append(spec.Title ?? name).Append("\n\n");
        if (spec.Description is { } d) md.Append(d.Trim()).Append("\n\n");
        md.Append("Reproduce with:\n\n```bash\ndotnet run --project src/Relevo.Cli -c Release -- experiment ")
          .Append(settings.File.Replace('\\', '/'))
          .Append(llm is null ? "" : $" --llm {llm.Settings.Endpoint} --llm-model {llm.Settings.Model}").Append("\n```\n\n")
          .Append(FormattableString.Invariant($"Runs retrieve the top {spec.K} documents per query; datasets from `../shared/datasets` (BEIR layout, test qrels). "))
          .Append("Pipelines are written in Relevo's pipeline language (see `docs/pipelines.md`). Generated ")
          .Append(DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)).Append(".\n\n");

        foreach (var datasetName in spec.Datasets)
        {
            var dataset = DatasetDownload.Resolve(datasetName);
            string indexDir = DatasetIndexes.Ensure(dataset, Path.Combine(settings.IndexRoot, dataset.Name));
            var learnedPipelines = spec.Learned.Select(l => Pipeline.Parse(l.Pipeline, registry)).ToList();
            foreach (var model in DenseModels(pipelines.Concat(learnedPipelines))) DatasetIndexes.EnsureVectors(indexDir, model);
            using var index = CliIndex.Open(indexDir, llm);
            var status = index.StatusAsync(withSize: false).GetAwaiter().GetResult();
            var queries = JsonlReader.ReadQueries(dataset.QueriesPath);
            var evaluator = new Evaluator(Qrels.Load(dataset.QrelsPath));
            string commit = Convert.ToHexString(SHA256.HashData(System.IO.File.ReadAllBytes(Path.Combine(indexDir, Manifest.FileName))))[..16];

            var runs = new List<TrecRun>();
            var paths = new List<string>();
            foreach (var p in pipelines)
            {
                // A pipeline with an LLM stage also depends on the model that answers it.
                string model = UsesLlm(p) && llm is not null ? "\nllm=" + llm.Settings.Model : "";
                string key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{commit}\n{p.Text}\n{spec.K}{model}")))[..20].ToLowerInvariant();
                string path = Path.Combine(settings.RunCache, dataset.Name, key + ".trec");
                TrecRun run;
                if (System.IO.File.Exists(path))
                {
                    run = TrecRun.Load(path);
                    Console.Error.WriteLine($"{dataset.Name}: {p.Text}: cached run {path}");
                }
                else
                {
                    run = ProgressReporter.Run($"{dataset.Name}: {p.Text}", "queries", report =>
                        index.Run(queries, p.Text, spec.K, new RunOptions { Threads = threads, Progress = n => report((double)n / queries.Count, 1, n), Cancellation = cancellation }));
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    string temp = path + ".tmp";
                    run.Write(temp);
                    System.IO.File.Move(temp, path, overwrite: true);
                }
                runs.Add(run);
                paths.Add(path);
            }
            var labels = pipelines.Select(p => p.Text).ToList();
            var foldTables = new StringBuilder();
            for (int i = 0; i < spec.Learned.Count; i++)
            {
                var l = spec.Learned[i];
                string label = l.Label(learnedPipelines[i].Text);
                if (l.TrainOn is { } from && DatasetDownload.Resolve(from).Name == dataset.Name)
                {
                    foldTables.Append($"`{label}` is left out here: trained on this dataset, it would be tested on its training queries.\n\n");
                    continue;
                }
                var qrels = Qrels.Load(dataset.QrelsPath);
                var judged = queries.Where(q => qrels.ForQuery(q.Id) is not null).ToList();
                var set = ProgressReporter.Run($"{dataset.Name}: features for {label}", "queries", report =>
                    LearnedRuns.Extract(index, learnedPipelines[i].Text, judged, qrels, l.Depth, threads, n => report((double)n / judged.Count, 1, n), cancellation));
                TrecRun run;
                if (l.TrainOn is null)
                {
                    var cv = LearnedRuns.CrossValidate(set, l.Learner, l.Folds);
                    run = cv.Learned;
                    foldTables.Append($"Folds of `{label}` (nDCG@10; folds by xxHash32 of the query id):\n\n| fold | queries | `{set.Before}` | learned |\n| ---: | ---: | ---: | ---: |\n");
                    foreach (var (fold, n, incoming, learned) in LearnedRuns.ByFold(cv, evaluator, "ndcg_cut_10"))
                        foldTables.Append(FormattableString.Invariant($"| {fold} | {n} | {incoming:F4} | {learned:F4} |\n"));
                    foldTables.Append('\n');
                }
                else
                {
                    var source = DatasetDownload.Resolve(l.TrainOn);
                    string sourceDir = DatasetIndexes.Ensure(source, Path.Combine(settings.IndexRoot, source.Name));
                    foreach (var model in DenseModels([learnedPipelines[i]])) DatasetIndexes.EnsureVectors(sourceDir, model);
                    using var sourceIndex = CliIndex.Open(sourceDir, llm);
                    var sourceQrels = Qrels.Load(source.QrelsPath);
                    var sourceQueries = JsonlReader.ReadQueries(source.QueriesPath).FindAll(q => sourceQrels.ForQuery(q.Id) is not null);
                    var training = ProgressReporter.Run($"{source.Name}: features for {label}", "queries", report =>
                        LearnedRuns.Extract(sourceIndex, learnedPipelines[i].Text, sourceQueries, sourceQrels, l.Depth, threads,
                            n => report((double)n / sourceQueries.Count, 1, n), cancellation));
                    run = new TrecRun("transfer");
                    LearnedRuns.Apply(LearnedRuns.Fit(training, training.Examples, l.Learner, source.Name), set.Examples, run);
                }
                string runPath = Path.Combine(settings.RunCache, dataset.Name, "learned-" + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".trec");
                Directory.CreateDirectory(Path.GetDirectoryName(runPath)!);
                run.Write(runPath);
                runs.Add(run);
                paths.Add(runPath);
                labels.Add(label);
            }
            var results = runs.Select(r => evaluator.Evaluate(r, spec.Measures)).ToList();
            var comparison = RunComparison.Compare(results, baseline);
            var view = new EvalView(dataset.QrelsPath, paths, labels, runs, results, baseline, comparison, evaluator);
            var grid = EvalOutput.Summary(view) with
            {
                Title = $"{dataset.Name} ({status.Documents:N0} documents, {queries.Count} queries)",
                Note = EvalOutput.Legend(view),
            };
            EvalOutput.WriteMarkdown(md, grid, "##");
            md.Append(foldTables);
            if (CliHost.Interactive) EvalOutput.WriteSpectre(grid);
            else EvalOutput.WritePlain(Console.Out, grid);
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        System.IO.File.WriteAllText(output, md.ToString());
        LlmOptions.Report(llm);
        Console.WriteLine($"wrote {output}");
        return 0;
    }
}
