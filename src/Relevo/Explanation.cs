namespace Relevo;

/// <summary>One query term's share of a document's score. <see cref="Idf"/> is BM25's idf (bm25, impacts) or the
/// term's collection probability P(t|C) (ql). In multi-field BM25 the term is named "field:term" and its statistics
/// are the field's.</summary>
public sealed record TermContribution(string Term, float QueryWeight, long DocFreq, float Idf, int Tf,
    int DocLength, float AverageLength, float Score)
{
    /// <summary>The documents the term's statistics count when they are not the explanation's
    /// <see cref="Explanation.DocCount"/>: in multi-field BM25, those with the term's field.</summary>
    public long? DocCount { get; init; }
}

/// <summary>Why a document scored what it scored, as the stage that gave the score computes it. What is set depends on
/// the stage, and what is set adds up:
/// <list type="bullet">
/// <item>bm25, ql, impact: <see cref="Terms"/>, each query term's contribution; they sum to <see cref="Score"/>
/// exactly (float rounding aside). After feedback (rm3, rocchio) the terms are the expanded query's, and
/// <see cref="FeedbackTerms"/> says which the feedback added.</item>
/// <item>fuse: <see cref="Parts"/>, each input's share by the fusion formula (a reciprocal-rank term, a weighted
/// normalized score); they sum to <see cref="Score"/>, and each carries its input's own explanation.</item>
/// <item>dense: <see cref="Tokens"/>, the cosine attributed to the document's tokens (and the query's) by layer-wise
/// relevance propagation through the encoder; their sum is off the cosine by <see cref="TokenAttribution.ConservationError"/>.</item>
/// <item>rerankers: the final score is rank-based; <see cref="Parts"/> holds the reranker's own score (with its
/// explanation where the reranker has one) and <see cref="Note"/> says so. LLM stages give their score and the
/// replies it was read from (<see cref="Replies"/>), with no attribution claimed.</item>
/// </list></summary>
public sealed record Explanation(string DocId, float Score, string Stage)
{
    /// <summary>What kind of explanation this is, and anything that does not add up to numbers.</summary>
    public string? Note { get; init; }

    /// <summary>BM25's k1 (bm25, impact).</summary>
    public float? K1 { get; init; }

    /// <summary>BM25's b (bm25, impact).</summary>
    public float? B { get; init; }

    /// <summary>Query likelihood's Dirichlet mu (ql).</summary>
    public float? Mu { get; init; }

    /// <summary>The live documents of the collection the statistics came from (term models).</summary>
    public long? DocCount { get; init; }

    /// <summary>Each query term's contribution (term models); they sum to <see cref="Score"/>.</summary>
    public IReadOnlyList<TermContribution>? Terms { get; init; }

    /// <summary>The query terms feedback added and their weights, when the query was expanded before this stage.</summary>
    public IReadOnlyList<WeightedTerm>? FeedbackTerms { get; init; }

    /// <summary>The inputs' shares (fusion: they sum to <see cref="Score"/>) or the reranker's own score.</summary>
    public IReadOnlyList<ExplanationPart>? Parts { get; init; }

    /// <summary>A dense score attributed to tokens.</summary>
    public TokenAttribution? Tokens { get; init; }

    /// <summary>LLM stages: the model's replies to the prompts that showed it this document (a score, a ranking of a
    /// window, a choice), each shortened to at most <see cref="MaxReplyLength"/> characters; what the score was read
    /// from, not an attribution.</summary>
    public IReadOnlyList<string>? Replies { get; init; }

    /// <summary>The longest reply text kept in <see cref="Replies"/>.</summary>
    public const int MaxReplyLength = 400;
}

/// <summary>A query term and its weight.</summary>
public sealed record WeightedTerm(string Term, float Weight);

/// <summary>One input of a fused or reranked score: the input stage, the document's rank (from 1) and score there
/// (null where that input did not rank it), its share of the parent's score (null when the parent's score is not a
/// sum, as a reranker's rank score), and the input's own explanation of its score (null where it has none).</summary>
public sealed record ExplanationPart(string Stage, int? Rank, float? InputScore, double? Share, Explanation? Explanation);

/// <summary>A dense score attributed to the tokens of the document text the encoder read (<see cref="Text"/>) and of
/// the query. <see cref="Cosine"/> is the cosine the attribution explains, recomputed from the text (it may differ
/// from a stored, quantized vector's score in the last digits); <see cref="DocumentTokens"/> and
/// <see cref="QueryTokens"/> each sum to it up to <see cref="ConservationError"/> (|Σ − cosine| / |cosine|, the larger
/// of the two sides). <see cref="Words"/> and <see cref="Sentences"/> group the document's tokens into spans of
/// <see cref="Text"/> (what a page colours).</summary>
public sealed record TokenAttribution(string Model, string Text, float Cosine, double ConservationError,
    IReadOnlyList<TokenShare> DocumentTokens, IReadOnlyList<TokenShare> QueryTokens,
    IReadOnlyList<SpanShare> Words, IReadOnlyList<SpanShare> Sentences);

/// <summary>One token's relevance: the word piece, and the characters of the explained text it came from
/// (<see cref="Start"/> = <see cref="End"/> = -1 for [CLS], [SEP], a model's prefix and tokens cut off).</summary>
public sealed record TokenShare(string Token, int Start, int End, float Relevance);

/// <summary>The summed relevance of the tokens inside characters [<see cref="Start"/>, <see cref="End"/>) of the explained text.</summary>
public sealed record SpanShare(int Start, int End, float Relevance);
