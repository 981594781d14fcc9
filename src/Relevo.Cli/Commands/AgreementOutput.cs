using System.Globalization;
using Relevo.Llm;
using Relevo.Evaluation;

namespace Relevo.Cli.Commands;

/// <summary><c>relevo eval --agreement A B --run ...</c>: how far two qrels agree, as plain text.</summary>
internal static class AgreementOutput
{
    public static int Print(string[] agreement, string[] runPaths, string measures, int relevanceLevel, bool complete)
    {
        var files = agreement.SelectMany(a => a.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
        if (files.Count != 2) throw new RelevoException($"--agreement needs exactly two qrels files, got {files.Count}");
        string measure = Evaluator.ParseMeasures([measures])[0].Name;
        var runs = runPaths.Select(TrecRun.Load).ToList();
        var r = Agreement.Compute(Qrels.Load(files[0]), Qrels.Load(files[1]), runs, measure, relevanceLevel, complete);
        string a = Path.GetFileName(files[0]), b = Path.GetFileName(files[1]);
        if (r.Pairs == 0)
            throw new RelevoException(complete
                ? $"{files[0]} and {files[1]} judge no (query, document) pair in common"
                : $"{files[1]} judges no document of a query that {files[0]} judges");
        string F(double v) => double.IsNaN(v) ? "n/a" : v.ToString("F4", CultureInfo.InvariantCulture);
        Console.WriteLine($"pool: {r.Pairs} (query, document) pairs judged in {b}");
        Console.WriteLine(complete
            ? $"  compared where {a} judges them too (--complete-qrels)"
            : $"  {r.AbsentCountedNonRelevant} of them are not in {a} and count as non-relevant (its qrels list relevant pairs only; --complete-qrels compares shared pairs)");
        if (r.QueriesWithoutReference > 0) Console.WriteLine($"  {r.QueriesWithoutReference} queries of {b} that {a} does not judge are left out");
        Console.WriteLine($"Cohen's kappa, binary (grade >= {relevanceLevel}): {F(r.KappaBinary)}");
        Console.WriteLine($"Cohen's kappa, graded: {F(r.KappaGraded)}");
        Console.WriteLine($"Cohen's kappa, linearly weighted: {F(r.KappaLinear)}");
        Console.WriteLine($"Krippendorff's alpha, ordinal: {F(r.AlphaOrdinal)}");
        Console.WriteLine($"confusion (rows: {a} grade, columns: {b} grade)");
        Console.WriteLine("       " + string.Concat(r.Grades.Select(g => $"{g,8}")));
        for (int i = 0; i < r.Grades.Count; i++)
        {
            var row = new System.Text.StringBuilder($"  {r.Grades[i],3}  ");
            for (int j = 0; j < r.Grades.Count; j++) row.Append(CultureInfo.InvariantCulture, $"{r.Confusion[i, j],8}");
            Console.WriteLine(row.ToString());
        }
        Console.WriteLine($"{measure}: run, {a}, {b}");
        for (int i = 0; i < r.Systems.Count; i++)
            Console.WriteLine($"  {runPaths[i]}  {F(r.Systems[i].ScoreA)}  {F(r.Systems[i].ScoreB)}");
        Console.WriteLine(r.KendallTau is { } tau ? $"Kendall's tau between the system orderings: {F(tau)}" : "Kendall's tau needs at least two --run files");
        return 0;
    }
}
