using Relevo.Pipelines;

namespace Relevo.Dense;

/// <summary>Explanations of dense scores: the cosine between a query and a text, attributed to the text's tokens (the
/// query's vector fixed) and to the query's tokens (the text's vector fixed) by layer-wise relevance propagation
/// through the C# encoder (<see cref="EncoderRelevance"/>), then summed into words and sentences of the text (the
/// spans a page colours, rather than isolated word pieces).</summary>
internal static class DenseExplainer
{
    /// <summary>One text's attribution. <paramref name="queryText"/>: the query, to attribute to its tokens too (null when
    /// the vector came from feedback, not from a text); <paramref name="titleLength"/>: the title's length at the start
    /// of <paramref name="text"/> (a sentence of its own), 0 when none.</summary>
    public static TokenAttribution Explain(EmbeddingModel model, NativeEncoder encoder, string? queryText, float[] queryVector,
        string text, int titleLength)
    {
        var config = model.Config;
        var (ids, spans) = model.Tokenizer.EncodeWithSpans(config.PassagePrefix + text, config.MaxTokens);
        var document = EncoderRelevance.ForCosine(encoder, config, ids, queryVector);
        var documentTokens = Shares(model, ids, spans, document.Tokens, config.PassagePrefix.Length);
        double error = document.ConservationError;
        TokenShare[] queryTokens = [];
        if (queryText is not null)
        {
            var (queryIds, querySpans) = model.Tokenizer.EncodeWithSpans(config.QueryPrefix + queryText, config.MaxTokens);
            var query = EncoderRelevance.ForCosine(encoder, config, queryIds, document.Embedding);
            queryTokens = Shares(model, queryIds, querySpans, query.Tokens, config.QueryPrefix.Length);
            error = Math.Max(error, query.ConservationError);
        }
        var words = Words(documentTokens);
        return new TokenAttribution(model.Name, text, (float)document.Score, error, documentTokens, queryTokens, words,
            Sentences(text, titleLength, words));
    }

    /// <summary>Explanations of several texts' scores on all cores (null texts: documents gone meanwhile), each a
    /// note when the model cannot be opened (not a BERT export); stops between texts when cancelled.</summary>
    public static async ValueTask<TokenAttribution?[]> ExplainAllAsync(DenseModels models, string modelName, string? queryText,
        float[] queryVector, IReadOnlyList<(string Text, int TitleLength)?> texts, CancellationToken cancellation)
    {
        var model = models.Model(modelName);
        var encoder = models.Native(modelName);
        var result = new TokenAttribution?[texts.Count];
        await Parallel.ForAsync(0, texts.Count, new ParallelOptions { CancellationToken = cancellation, MaxDegreeOfParallelism = Environment.ProcessorCount },
            (i, _) =>
            {
                if (texts[i] is { } t) result[i] = Explain(model, encoder, queryText, queryVector, t.Text, t.TitleLength);
                return ValueTask.CompletedTask;
            }).ConfigureAwait(false);
        return result;
    }

    /// <summary>What an explanation of a dense score says it is.</summary>
    public static string Note(string model) =>
        $"the cosine of the query's and the document's {model} embeddings, attributed to tokens by layer-wise relevance propagation " +
        "(LayerNorm scales, attention probabilities, GELU gates and the norm held at their values); the tokens sum to the cosine recomputed " +
        "from the text, which can differ in the last digits from the stored vector's score";

    /// <summary>The stages' explanation of dense hits: the texts fetched, attributed, one explanation each (a note
    /// instead where the model cannot be opened).</summary>
    public static async ValueTask<Explanation?[]> ExplainHitsAsync(string stage, string modelName, PipelineQuery query, IReadOnlyList<Hit> hits,
        IReadOnlyList<(string Text, int TitleLength)?> texts, StageContext context)
    {
        var models = context.GetService<DenseModels>();
        var vector = query.Vector ?? models.EmbedQuery(modelName, query.Text);
        var result = new Explanation?[hits.Count];
        TokenAttribution?[] attributions;
        try
        {
            attributions = await ExplainAllAsync(models, modelName, query.Vector is null ? query.Text : null, vector, texts, context.Cancellation)
                .ConfigureAwait(false);
        }
        catch (RelevoException e)
        {
            for (int i = 0; i < result.Length; i++)
                result[i] = new Explanation(hits[i].Id, hits[i].Score, stage) { Note = $"not explained: {e.Message}" };
            return result;
        }
        for (int i = 0; i < result.Length; i++)
            if (attributions[i] is { } a)
                result[i] = new Explanation(hits[i].Id, hits[i].Score, stage) { Note = Note(modelName), Tokens = a };
        return result;
    }

    /// <summary>The text a dense index embedded for a document, with its title's length.</summary>
    public static (string Text, int TitleLength) PassageOf(Document doc) => (DenseIndexer.PassageText(doc), doc.Text.Length == 0 ? 0 : doc.Title.Length);

    private static TokenShare[] Shares(EmbeddingModel model, int[] ids, (int Start, int End)[] spans, float[] relevance, int prefix)
    {
        var shares = new TokenShare[ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            var (start, end) = spans[i];
            bool inText = start >= prefix;
            shares[i] = new TokenShare(model.Tokenizer.IdToToken(ids[i]), inText ? start - prefix : -1, inText ? end - prefix : -1, relevance[i]);
        }
        return shares;
    }

    /// <summary>Word pieces joined into words (a "##" piece continues the word before it).</summary>
    internal static List<SpanShare> Words(IReadOnlyList<TokenShare> tokens)
    {
        var words = new List<SpanShare>();
        foreach (var t in tokens)
        {
            if (t.Start < 0) continue;
            if (t.Token.StartsWith("##", StringComparison.Ordinal) && words.Count > 0 && words[^1].End <= t.Start)
                words[^1] = new SpanShare(words[^1].Start, t.End, words[^1].Relevance + t.Relevance);
            else words.Add(new SpanShare(t.Start, t.End, t.Relevance));
        }
        return words;
    }

    /// <summary>The title and each sentence of the text after it, with the relevance of the words inside.</summary>
    internal static List<SpanShare> Sentences(string text, int titleLength, IReadOnlyList<SpanShare> words)
    {
        var spans = new List<(int Start, int End)>();
        int body = 0;
        if (titleLength > 0 && titleLength < text.Length)
        {
            spans.Add((0, titleLength));
            body = titleLength + 1;
        }
        foreach (var (start, end) in PassageWindows.SentenceSpans(text[body..])) spans.Add((start + body, end + body));
        var sentences = new List<SpanShare>(spans.Count);
        int w = 0;
        foreach (var (start, end) in spans)
        {
            float sum = 0;
            while (w < words.Count && words[w].Start < start) w++;
            while (w < words.Count && words[w].Start < end) sum += words[w++].Relevance;
            sentences.Add(new SpanShare(start, end, sum));
        }
        return sentences;
    }
}
