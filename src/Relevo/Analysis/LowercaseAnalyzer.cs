namespace Relevo.Analysis;

/// <summary>Lucene 4.8's StandardTokenizer followed by LowerCaseFilter only: no possessives, stop words or stemming.</summary>
internal sealed class LowercaseAnalyzer : Analyzer
{
    internal static readonly LowercaseAnalyzer Instance = new();

    public override string Name => "lowercase";

    public override void Analyze(ReadOnlySpan<char> text, ITermSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        Span<char> buffer = stackalloc char[2 * StandardTokenizer.MaxTokenLength];
        var tokenizer = new StandardTokenizer(text);
        while (tokenizer.Next(out int start, out int length))
        {
            if (tokenizer.Skipped > 0) sink.OnGap(tokenizer.Skipped);
            int n = LowerCaser.Lower(text.Slice(start, length), buffer);
            sink.OnTerm(buffer[..n]);
        }
    }
}
