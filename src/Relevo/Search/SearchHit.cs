namespace Relevo.Search;

/// <summary>One ranked document: its external id, score, and where it lives in the index.</summary>
public readonly record struct SearchHit(string DocId, float Score, int Segment, int Doc);

public static class SearchHits
{
    /// <summary>Hits from (global doc number, score) pairs, best first: each doc's segment, local number and id.</summary>
    public static SearchHit[] FromGlobalDocs(Index.IndexReader reader, (int Doc, float Score)[] ranked)
    {
        var hits = new SearchHit[ranked.Length];
        for (int i = 0; i < ranked.Length; i++)
        {
            var (global, score) = ranked[i];
            int s = reader.SegmentOf(global);
            int doc = global - reader.DocBase[s];
            hits[i] = new SearchHit(reader.Segments[s].GetId(doc), score, s, doc);
        }
        return hits;
    }
}

/// <summary>One query term's share of a document's score.</summary>
public sealed record TermContribution(string Term, float QueryWeight, long DocFreq, float Idf, int Tf,
    int DocLength, float AverageLength, float Score);

/// <summary>Why a document scored what it scored: the per-term BM25 contributions, which add up to the score.</summary>
public sealed record Explanation(string DocId, float Score, float K1, float B, long DocCount,
    IReadOnlyList<TermContribution> Terms);
