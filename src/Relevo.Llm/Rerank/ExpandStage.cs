using Relevo.Pipelines;

namespace Relevo.Llm;

/// <summary>llm.expand(repeat=5): the model writes a pseudo-document for the query, and the next retriever searches
/// with the query repeated <c>repeat</c> times plus that document (query2doc for bm25; HyDE-style for dense, which
/// embeds the same text). If the call fails the query is left as it was.</summary>
internal sealed class ExpandStage(int repeat = 5) : Stage
{
    public int Repeat { get; } = repeat;
    public override string Text => Repeat == 5 ? "llm.expand" : $"llm.expand(repeat={Repeat})";

    public override async ValueTask<PipelineState> RunAsync(PipelineState state, StageContext context, int depth)
    {
        var llm = LlmStage.Client(context);
        string q = state.Query.Text;
        LlmReply? reply;
        using (llm.Stats.ForQuery(q))
        using (LlmClient.CancelWith(context.Cancellation))
            reply = await llm.CompleteAsync(new LlmRequest(null, Prompts.Expand(q), MaxTokens: 200)).ConfigureAwait(false);
        if (reply is null || string.IsNullOrWhiteSpace(reply.Text)) return state;
        string text = string.Join(' ', Enumerable.Repeat(q, Repeat)) + " " + reply.Text.Trim();
        return state with { Query = new PipelineQuery(text) };
    }
}
