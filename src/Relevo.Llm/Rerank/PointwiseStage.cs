
namespace Relevo.Llm;

/// <summary>llm.pointwise: a fine-grained 0–10 score per passage (ERank). When the endpoint returns log-probabilities,
/// the score is the expected value over the digits of the first token rather than the argmax. With criteria, one
/// score per criterion, combined by weight.</summary>
internal sealed class PointwiseStage(int top, IReadOnlyList<Criterion> criteria, bool logprobs = true) : LlmStage(top, criteria)
{
    public bool Logprobs { get; } = logprobs;
    protected override string Name => "llm.pointwise";
    public override string Text => Format(("logprobs", NotDefault(Logprobs, true)));

    protected override (int[] Order, float[] Scores) Rerank(string query, string[] passages, LlmClient llm)
    {
        var scores = Score(query, passages, llm);
        return (ByScore(scores), scores);
    }

    /// <summary>The weighted criterion scores of each passage.</summary>
    public float[] Score(string query, IReadOnlyList<string> passages, LlmClient llm)
    {
        var requests = new List<LlmRequest>(passages.Count * Criteria.Count);
        foreach (var p in passages)
            foreach (var c in Criteria)
                requests.Add(new LlmRequest(null, Prompts.Pointwise(query, p, c.Name), MaxTokens: 4, TopLogprobs: Logprobs ? 20 : 0));
        var replies = llm.CompleteAll(requests);
        double wsum = Criteria.Sum(c => c.Weight);
        var scores = new float[passages.Count];
        for (int i = 0; i < passages.Count; i++)
        {
            double s = 0;
            for (int j = 0; j < Criteria.Count; j++)
            {
                var reply = replies[i * Criteria.Count + j];
                double? v = ReadScore(reply);
                if (v is null && reply is not null) llm.Stats.Repair(); // a failed call is counted as failed, not repaired too
                s += Criteria[j].Weight * (v ?? 0);
            }
            scores[i] = (float)(wsum > 0 ? s / wsum : s);
        }
        return scores;
    }

    /// <summary>The expected value over the numbers 0–10 the first generated token could be, when log-probabilities came
    /// back, else the first number in the text; null for a refusal or nonsense. Tokenizers that split digits (Qwen2.5,
    /// Llama 2, Mistral) write "10" as "1" then "0": when no token "10" is among the first position's candidates and the
    /// model wrote "1", the mass on "1" is split by the second position: P(10) = P("1") · P("0" | "1"). When it wrote
    /// another digit first, what would have followed a "1" is unknown and that (small) mass counts as 1.</summary>
    public static double? ReadScore(LlmReply? reply)
    {
        if (reply is null) return null;
        if (reply.Tokens is [var first, ..] && first.Top.Count > 0)
        {
            bool tenIsOneToken = false;
            foreach (var (token, _) in first.Top) tenIsOneToken |= Number(token) == 10;
            double? tenAfterOne = null;
            if (!tenIsOneToken && Number(first.Token) == 1)
            {
                double q = 0;
                if (reply.Tokens.Count > 1)
                    foreach (var (token, lp) in reply.Tokens[1].Top)
                        if (token == "0") q += Math.Exp(lp); // "0" glued to the "1"; " 0" would be another word
                tenAfterOne = Math.Min(q, 1);
            }
            double mass = 0, sum = 0;
            foreach (var (token, lp) in first.Top)
            {
                if (Number(token) is not { } d) continue;
                double p = Math.Exp(lp);
                mass += p;
                sum += p * (d == 1 && tenAfterOne is { } t ? 10 * t + (1 - t) : d);
            }
            if (mass > 0) return sum / mass;
        }
        return Prompts.FirstNumber(reply.Text, 0, 10);
    }

    private static int? Number(string token) =>
        int.TryParse(token.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int d)
        && d is >= 0 and <= 10 ? d : null;
}
