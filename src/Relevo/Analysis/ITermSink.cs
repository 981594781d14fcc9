namespace Relevo.Analysis;

/// <summary>Receives the terms an <see cref="Analyzer"/> emits, once per term, in text order. The span is only
/// valid during the call (it points into a reused buffer), so copy it if you keep it.</summary>
internal interface ITermSink
{
    void OnTerm(ReadOnlySpan<char> term);
}
