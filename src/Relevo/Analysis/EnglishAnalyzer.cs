namespace Relevo.Analysis;

/// <summary>Produces the same terms as Lucene 4.8's EnglishAnalyzer: StandardTokenizer → (StandardFilter, a no-op)
/// → EnglishPossessiveFilter → LowerCaseFilter → StopFilter (33 English stop words) → PorterStemFilter.</summary>
internal sealed class EnglishAnalyzer : Analyzer
{
    internal static readonly EnglishAnalyzer Instance = new();

    public override string Name => "english";

    public override void Analyze(ReadOnlySpan<char> text, ITermSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        // a token is at most 255 chars; twice that covers any growth under lower-casing
        Span<char> buffer = stackalloc char[2 * StandardTokenizer.MaxTokenLength];
        var tokenizer = new StandardTokenizer(text);
        int gap = 0;
        while (tokenizer.Next(out int start, out int length))
        {
            gap += tokenizer.Skipped;
            ReadOnlySpan<char> token = text.Slice(start, length);
            token = token[..EnglishPossessive.Strip(token)];
            int n = LowerCaser.Lower(token, buffer);
            Span<char> term = buffer[..n];
            if (EnglishStopWords.Contains(term))
            {
                gap++; // Lucene's StopFilter keeps the position
                continue;
            }
            n = PorterStemmer.Stem(term);
            if (gap > 0)
            {
                sink.OnGap(gap);
                gap = 0;
            }
            sink.OnTerm(buffer[..n]);
        }
    }
}
