// Interim stand-in until the analysis branch lands; deleted at merge.
namespace Relevo.Analysis;
public interface ITermSink { void OnTerm(ReadOnlySpan<char> term); }
public abstract class Analyzer
{
    public abstract string Name { get; }
    public abstract void Analyze(ReadOnlySpan<char> text, ITermSink sink);
    public List<string> Terms(string text) { var c = new Collector(); Analyze(text, c); return c.Terms; }
    public static Analyzer Create(string name) => name == "english" ? new EnglishAnalyzer() : name == "lowercase" ? new LowercaseAnalyzer() : throw new RelevoException($"unknown analyzer '{name}'");
    private sealed class Collector : ITermSink { public List<string> Terms = []; public void OnTerm(ReadOnlySpan<char> t) => Terms.Add(t.ToString()); }
}
public sealed class LowercaseAnalyzer : Analyzer
{
    public override string Name => "lowercase";
    public override void Analyze(ReadOnlySpan<char> text, ITermSink sink)
    {
        Span<char> buf = stackalloc char[256];
        int n = 0;
        for (int i = 0; i <= text.Length; i++)
        {
            if (i < text.Length && char.IsLetterOrDigit(text[i])) { if (n < 256) buf[n++] = char.ToLowerInvariant(text[i]); }
            else if (n > 0) { sink.OnTerm(buf[..n]); n = 0; }
        }
    }
}
public sealed class EnglishAnalyzer : Analyzer
{
    public override string Name => "english";
    public override void Analyze(ReadOnlySpan<char> text, ITermSink sink) => new LowercaseAnalyzer().Analyze(text, sink);
}
