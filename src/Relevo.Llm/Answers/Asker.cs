using System.Text;
using System.Text.RegularExpressions;

namespace Relevo.Llm;

/// <summary>The LLM extension's <see cref="IAnswerer"/>: <see cref="Asker"/> with its endpoint.</summary>
internal sealed class LlmAnswerer(LlmClient llm) : IAnswerer
{
    public Task<AskResult> AskAsync(SearchIndex index, string question, AskOptions options, CancellationToken cancellation) =>
        Asker.AskAsync(index, llm, question, options, cancellation);
}

internal static partial class Asker
{
    /// <param name="index">The index to retrieve from (opened with the LLM extension when the pipeline has LLM stages).</param>
    public static async Task<AskResult> AskAsync(SearchIndex index, LlmClient llm, string question, AskOptions options,
        CancellationToken cancellation = default)
    {
        if (string.IsNullOrWhiteSpace(question)) throw new RelevoException("--question: empty question");
        using var _ = LlmClient.CancelWith(cancellation); // the scoring and answering calls stop when the caller does
        if (options.Iterations < 1) throw new RelevoException("--iterations must be at least 1");
        string pipeline = index.CanonicalPipeline(options.Pipeline);
        var scorer = new PointwiseStage(options.Depth, LlmStage.DefaultCriteria);
        AskResult? result = null;
        string retrievalQuery = question;
        // every passage scored in any round, by id: a later round adds candidates, it never loses a better earlier one
        var scored = new Dictionary<string, AskPassage>(StringComparer.Ordinal);
        var order = new List<string>(); // first-seen order breaks score ties
        for (int round = 1; round <= options.Iterations; round++)
        {
            var found = await index.SearchAsync(retrievalQuery, pipeline, options.Depth, new SearchOptions { Documents = true }, cancellation).ConfigureAwait(false);
            var fresh = new List<Document>();
            foreach (var d in found.Documents!)
                if (d is not null && !scored.ContainsKey(d.Id) && !fresh.Exists(f => f.Id == d.Id)) fresh.Add(d);
            // the question is the same every round, so a passage's score is too: only new passages are scored
            var scores = scorer.Score(question, fresh.Select(d => Prompts.Passage(d)).ToList(), llm);
            for (int i = 0; i < fresh.Count; i++)
            {
                scored[fresh[i].Id] = new AskPassage(fresh[i].Id, fresh[i].Title, fresh[i].Text, Math.Round(scores[i], 4));
                order.Add(fresh[i].Id);
            }
            // REAR: keep what the model finds relevant enough, the strongest first
            var kept = order.Select(id => scored[id]).Where(p => p.Relevance >= options.Threshold)
                .OrderByDescending(p => p.Relevance).Take(options.Passages).ToList();
            result = Answer(question, LongContextOrder(kept), llm, round);
            retrievalQuery = RetrievalQuery(question, result.Answer);
        }
        return result!;
    }

    /// <summary>The next round's retrieval query (Iter-RetGen): the question and the draft answer without its [id]
    /// citation markers, which are ids, not words of the topic.</summary>
    public static string RetrievalQuery(string question, string draft) =>
        question + " " + Tidy(Regex.Replace(Citation().Replace(draft, ""), @"\s+", " "));

    /// <summary>Strongest passages at both ends, weakest in the middle: ranks 1, 3, 5, ... then ..., 6, 4, 2.</summary>
    public static List<T> LongContextOrder<T>(IReadOnlyList<T> byStrength)
    {
        var front = new List<T>();
        var back = new List<T>();
        for (int i = 0; i < byStrength.Count; i++) (i % 2 == 0 ? front : back).Add(byStrength[i]);
        back.Reverse();
        front.AddRange(back);
        return front;
    }

    public static string Prompt(string question, IReadOnlyList<AskPassage> passages)
    {
        var sb = new StringBuilder();
        sb.Append("Answer the question using only the passages below. After each claim, cite the passage it comes from by its id ");
        sb.Append("in brackets, e.g. [12345]. If the passages do not answer the question, say so.\n\n");
        foreach (var p in passages)
            sb.Append('[').Append(p.DocId).Append("] ").Append(Prompts.Passage(new Document(p.DocId, p.Title, p.Text), 300)).Append('\n');
        sb.Append($"\nQuestion: {question}\nAnswer:");
        return sb.ToString();
    }

    private static AskResult Answer(string question, IReadOnlyList<AskPassage> passages, LlmClient llm, int round)
    {
        if (passages.Count == 0)
            return new AskResult(question, "None of the retrieved passages is relevant enough to answer the question.", [], [], [], round);
        var reply = llm.Complete(new LlmRequest(null, Prompt(question, passages), MaxTokens: 512))
            ?? throw new RelevoException($"the LLM endpoint {llm.Settings.Endpoint} did not answer after {llm.Settings.MaxRetries} retries");
        var given = new HashSet<string>(passages.Select(p => p.DocId), StringComparer.Ordinal);
        var citations = new List<string>();
        var invalid = new List<string>();
        string answer = Citation().Replace(reply.Text.Trim(), m =>
        {
            string id = m.Groups[1].Value.Trim();
            if (given.Contains(id))
            {
                if (!citations.Contains(id)) citations.Add(id);
                return m.Value;
            }
            if (!invalid.Contains(id)) invalid.Add(id);
            return "";
        });
        if (invalid.Count > 0) llm.Stats.Repair();
        return new AskResult(question, invalid.Count > 0 ? Tidy(answer) : answer, citations, invalid, passages, round);
    }

    /// <summary>The answer once invalid citations are cut out: no doubled spaces, and no space left before the
    /// punctuation that followed a removed citation ("… conclusion [x]." → "… conclusion.").</summary>
    public static string Tidy(string answer) =>
        Regex.Replace(Regex.Replace(answer, "[ \t]{2,}", " "), @"[ \t]+([.,;:!?])", "$1").Trim();

    [GeneratedRegex(@"\[([^\[\]\n]{1,64})\]")]
    private static partial Regex Citation();
}
