using Relevo.Pipelines;

namespace Relevo.Llm;

/// <summary>llm.expand(repeat=5, prf=0): the model writes a pseudo-document for the query, and the next retriever searches
/// with the query repeated <c>repeat</c> times plus that document (query2doc for bm25 and impact; HyDE-style for dense,
/// which embeds the same text). With <c>prf=N</c> (PromptPRF, LLM-based pseudo-relevance feedback) the prompt also
/// shows the top N passages of the ranking before it (<c>bm25 >> llm.expand(prf=3) >> bm25</c>), so the model can
/// draw on what the first retrieval found. If the call fails the query is left as it was.</summary>
internal sealed class ExpandStage(int repeat = 5, int prf = 0) : Stage
{
    public int Repeat { get; } = repeat;
    public int Prf { get; } = prf;

    public override string Text
    {
        get
        {
            var parts = new List<string>(2);
            if (Repeat != 5) parts.Add($"repeat={Repeat}");
            if (Prf != 0) parts.Add($"prf={Prf}");
            return parts.Count == 0 ? "llm.expand" : $"llm.expand({string.Join(',', parts)})";
        }
    }

    public override async ValueTask<PipelineState> RunAsync(PipelineState state, StageContext context, int depth)
    {
        var llm = LlmStage.Client(context);
        string q = state.Query.Text;
        string prompt = Prompts.Expand(q);
        if (Prf > 0)
        {
            var ranking = state.Ranking ?? throw new RelevoException(
                $"{Text} shows the model the top {Prf} passages of the ranking before it: put a retriever first, e.g. bm25 >> {Text} >> bm25");
            var head = new List<Hit>(Prf);
            for (int i = 0; i < ranking.Hits.Count && i < Prf; i++) head.Add(ranking.Hits[i]);
            var docs = await context.DocumentsAsync(head).ConfigureAwait(false);
            var passages = new List<string>(docs.Length);
            foreach (var d in docs) if (d is not null) passages.Add(Prompts.Passage(d));
            if (passages.Count > 0) prompt = Prompts.ExpandWithFeedback(q, passages);
        }
        LlmReply? reply;
        using (llm.Stats.ForQuery(q))
        using (LlmClient.CancelWith(context.Cancellation))
            reply = await llm.CompleteAsync(new LlmRequest(null, prompt, MaxTokens: 200)).ConfigureAwait(false);
        if (reply is null || string.IsNullOrWhiteSpace(reply.Text)) return state;
        string text = string.Join(' ', Enumerable.Repeat(q, Repeat)) + " " + reply.Text.Trim();
        return state with { Query = new PipelineQuery(text) { Filter = state.Query.Filter } };
    }
}
