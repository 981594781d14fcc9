using System.Diagnostics;
using System.Globalization;
using Relevo.Collections;

namespace Relevo.Bench;

/// <summary>Runs a mode of bench/java/LuceneBench.java (Java Lucene 8) through bench/run-lucene-java.sh and reads the
/// figures it prints on its "RESULT key=value ..." line.</summary>
internal static class JavaLucene
{
    /// <summary>The figures (null when the program failed) and everything it printed.</summary>
    public static (Dictionary<string, double>? Result, string Log) Run(string mode, string corpusDir, string indexDir, string queriesFile,
        string runPath, int rounds, bool reuse)
    {
        string script = Path.Combine(RepoRoot(), "bench", "run-lucene-java.sh");
        var psi = new ProcessStartInfo("sh") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { script, mode, corpusDir, indexDir, queriesFile, runPath, rounds.ToString(CultureInfo.InvariantCulture), reuse ? "reuse" : "new" })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
        if (p.ExitCode != 0 || line is null) return (null, output + err.Result);
        return (line[7..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(x => x.Split('='))
            .ToDictionary(x => x[0], x => double.Parse(x[1], CultureInfo.InvariantCulture)), output);
    }

    /// <summary>The repository's root (where bench/ is), from the current folder or the program's.</summary>
    public static string RepoRoot() =>
        DatasetLocator.FindRepositoryRoot(System.IO.Directory.GetCurrentDirectory())
        ?? DatasetLocator.FindRepositoryRoot(AppContext.BaseDirectory) ?? throw new InvalidOperationException("repository root not found");
}
