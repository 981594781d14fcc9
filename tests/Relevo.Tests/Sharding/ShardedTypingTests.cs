using Relevo.Sharding;

namespace Relevo.Tests.Sharding;

/// <summary>The coordinator's writer (the one API writes and the cluster's writer grain use) types each key once for
/// every shard: a key is typed by the first document the coordinator sees with it, whichever shard that document goes
/// to, so a value another shard would have typed differently is refused as one index refuses it; types declared on the
/// shards' writers before (a schema file) are kept; a rollback forgets the types the discarded documents declared; a
/// commit where a shard lacks a decided type is aborted.</summary>
public class ShardedTypingTests
{
    private static Document Doc(string id, string fields) => new(id, "", "wing") { Fields = fields };

    /// <summary>Ids that route to two different shards of three.</summary>
    private static (string A, string B) TwoShards()
    {
        for (int i = 1; ; i++)
            if (ShardRouter.ShardOf("a0", 3) != ShardRouter.ShardOf($"b{i}", 3)) return ("a0", $"b{i}");
    }

    [Fact]
    public async Task Every_shard_types_a_key_as_the_first_document_did()
    {
        using var tmp = new TempDir();
        ShardedFolders.CreateOrOpen(tmp.Path, 3);
        var hosts = ShardedFolders.OpenLocal(tmp.Path, ExtensionRegistry.Core);
        try
        {
            var writer = new ShardedWriter(tmp.Path, hosts);
            var (a, b) = TwoShards();
            // declared on every shard's writer before any document (what --schema does), not committed yet
            foreach (var h in hosts) h.WithWriter(w => { w.DeclareTypes(new Dictionary<string, string> { ["abstract"] = "text" }); return 0; });

            await writer.AddAsync([Doc(a, """{"score": 1, "abstract": "boundary layer"}""")], replace: false);
            await writer.CommitAsync();
            // on its own shard this value would make "score" a float; one index refuses it, and so does the sharded one
            var e = await Assert.ThrowsAsync<RelevoException>(() => writer.AddAsync([Doc(b, """{"score": 2.5}""")], replace: false));
            Assert.Contains("field score: expected an integer, found 2.5", e.Message);
            await writer.RollbackAsync();

            await writer.AddAsync([Doc(b, """{"score": "7", "lang": "en"}""")], replace: false);
            await writer.CommitAsync();
            foreach (var h in hosts)
            {
                var (_, schema) = await h.SchemaAsync(ShardVersion.Latest);
                Assert.Equal(new Dictionary<string, string> { ["abstract"] = "text", ["lang"] = "keyword", ["score"] = "integer" }, schema);
            }

            // a rollback forgets what the discarded documents typed: "year" may then be typed anew
            await writer.AddAsync([Doc("c1", """{"year": "2020-01-01"}""")], replace: false);
            await writer.RollbackAsync();
            await writer.AddAsync([Doc(a, """{"year": 2020}""")], replace: true);
            await writer.CommitAsync();
            foreach (var h in hosts) Assert.Equal("integer", (await h.SchemaAsync(ShardVersion.Latest)).Schema!["year"]);

            // a shard that lost the coordinator's declarations (its host restarted before it got a document of the
            // batch) makes the commit fail rather than publish shards that disagree
            await writer.AddAsync([Doc("w1", """{"weight": 1.5}""")], replace: false);
            int other = (ShardRouter.ShardOf("w1", 3) + 1) % 3;
            await hosts[other].AbortAsync();
            var lost = await Assert.ThrowsAsync<RelevoException>(() => writer.CommitAsync());
            Assert.Contains($"shard {other} has field weight as nothing, not float", lost.Message);
            await writer.RollbackAsync();
        }
        finally
        {
            foreach (var h in hosts) h.Dispose();
        }
    }
}
