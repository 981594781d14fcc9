namespace Relevo;

/// <summary>How a question is answered (<c>relevo ask</c>, <c>POST /api/ask</c>): the pipeline that retrieves, how many of its hits are scored (0–10,
/// pointwise), the relevance a passage needs to be kept (REAR), how many passages the answer may read, and how many
/// retrieve-then-answer rounds run (Iter-RetGen: later rounds retrieve with the question plus the draft answer).</summary>
internal sealed record AskOptions(string Pipeline = "bm25", int Depth = 20, int Passages = 5, double Threshold = 5, int Iterations = 1);

internal sealed record AskPassage(string DocId, string Title, string Text, double Relevance);

/// <summary>The answer, the citations that name a given passage, those that did not (removed from the answer), and the
/// passages the answer read, in the order it read them.</summary>
internal sealed record AskResult(string Question, string Answer, IReadOnlyList<string> Citations,
    IReadOnlyList<string> InvalidCitations, IReadOnlyList<AskPassage> Passages, int Iterations);

/// <summary>Answers questions from an index's passages with citations: registered as a service by the LLM extension
/// when it has an endpoint, so the CLI and the server can ask without referencing it.</summary>
internal interface IAnswerer
{
    Task<AskResult> AskAsync(SearchIndex index, string question, AskOptions options, CancellationToken cancellation);
}
