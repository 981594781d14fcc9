
namespace Relevo.Llm;

/// <summary>llm.listwise(window=20,step=10): RankGPT's sliding window, from the bottom of the top-N to the top, each
/// window's reply parsed as a permutation (identifiers anywhere in the text; missing ones appended in incoming
/// order, duplicates and strangers dropped, each repair counted). first=true (FIRST) ranks a window by the
/// log-probabilities of the first generated identifier token alone (letters A, B, ... as identifiers), falling back to
/// generation when the endpoint returns no log-probabilities.</summary>
internal sealed class ListwiseStage(int top, IReadOnlyList<Criterion> criteria, int window = 20, int step = 10, bool first = false)
    : LlmStage(top, criteria)
{
    public int Window { get; } = window;
    public int Step { get; } = step;
    public bool First { get; } = first;
    protected override string Name => "llm.listwise";
    public override string Text => Format(("window", NotDefault(Window, 20)), ("step", NotDefault(Step, 10)), ("first", NotDefault(First, false)));

    protected override (int[] Order, float[] Scores) Rerank(string query, string[] passages, LlmClient llm)
    {
        var order = Enumerable.Range(0, passages.Length).ToArray();
        int end = passages.Length;
        int start = Math.Max(0, end - Window);
        while (true)
        {
            var win = order[start..end];
            var perm = RankWindow(query, win.Select(i => passages[i]).ToList(), llm);
            for (int j = 0; j < perm.Length; j++) order[start + j] = win[perm[j]];
            if (start == 0) break;
            end -= Step;
            start = Math.Max(0, end - Window);
        }
        return (order, RankScores(order));
    }

    /// <summary>A window's permutation (indices into the window).</summary>
    public int[] RankWindow(string query, IReadOnlyList<string> passages, LlmClient llm)
    {
        int n = passages.Count;
        if (n <= 1) return Enumerable.Range(0, n).ToArray();
        bool letters = First && n <= 26;
        if (letters)
        {
            var r = llm.Complete(new LlmRequest(null, Prompts.Listwise(query, passages, Criteria, letters: true), MaxTokens: 1, TopLogprobs: 20));
            if (r?.Tokens is [var tok, ..] && tok.Top.Count > 0)
            {
                var score = new double[n];
                Array.Fill(score, double.NegativeInfinity);
                foreach (var (t, lp) in tok.Top)
                    if (Prompts.TokenIdentifier(t, true) is { } id && id < n && double.IsNegativeInfinity(score[id])) score[id] = lp;
                // identifiers the model gave no probability keep their incoming order below the others
                return Enumerable.Range(0, n).OrderByDescending(i => score[i]).ThenBy(i => i).ToArray();
            }
            // no log-probabilities: generate the whole ranking
        }
        var reply = llm.Complete(new LlmRequest(null, Prompts.Listwise(query, passages, Criteria, letters), MaxTokens: 6 * n + 20));
        if (reply is null) return Enumerable.Range(0, n).ToArray();
        var perm = Prompts.ParsePermutation(reply.Text, n, letters, out bool repaired);
        if (repaired) llm.Stats.Repair();
        return perm;
    }
}
