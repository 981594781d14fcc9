using Relevo.Index.Trees;
using Relevo.Pipelines;

namespace Relevo.Llm;

/// <summary>The LLM side of LATTICE: judges a frontier node's children for <c>lattice(llm=true)</c> (one call per list,
/// "[i]: score" lines on 0–10, parsed as <c>llm.groupwise</c> does) and writes node summaries for
/// <c>relevo tree build --llm</c>. A failed call gives no scores (the search treats the list as scored 0) or no summary
/// (the extractive one stays), and is counted as failed in the client's statistics.</summary>
internal sealed class LlmLattice(LlmClient llm) : ILatticeJudge, ITreeSummarizer
{
    public const int JudgeTokens = 400, SummaryTokens = 160;

    public async ValueTask<double?[]> JudgeAsync(string query, IReadOnlyList<string> texts, CancellationToken cancellation)
    {
        using var _ = LlmClient.CancelWith(cancellation);
        var reply = await llm.CompleteAsync(new LlmRequest(null, Prompts.LatticeJudge(query, texts), JudgeTokens)).ConfigureAwait(false);
        if (reply is null) return new double?[texts.Count];
        var scores = GroupwiseStage.Parse(reply.Text, texts.Count);
        if (Array.Exists(scores, s => s is null)) llm.Stats.Repair(); // items without a score count as 0
        return scores;
    }

    public async Task<string?> SummarizeAsync(IReadOnlyList<string> children, CancellationToken cancellation)
    {
        using var _ = LlmClient.CancelWith(cancellation);
        var reply = await llm.CompleteAsync(new LlmRequest(null, Prompts.TreeSummary(children), SummaryTokens)).ConfigureAwait(false);
        return reply?.Text;
    }
}
