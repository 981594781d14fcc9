using System.Globalization;
using Relevo.Evaluation;

namespace Relevo.Tests.Evaluation;

/// <summary>Small fixed qrels and runs under Conformance/&lt;case&gt;/ with expected values worked out by hand in
/// expected.txt ("measure qid|all value", '#' lines explain the arithmetic; "# options:" sets rel-level / all-queries).</summary>
public class ConformanceTests
{
    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (string dir in Directory.GetDirectories(Path.Combine(TestData.EvaluationDir, "Conformance")).Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(dir));
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesHandWorkedValues(string name)
    {
        string dir = Path.Combine(TestData.EvaluationDir, "Conformance", name);
        var lines = File.ReadAllLines(Path.Combine(dir, "expected.txt"));
        var options = new EvaluationOptions();
        var expected = new List<(string Measure, string Qid, double Value, int Line)>();
        for (int i = 0; i < lines.Length; i++)
        {
            string l = lines[i].Trim();
            if (l.StartsWith("# options:", StringComparison.Ordinal))
            {
                if (l.Contains("rel-level=2", StringComparison.Ordinal)) options = options with { RelevanceLevel = 2 };
                if (l.Contains("all-queries", StringComparison.Ordinal)) options = options with { AllQueries = true };
                continue;
            }
            if (l.Length == 0 || l[0] == '#') continue;
            var f = l.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            expected.Add((f[0], f[1], double.Parse(f[2], CultureInfo.InvariantCulture), i + 1));
        }
        Assert.NotEmpty(expected);
        var qrels = Qrels.Load(Path.Combine(dir, "qrels.txt"));
        var run = TrecRun.Load(Path.Combine(dir, "run.txt"));
        var result = new Evaluator(qrels, options).Evaluate(run, expected.Select(e => e.Measure).Distinct());
        foreach (var (measure, qid, value, line) in expected)
        {
            double got = qid == "all" ? result.Aggregate(measure) : result.Value(measure, qid);
            Assert.True(Math.Abs(got - value) < 1e-6,
                $"{name}/expected.txt:{line}: {measure} {qid}: expected {value}, got {got.ToString("R", CultureInfo.InvariantCulture)}");
        }
    }
}
