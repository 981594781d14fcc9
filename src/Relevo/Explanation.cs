namespace Relevo;

/// <summary>One query term's share of a document's score.</summary>
public sealed record TermContribution(string Term, float QueryWeight, long DocFreq, float Idf, int Tf,
    int DocLength, float AverageLength, float Score);

/// <summary>Why a document scored what it scored: the per-term BM25 contributions, which add up to the score.</summary>
public sealed record Explanation(string DocId, float Score, float K1, float B, long DocCount,
    IReadOnlyList<TermContribution> Terms);
