using System.Diagnostics;
using System.Globalization;

namespace Relevo.Bench;

/// <summary>One named benchmark; options arrive as "--name value" pairs.</summary>
internal interface IBenchmark
{
    string Name { get; }
    string Description { get; }
    int Run(BenchOptions options);
}

/// <summary>The registry of benchmarks: add one line per benchmark.</summary>
internal static class Benchmarks
{
    public static readonly IBenchmark[] All =
    [
        new EvalBenchmark(),
        new SearchBenchmark(),
        new IndexBenchmark(),
        new PruningBenchmark(),
        new LuceneNetIndexCommand(),
        new LuceneNetRunCommand(),
        new LatticeBenchmark(),
        new FeaturesBenchmark(),
        new PhraseBenchmark(),
        new FilterBenchmark(),
    ];
}

/// <summary>Parsed "--key value" options with typed accessors and defaults.</summary>
internal sealed class BenchOptions(Dictionary<string, string> values)
{
    public int Int(string name, int fallback) =>
        values.TryGetValue(name, out string? v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public string? String(string name) => values.GetValueOrDefault(name);

    public static BenchOptions Parse(IEnumerable<string> args)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        string? key = null;
        foreach (string a in args)
        {
            if (a.StartsWith("--", StringComparison.Ordinal))
            {
                if (key is not null) d[key] = "true";
                key = a[2..];
            }
            else if (key is not null)
            {
                d[key] = a;
                key = null;
            }
            else throw new ArgumentException($"unexpected argument '{a}'");
        }
        if (key is not null) d[key] = "true";
        return new BenchOptions(d);
    }
}

internal static class BenchHost
{
    public static int Run(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "list")
        {
            Console.WriteLine("usage: dotnet run -c Release --project bench/Relevo.Bench -- <benchmark> [--option value ...]");
            Console.WriteLine();
            foreach (var b in Benchmarks.All) Console.WriteLine($"  {b.Name,-16} {b.Description}");
            return args.Length == 0 ? 1 : 0;
        }
        var bench = Array.Find(Benchmarks.All, b => b.Name == args[0]);
        if (bench is null)
        {
            Console.Error.WriteLine($"unknown benchmark '{args[0]}'; try 'list'");
            return 1;
        }
#if DEBUG
        Console.Error.WriteLine("warning: Debug build; use -c Release for figures");
#endif
        Console.WriteLine($"{bench.Name}: {Environment.ProcessorCount} cores, .NET {Environment.Version}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}");
        return bench.Run(BenchOptions.Parse(args.Skip(1)));
    }

    /// <summary>Runs an action warmup + repeat times; returns per-repeat wall times in seconds.</summary>
    public static double[] Time(Action action, int warmup, int repeat)
    {
        for (int i = 0; i < warmup; i++) action();
        var times = new double[repeat];
        for (int i = 0; i < repeat; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var sw = Stopwatch.StartNew();
            action();
            times[i] = sw.Elapsed.TotalSeconds;
        }
        return times;
    }

    public static string Summary(double[] seconds)
    {
        var s = (double[])seconds.Clone();
        Array.Sort(s);
        double median = s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
        return string.Create(CultureInfo.InvariantCulture, $"median {median:F3} s, min {s[0]:F3} s, max {s[^1]:F3} s over {s.Length} runs");
    }
}
