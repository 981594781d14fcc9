namespace Relevo.Analysis;

/// <summary>Receives the terms an <see cref="Analyzer"/> emits, once per term, in text order. The span is only
/// valid during the call (it points into a reused buffer), so copy it if you keep it.</summary>
internal interface ITermSink
{
    void OnTerm(ReadOnlySpan<char> term);

    /// <summary>Called before a term when <paramref name="positions"/> tokens were dropped since the previous one (stop
    /// words, tokens over the length limit): Lucene's position increment, which phrase matching counts, minus one.
    /// Sinks that keep no positions ignore it.</summary>
    void OnGap(int positions) { }
}
