
namespace Relevo.Llm;

/// <summary>llm.setwise(k=4,m=10): pick-the-best-of-k tournaments over the top-N (Rank-R1 style). The first m places
/// are filled one at a time by a knockout over the remaining candidates; matches are remembered, so after the first
/// knockout only the winner's path is replayed. The rest keep their incoming order. reasoning=true asks for a short
/// reasoning in &lt;think&gt; before the &lt;answer&gt;; the full reply (reasoning included) is kept in the response cache.</summary>
internal sealed class SetwiseStage(int top, IReadOnlyList<Criterion> criteria, int k = 4, int m = 10, bool reasoning = false)
    : LlmStage(top, criteria)
{
    public int K { get; } = k;
    public int M { get; } = m;
    public bool Reasoning { get; } = reasoning;
    protected override string Name => "llm.setwise";
    public override string Text => Format(("k", NotDefault(K, 4)), ("m", NotDefault(M, 10)), ("reasoning", NotDefault(Reasoning, false)));

    protected override (int[] Order, float[] Scores) Rerank(string query, string[] passages, LlmClient llm)
    {
        int n = passages.Length;
        var remaining = new bool[n];
        Array.Fill(remaining, true);
        var memo = new Dictionary<string, int>(StringComparer.Ordinal);
        var order = new List<int>(n);
        for (int r = 0; r < Math.Min(M, n); r++)
        {
            // level 0: one slot per candidate in incoming order (-1 once extracted); each level groups k slots
            var slots = new int[n];
            for (int i = 0; i < n; i++) slots[i] = remaining[i] ? i : -1;
            while (slots.Length > 1)
            {
                var next = new int[(slots.Length + K - 1) / K];
                var groups = new int[next.Length][];
                for (int g = 0; g < next.Length; g++) groups[g] = slots.Skip(g * K).Take(K).Where(x => x >= 0).ToArray();
                // the matches of one level are independent: play the new ones together
                var open = groups.Where(m => m.Length > 1 && !memo.ContainsKey(string.Join(',', m))).ToList();
                var replies = llm.CompleteAll(open.Select(m => Request(query, m, passages)).ToList());
                for (int i = 0; i < open.Count; i++) memo[string.Join(',', open[i])] = Winner(open[i], replies[i], llm);
                for (int g = 0; g < next.Length; g++)
                    next[g] = groups[g].Length switch { 0 => -1, 1 => groups[g][0], _ => memo[string.Join(',', groups[g])] };
                slots = next;
            }
            if (slots[0] < 0) break;
            order.Add(slots[0]);
            remaining[slots[0]] = false;
        }
        for (int i = 0; i < n; i++) if (remaining[i]) order.Add(i);
        var arr = order.ToArray();
        return (arr, RankScores(arr));
    }

    private LlmRequest Request(string query, int[] members, string[] passages) =>
        new(null, Prompts.Setwise(query, members.Select(i => passages[i]).ToList(), Criteria, Reasoning), MaxTokens: Reasoning ? 512 : 8);

    /// <summary>The identifier in the reply (inside &lt;answer&gt; when there is one); the first member when the
    /// reply names none (a counted repair) or the call failed.</summary>
    private static int Winner(int[] members, LlmReply? reply, LlmClient llm)
    {
        if (reply is null) return members[0];
        string text = reply.Text;
        int a = text.IndexOf("<answer>", StringComparison.OrdinalIgnoreCase);
        if (a >= 0) text = text[(a + 8)..];
        foreach (int id in Prompts.Identifiers(text, false))
            if (id >= 0 && id < members.Length) return members[id];
        llm.Stats.Repair();
        return members[0];
    }
}
