using Relevo.Index;
using Relevo.Index.Trees;
using Relevo.Llm;
using Xunit.Abstractions;

namespace Relevo.Tests.Rerank;

/// <summary>lattice(llm=true) end to end on SciFact: a tree over the corpus (hashed term vectors: the navigator, not
/// the vectors, is under test), the LLM stage calling the chat double over HTTP, and a double that navigates as a
/// perfect model would (it knows which documents lie under each summary). Every relevant document is found when the
/// beam holds every branch leading to one.</summary>
public sealed class LatticeLlmTests(SciFactLlmFixture scifact, ITestOutputHelper output) : IClassFixture<SciFactLlmFixture>
{
    private static readonly Lock Gate = new();
    private static bool s_built;

    private void EnsureTree()
    {
        lock (Gate)
        {
            if (s_built && Manifest.Read(scifact.IndexDir).IndexComponent(SemanticTree.ComponentName) is not null) return;
            using var w = IndexWriter.Open(scifact.IndexDir);
            TreeIndexer.Build(w, "hashed", HashedVectors.Of(), new TreeOptions(TreeStrategy.TopDown, 10, 42));
            s_built = true;
        }
    }

    [Fact]
    public void AnOracleLlmFindsEveryRelevantDocumentWithinTheBeam()
    {
        EnsureTree();
        var oracle = new LatticeOracle(scifact.IndexDir, scifact.RelevantIds);
        using var dbl = new ChatTestDouble(oracle.Answer);
        using var llm = new LlmClient(new LlmSettings(dbl.Endpoint, "oracle") { Concurrency = 8 });
        using var index = scifact.Open(llm);
        const int beam = 4;
        var queries = scifact.Queries.Where(q => scifact.RelevantIds(q.Text).Count <= beam).Take(60).ToList();
        var run = index.Run(queries, $"lattice(beam={beam},llm=true)", 100, new RunOptions { Threads = 2 });
        foreach (var (qid, text) in queries)
        {
            var relevant = scifact.RelevantIds(text);
            var top = run.ForQuery(qid).Take(relevant.Count).Select(h => h.DocId).ToHashSet();
            Assert.True(relevant.SetEquals(top), $"query {qid}: relevant {string.Join(",", relevant)}, top {string.Join(",", top)}");
        }
        double calls = (double)llm.Stats.Requests / queries.Count;
        int height;
        using (var reader = IndexReader.Open(scifact.IndexDir)) height = TreeReader.For(reader)!.Tree.Height();
        output.WriteLine($"SciFact, {queries.Count} queries, lattice(beam={beam},llm=true) with the oracle double: nDCG@10 {scifact.Ndcg10(run):F4}, tree height {height}, " +
                         $"{calls:F1} calls and {(double)llm.Stats.PromptTokens / queries.Count:F0} prompt tokens per query; {llm.Stats}");
        Assert.Equal(0, llm.Stats.Failures);
        // at most one call per beam slot and round; rounds: down the tree twice, plus those 100 documents need
        Assert.InRange(calls, 1, beam * (2 * height + 3));
    }
}
