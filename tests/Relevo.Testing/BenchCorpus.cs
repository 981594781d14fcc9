using System.Diagnostics;

namespace Relevo.Testing;

/// <summary>The synthetic benchmark corpus, written by ../shared/tools/make-bench-corpus (deterministic for given
/// arguments) into a temporary folder.</summary>
internal static class BenchCorpus
{
    public static TimeSpan Generate(string outDir, int docs, int queries, int seed)
    {
        string tool = Path.Combine(TestData.ToolsDir, "make-bench-corpus");
        if (!File.Exists(tool)) throw new FileNotFoundException($"{tool} not found (set RELEVO_TOOLS to the shared tools folder)", tool);
        var psi = new ProcessStartInfo("python3")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { tool, outDir, "--docs", $"{docs}", "--queries", $"{queries}", "--seed", $"{seed}" }) psi.ArgumentList.Add(a);
        var clock = Stopwatch.StartNew();
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start python3");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(600_000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"make-bench-corpus --docs {docs} ran over 10 minutes");
        }
        if (p.ExitCode != 0) throw new InvalidOperationException($"make-bench-corpus failed ({p.ExitCode}): {stderr.Result}{stdout.Result}");
        return clock.Elapsed;
    }
}
