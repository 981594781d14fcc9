using System.Text.Json;
using Relevo.Index;
using Relevo.Search;

namespace Relevo.Pipelines;

/// <summary>What explains a term retriever's hit (bm25, ql, impact) where its document lives (a shard, in this process
/// or on a silo), as the sharded search scored it: the stage (its canonical text), the query's terms and weights, and the collection-wide statistics
/// of those terms. Sent as the argument of the <see cref="Operation"/> document operation; the answer is the
/// explanation as JSON.</summary>
internal sealed record ExplainRequest(string Stage, string[] Terms, float[] Weights, GlobalStatistics Statistics)
{
    public const string Operation = "bm25.explain";

    /// <summary>A query in the Lucene syntax, as its canonical text: the shard explains by the tree; null: the bag.</summary>
    public string? Structured { get; init; }

    /// <summary>The document operation: explains the document at (segment, doc) of the shard's commit.</summary>
    public static byte[] Run(ExtensionRegistry registry, IndexReader reader, string argument, int segment, int doc)
    {
        var request = JsonSerializer.Deserialize<ExplainRequest>(argument)
            ?? throw new RelevoException("bm25.explain: an empty request");
        if (Pipeline.Parse(request.Stage, registry).Root is not RetrieverStage stage)
            throw new RelevoException($"bm25.explain: '{request.Stage}' is not a retriever");
        var query = request.Structured is { } text ? RetrieverStage.ReadStructured(text, reader) : Query.FromArrays(request.Terms, request.Weights);
        var explanation = stage.Explain(reader, query, new Hit("", 0, segment, doc), request.Statistics)
            ?? throw new RelevoException($"bm25.explain: '{request.Stage}' does not explain per term");
        return JsonSerializer.SerializeToUtf8Bytes(explanation);
    }
}

/// <summary>What scores a candidate where its document lives (a shard), as a sharded search would score it: a
/// retriever (its canonical text) and its request — the query's terms and weights with their collection-wide
/// statistics, or a query vector. Sent as the argument of the <see cref="Operation"/> document operation; the answer
/// is the score (4 bytes, little-endian float32). Features on a sharded index score this way.</summary>
internal sealed record ScoreRequest(string Stage, string[]? Terms, float[]? Weights, float[]? Vector, GlobalStatistics? Statistics)
{
    public const string Operation = "retriever.score";

    /// <summary>A query in the Lucene syntax, as its canonical text: the shard scores by the tree; null: the bag.</summary>
    public string? Structured { get; init; }

    public static byte[] Run(ExtensionRegistry registry, IndexReader reader, string argument, int segment, int doc)
    {
        var request = JsonSerializer.Deserialize<ScoreRequest>(argument) ?? throw new RelevoException("retriever.score: an empty request");
        if (Pipeline.Parse(request.Stage, registry).Root is not RetrieverStage stage)
            throw new RelevoException($"retriever.score: '{request.Stage}' is not a retriever");
        var score = new float[1];
        if (request.Structured is { } text && stage is Bm25Stage bm25)
        {
            // the candidates of one request arrive one document at a time: the compiled tree and the segments it
            // matched are kept for the recent requests (per commit), so each segment is matched once per request
            score[0] = reader.Component("retriever.score.structured", _ => new RecentStructured()).Score(argument, segment, doc,
                () => bm25.Structured(reader, RetrieverStage.ReadStructured(text, reader).Structured!, request.Statistics));
            return BitConverter.GetBytes(score[0]);
        }
        var query = request.Terms is { } terms ? Query.FromArrays(terms, request.Weights!) : null;
        stage.ScoreDocs(reader, new RetrievalRequest(query, request.Vector), request.Statistics, [segment], [doc], score);
        return BitConverter.GetBytes(score[0]);
    }

    /// <summary>The recent scoring requests by a tree on one commit (at most <see cref="Capacity"/>, the least recent
    /// dropped), each compiled once with the match lists of the segments its candidates were in; concurrent requests
    /// each have their own entry, and one request's candidates are scored one at a time.</summary>
    private sealed class RecentStructured
    {
        private const int Capacity = 8;
        private readonly LinkedList<Entry> _recent = new(); // most recent first

        public float Score(string argument, int segment, int doc, Func<Relevo.Search.Structured.StructuredQuery> compile)
        {
            Entry? entry = null;
            lock (_recent)
            {
                for (var node = _recent.First; node is not null; node = node.Next)
                {
                    if (node.Value.Argument != argument) continue;
                    entry = node.Value;
                    _recent.Remove(node);
                    break;
                }
                entry ??= new Entry(argument);
                _recent.AddFirst(entry);
                if (_recent.Count > Capacity) _recent.RemoveLast();
            }
            lock (entry)
            {
                entry.Query ??= compile();
                return entry.Query.ScoreDoc(segment, doc, entry.Matched);
            }
        }

        private sealed class Entry(string argument)
        {
            public string Argument { get; } = argument;
            public Relevo.Search.Structured.StructuredQuery? Query { get; set; }
            public Dictionary<int, Relevo.Search.Structured.MatchList> Matched { get; } = [];
        }
    }
}
