using System.Diagnostics;
using System.Globalization;
using Relevo.Evaluation;
using Xunit.Abstractions;

namespace Relevo.Tests.Evaluation;

/// <summary>Evaluates a real BM25 run (Lucene.NET 4.8, EnglishAnalyzer, BM25 k1=0.9 b=0.4, top 1000) over SciFact
/// and Cranfield with Relevo's Evaluator and with the independent stdlib-only Python implementation in
/// oracle/trec_oracle.py; every measure must agree per query and on the mean to 1e-4.</summary>
public class OracleTests(ITestOutputHelper output)
{
    private const string Measures =
        "ndcg_cut_10,ndcg_cut_100,ndcg,map,map_cut_10,map_cut_1000,recall_10,recall_100,recall_1000,P_5,P_10,P_1000,"
        + "recip_rank,recip_rank_cut_10,success_1,success_10,bpref,num_rel_ret,judged_10,judged_2000";

    [Theory]
    [InlineData("scifact", 1, false)]
    [InlineData("cranfield", 1, false)]
    [InlineData("cranfield", 2, true)]
    public void EvaluatorAgreesWithIndependentOracle(string dataset, int relLevel, bool allQueries)
    {
        string folder = Path.Combine(TestData.DatasetsDir, dataset);
        Assert.True(System.IO.Directory.Exists(folder), $"dataset folder {folder} is missing (set RELEVO_DATA)");
        string qrelsPath = Path.Combine(folder, "qrels", "test.tsv");
        string runPath = Path.Combine(Path.GetTempPath(), $"relevo-oracle-{dataset}-{Environment.ProcessId}-{relLevel}.trec");
        try
        {
            var ds = Relevo.Collections.BeirDataset.FromFolder(folder);
            TrecRun run;
            using (var lucene = new Relevo.Testing.LuceneBm25(ds.CorpusPath))
                run = lucene.Run(Relevo.Collections.JsonlReader.ReadQueries(ds.QueriesPath), 1000);
            // drop every fifth judged query from the run so "a run missing a query" is covered on real data
            if (allQueries)
            {
                var pruned = new TrecRun(run.Tag);
                int i = 0;
                foreach (string q in run.QueryIds)
                    if (i++ % 5 != 0) pruned.AddRanking(q, run.ForQuery(q));
                run = pruned;
            }
            run.Write(runPath);
            // RELEVO_ORACLE_KEEP=folder keeps the generated run (e.g. to compare with a locally built trec_eval)
            if (Environment.GetEnvironmentVariable("RELEVO_ORACLE_KEEP") is { Length: > 0 } keep)
                File.Copy(runPath, Path.Combine(keep, Path.GetFileName(runPath)), overwrite: true);
            var loaded = TrecRun.Load(runPath);
            var result = new Evaluator(Qrels.Load(qrelsPath), new EvaluationOptions { RelevanceLevel = relLevel, AllQueries = allQueries })
                .Evaluate(loaded, Measures.Split(','));

            var expected = RunOracle(qrelsPath, runPath, relLevel, allQueries);
            double maxDiff = 0;
            int compared = 0;
            foreach (var ((measure, qid), value) in expected)
            {
                double got = qid == "all" ? result.Aggregate(measure) : result.Value(measure, qid);
                double diff = Math.Abs(got - value);
                maxDiff = Math.Max(maxDiff, diff);
                Assert.True(diff < 1e-4, $"{dataset} {measure} {qid}: oracle {value}, Relevo {got}");
                compared++;
            }
            int queries = result.QueryIds.Count;
            Assert.Equal(Measures.Split(',').Length * (queries + 1), compared);
            output.WriteLine($"{dataset}: {queries} queries, {compared} values compared, max |diff| = {maxDiff:E2}; "
                + $"nDCG@10 {result.Mean("ndcg_cut_10"):F4}, MAP {result.Mean("map"):F4}, R@100 {result.Mean("recall_100"):F4}");
        }
        finally
        {
            File.Delete(runPath);
        }
    }

    private static Dictionary<(string Measure, string Qid), double> RunOracle(string qrels, string run, int relLevel, bool allQueries)
    {
        string script = Path.Combine(TestData.EvaluationDir, "oracle", "trec_oracle.py");
        var psi = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { script, qrels, run, Measures, "--rel-level", relLevel.ToString(CultureInfo.InvariantCulture) })
            psi.ArgumentList.Add(a);
        if (allQueries) psi.ArgumentList.Add("--all-queries");
        using var p = Process.Start(psi)!;
        var stderrTask = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, "oracle failed: " + stderrTask.Result);
        var d = new Dictionary<(string, string), double>();
        foreach (string line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split('\t');
            d[(f[0], f[1])] = double.Parse(f[2], CultureInfo.InvariantCulture);
        }
        return d;
    }
}
