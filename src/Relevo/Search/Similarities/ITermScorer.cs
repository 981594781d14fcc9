namespace Relevo.Search.Similarities;

/// <summary>The score one query term gives one document, from its term frequency and length norm byte, with the
/// query term's weight and the collection statistics already folded in. Implemented by structs, so the scoring loops
/// (<see cref="Pruning.TermIterator{TScorer}"/>, <see cref="ExhaustiveScorer"/>) are specialised per model and the
/// calls inline. A score must not fall as tf grows nor rise as the norm (the document length) grows: that is what
/// makes the maximum over a list's or a block's (tf, norm) impacts an upper bound for pruning.</summary>
internal unsafe interface ITermScorer
{
    /// <summary>False when the score ignores the norm (impact scoring): the loops then skip reading it.</summary>
    static abstract bool UsesNorms { get; }

    float Score(int tf, byte norm);

    /// <summary>Scores postings [from, to) of a decoded block into <paramref name="output"/> (same indices), each
    /// exactly as <see cref="Score"/> computes it (same bits).</summary>
    void ScoreBlock(int* docs, int* freqs, byte* norms, float* output, int from, int to);
}

/// <summary>A scoring model (BM25, query likelihood) over given collection statistics: the scorer of each query term.</summary>
internal interface ISimilarity<TScorer> where TScorer : struct, ITermScorer
{
    /// <summary>The scorer of a query term with weight <paramref name="queryWeight"/>; false when the term cannot add
    /// to any score (it does not occur in the collection, or its weight is not positive).</summary>
    bool TryGetScorer(string term, float queryWeight, out TScorer scorer);
}
