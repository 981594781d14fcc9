namespace Relevo.Analysis;

/// <summary>Splits on white space and keeps each token as it is (no case folding, stop words or stemming), as
/// Lucene's WhitespaceAnalyzer: the analyzer of pre-encoded (learned sparse) indexes, whose terms are a model's
/// vocabulary entries ("##ing" included) and must match the encoded queries' terms exactly.</summary>
internal sealed class WhitespaceAnalyzer : Analyzer
{
    internal static readonly WhitespaceAnalyzer Instance = new();

    public override string Name => "whitespace";

    public override void Analyze(ReadOnlySpan<char> text, ITermSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        int i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i])) i++;
            int start = i;
            while (i < text.Length && !char.IsWhiteSpace(text[i])) i++;
            if (i > start) sink.OnTerm(text[start..i]);
        }
    }
}
