using System.Globalization;
using Relevo.Llm;
using Relevo.Evaluation;

namespace Relevo.Cli.Commands;

/// <summary><c>relevo eval --agreement A B --run ...</c>: how far two qrels agree, as plain text.</summary>
internal static class AgreementOutput
{
    public static int Print(string[] agreement, string[] runPaths, string measures, int relevanceLevel)
    {
        var files = agreement.SelectMany(a => a.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
        if (files.Count != 2) throw new RelevoException($"--agreement needs exactly two qrels files, got {files.Count}");
        string measure = Evaluator.ParseMeasures([measures])[0].Name;
        var runs = runPaths.Select(TrecRun.Load).ToList();
        var r = Agreement.Compute(Qrels.Load(files[0]), Qrels.Load(files[1]), runs, measure, relevanceLevel);
        if (r.SharedPairs == 0) throw new RelevoException($"{files[0]} and {files[1]} judge no (query, document) pair in common");
        string F(double v) => double.IsNaN(v) ? "n/a" : v.ToString("F4", CultureInfo.InvariantCulture);
        Console.WriteLine($"shared pairs: {r.SharedPairs}");
        Console.WriteLine($"Cohen's kappa, binary (grade >= {relevanceLevel}): {F(r.KappaBinary)}");
        Console.WriteLine($"Cohen's kappa, graded: {F(r.KappaGraded)}");
        Console.WriteLine($"{measure}: run, {Path.GetFileName(files[0])}, {Path.GetFileName(files[1])}");
        for (int i = 0; i < r.Systems.Count; i++)
            Console.WriteLine($"  {runPaths[i]}  {F(r.Systems[i].ScoreA)}  {F(r.Systems[i].ScoreB)}");
        Console.WriteLine(r.KendallTau is { } tau ? $"Kendall's tau between the system orderings: {F(tau)}" : "Kendall's tau needs at least two --run files");
        return 0;
    }
}
