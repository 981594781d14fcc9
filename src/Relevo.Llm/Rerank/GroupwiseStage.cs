using System.Globalization;
using System.Text.RegularExpressions;

namespace Relevo.Llm;

/// <summary>llm.groupwise(group=10): one call scores every passage of a group jointly, 0–10 (GroupRank); the top-N
/// is sorted by those scores, ties in incoming order. A passage the reply leaves out scores 0 (a counted repair).</summary>
internal sealed partial class GroupwiseStage(int top, IReadOnlyList<Criterion> criteria, int group = 10) : LlmStage(top, criteria)
{
    public int Group { get; } = group;
    protected override string Name => "llm.groupwise";
    public override string Text => Format(("group", NotDefault(Group, 10)));

    protected override (int[] Order, float[] Scores) Rerank(string query, string[] passages, LlmClient llm)
    {
        var requests = new List<LlmRequest>();
        for (int s = 0; s < passages.Length; s += Group)
            requests.Add(new LlmRequest(null, Prompts.Groupwise(query, passages[s..Math.Min(passages.Length, s + Group)], Criteria),
                MaxTokens: 12 * Group + 20));
        var replies = llm.CompleteAll(requests);
        var scores = new float[passages.Length];
        for (int g = 0; g < replies.Length; g++)
        {
            int s = g * Group, count = Math.Min(passages.Length, s + Group) - s;
            var parsed = Parse(replies[g]?.Text ?? "", count);
            bool repaired = false;
            for (int i = 0; i < count; i++)
            {
                if (parsed[i] is { } v) scores[s + i] = (float)v;
                else repaired = true;
            }
            if (repaired && replies[g] is not null) llm.Stats.Repair(); // a failed call is counted as failed only
        }
        return (ByScore(scores), scores);
    }

    /// <summary>"[1]: 7" lines; the first score per identifier counts.</summary>
    public static double?[] Parse(string text, int n)
    {
        var result = new double?[n];
        foreach (Match m in Line().Matches(text))
        {
            int id = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) - 1;
            if (id < 0 || id >= n || result[id] is not null) continue;
            double v = double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            if (v is >= 0 and <= 10) result[id] = v;
        }
        return result;
    }

    [GeneratedRegex(@"\[?(\d{1,4})\]?\s*[:=\-]\s*(\d{1,2}(?:\.\d+)?)")]
    private static partial Regex Line();
}
