using System.Text;
using Relevo.Index;
using Relevo.Index.Trees;
using Relevo.Pipelines;

namespace Relevo.Testing;

/// <summary>A perfect LATTICE navigator behind the chat double: it knows the tree, so for each entry of a judging
/// prompt (a node's summary or a passage) it answers 10 when a relevant document of the query is under it, else 0.
/// Summaries shared by several nodes count for all of them.</summary>
internal sealed class LatticeOracle
{
    private readonly Dictionary<string, HashSet<string>> _under = new(StringComparer.Ordinal);
    private readonly Func<string, IReadOnlySet<string>> _relevant;

    public LatticeOracle(string indexDir, Func<string, IReadOnlySet<string>> relevant)
    {
        _relevant = relevant;
        using var reader = IndexReader.Open(indexDir);
        var tree = (TreeReader.For(reader) ?? throw new InvalidOperationException("no tree")).Tree;
        var docsUnder = new HashSet<string>[tree.NodeCount];
        for (int n = tree.NodeCount - 1; n >= 0; n--)
        {
            var set = docsUnder[n] = new HashSet<string>(StringComparer.Ordinal);
            foreach (int c in tree.ChildrenOf(n))
                if (c >= 0) set.UnionWith(docsUnder[c]);
                else set.Add(tree.DocIds[~c]);
            Add(tree.Summaries[n], set);
        }
        foreach (var id in tree.DocIds)
            if (reader.GetDocument(id) is { } doc) Add(LatticeStage.PassageText(doc), [id]);
    }

    private void Add(string text, IEnumerable<string> ids)
    {
        if (!_under.TryGetValue(text, out var set)) _under[text] = set = new HashSet<string>(StringComparer.Ordinal);
        set.UnionWith(ids);
    }

    public ChatAnswer Answer(ChatCall call)
    {
        var relevant = _relevant(Oracle.Field(call.Prompt, "Search query: ") ?? "");
        var sb = new StringBuilder();
        foreach (var (id, text) in Oracle.Bracketed(call.Prompt))
        {
            bool leads = _under.TryGetValue(text, out var under) && under.Overlaps(relevant);
            sb.Append('[').Append(id).Append("]: ").Append(leads ? 10 : 0).Append('\n');
        }
        return new ChatAnswer(sb.ToString());
    }
}

/// <summary>Cheap document vectors for trees in tests: each analysed term of title and text hashed into one of
/// <paramref name="dimension"/> buckets, weighted by its idf (no model needed; similar texts get similar vectors).</summary>
internal static class HashedVectors
{
    public static Func<IndexReader, DocumentVectors> Of(int dimension = 256) => reader => (segment, doc) =>
    {
        var d = reader.Segments[segment].GetDocument(doc);
        var v = new float[dimension];
        long n = Math.Max(1, reader.Statistics.DocCount);
        foreach (var term in reader.AnalyzerInstance.Terms(d.Title + " " + d.Text))
        {
            uint h = System.IO.Hashing.XxHash32.HashToUInt32(Encoding.UTF8.GetBytes(term));
            v[h % (uint)dimension] += (float)Math.Log(1 + (double)n / Math.Max(1, reader.Statistics.DocFreq(term)));
        }
        return v;
    };
}
