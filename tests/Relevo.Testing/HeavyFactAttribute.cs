using Xunit;

namespace Relevo.Testing;

/// <summary>A test too slow for the default run on 2 cores (e.g. embedding all of SciFact on a CPU, about 20
/// minutes cold): it runs only with RELEVO_HEAVY=1. The default run still checks effectiveness on real collections
/// through the BM25 tests, which take seconds.</summary>
public sealed class HeavyFactAttribute : FactAttribute
{
    public static bool Enabled => Environment.GetEnvironmentVariable("RELEVO_HEAVY") == "1";

    public HeavyFactAttribute()
    {
        if (!Enabled) Skip = "heavy: set RELEVO_HEAVY=1 to run (embeds all of SciFact on the CPU)";
    }
}
