using System.Globalization;
using Relevo.Pipelines;

namespace Relevo.Llm;

/// <summary>A stage that calls the chat endpoint: passages are fetched from the index; criteria (REBEL) name what
/// to rank by beyond topical relevance.</summary>
internal abstract class LlmStage(int top, IReadOnlyList<Criterion> criteria) : RerankStage(top)
{
    public IReadOnlyList<Criterion> Criteria { get; } = criteria;
    public static readonly IReadOnlyList<Criterion> DefaultCriteria = [new("relevance", 1)];

    /// <summary>The new order of the head's passages (indices), and each one's stage score.</summary>
    protected abstract (int[] Order, float[] Scores) Rerank(string query, string[] passages, LlmClient llm);

    protected override async ValueTask<(int[] Order, float[] Scores)> RerankAsync(string query, IReadOnlyList<Hit> head, StageContext context)
    {
        var llm = Client(context);
        var docs = await context.DocumentsAsync(head).ConfigureAwait(false);
        var passages = new string[head.Count];
        for (int i = 0; i < passages.Length; i++) passages[i] = docs[i] is { } d ? Prompts.Passage(d) : "";
        List<(LlmRequest Request, LlmReply Reply)>? calls = context.Tracing ? [] : null;
        (int[] Order, float[] Scores) result;
        using (llm.Stats.ForQuery(query))
        using (LlmClient.CancelWith(context.Cancellation))
        using (calls is null ? null : LlmClient.Record(calls))
            result = Rerank(query, passages, llm);
        if (calls is not null) AttachReplies(head, passages, calls, context);
        return result;
    }

    /// <summary>In a traced search, each passage gets the replies to the prompts that showed it (the prompt holds the
    /// passage's text), so that its explanation can quote what its score was read from.</summary>
    private void AttachReplies(IReadOnlyList<Hit> head, string[] passages, List<(LlmRequest Request, LlmReply Reply)> calls, StageContext context)
    {
        foreach (var (request, reply) in calls)
        {
            string text = reply.Text.Length <= Explanation.MaxReplyLength ? reply.Text : reply.Text[..Explanation.MaxReplyLength] + "…";
            for (int i = 0; i < passages.Length; i++)
                if (passages[i].Length > 0 && request.Prompt.Contains(passages[i], StringComparison.Ordinal))
                    context.Attach(this, head[i].Id, text);
        }
    }

    /// <summary>An LLM's score is what it replied: the explanation quotes the replies, and claims no attribution.</summary>
    internal override ValueTask<Explanation?[]> ExplainScoresAsync(PipelineQuery query, IReadOnlyList<Hit> head, float[] scores, StageContext context)
    {
        var result = new Explanation?[head.Count];
        for (int i = 0; i < head.Count; i++)
            result[i] = new Explanation(head[i].Id, scores[i], Text)
            {
                Note = $"{Name}'s score, read from the model's replies below; no attribution is claimed",
                Replies = context.AttachedTo(this, head[i].Id),
            };
        return ValueTask.FromResult(result);
    }

    /// <summary>The LLM client the index was opened with (its endpoint), or an error saying how to give one.</summary>
    internal static LlmClient Client(StageContext context) => context.TryGetService<LlmClient>() ?? throw new RelevoException(LlmSettings.Missing);

    /// <summary>Canonical arguments: the given ones without defaults, then criteria and top.</summary>
    protected string Format(params (string Key, string? Value)[] args)
    {
        var parts = args.Where(a => a.Value is not null).Select(a => $"{a.Key}={a.Value}").ToList();
        if (!Prompts.IsPlainRelevance(Criteria))
            parts.Add("criteria=[" + string.Join(",", Criteria.Select(c => $"{c.Name}:{Num(c.Weight)}")) + "]");
        if (Top != 100) parts.Add($"top={Top}");
        return parts.Count == 0 ? Name : $"{Name}({string.Join(",", parts)})";
    }

    protected static string? NotDefault(int v, int dflt) => v == dflt ? null : v.ToString(CultureInfo.InvariantCulture);
    protected static string? NotDefault(bool v, bool dflt) => v == dflt ? null : v ? "true" : "false";
}
