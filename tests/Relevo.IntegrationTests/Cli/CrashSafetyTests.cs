using Relevo.Index;

namespace Relevo.IntegrationTests.Cli;

/// <summary>A process killed (SIGKILL) at any moment of indexing or committing leaves the index at its last commit, readable.</summary>
public class CrashSafetyTests
{
    private static (TempDir Tmp, string Index, string More) IndexWithOneCommit()
    {
        var tmp = new TempDir();
        string index = tmp["idx"];
        var r = CliRunner.Run(["index", "--corpus", TestData.Dataset("adi").CorpusPath, "--index", index]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        // A second corpus with different ids: cranfield, ids prefixed so they cannot clash with adi's.
        string more = tmp["more.jsonl"];
        using (var w = new StreamWriter(more))
            foreach (var d in Relevo.Collections.JsonlReader.ReadCorpus(TestData.Dataset("cranfield").CorpusPath))
                w.WriteLine(System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string> { ["_id"] = "c" + d.Id, ["title"] = d.Title, ["text"] = d.Text }));
        return (tmp, index, more);
    }

    [Theory]
    [InlineData("segments-written", false)]
    [InlineData("deletes-written", false)]
    [InlineData("manifest-temp-written", false)]
    [InlineData("manifest-renamed", true)]
    public void KilledAtCommitStage(string stage, bool newCommitVisible)
    {
        var (tmp, index, more) = IndexWithOneCommit();
        using var _ = tmp;
        var killed = CliRunner.Run(["index", "--corpus", more, "--index", index, "--ram-mb", "1"],
            new Dictionary<string, string> { ["RELEVO_TEST_KILL_AT"] = stage });
        Assert.NotEqual(0, killed.ExitCode);

        using (var reader = IndexReader.Open(index))
            Assert.Equal(newCommitVisible ? 82 + 1400 : 82, reader.LiveDocs);

        // The next writer cleans up what the dead one left, and indexing then works.
        if (!newCommitVisible)
        {
            var again = CliRunner.Run(["index", "--corpus", more, "--index", index]);
            Assert.True(again.ExitCode == 0, again.Stderr);
            using var reader = IndexReader.Open(index);
            Assert.Equal(82 + 1400, reader.LiveDocs);
            Assert.DoesNotContain(Directory.GetFiles(index), f => f.EndsWith(".tmp", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void KilledAtRandomMoments()
    {
        var (tmp, index, more) = IndexWithOneCommit();
        using var _ = tmp;
        var random = new Random(20261126);
        int committed = 0;
        for (int attempt = 0; attempt < 6; attempt++)
        {
            using var p = CliRunner.Start(["index", "--corpus", more, "--index", index, "--ram-mb", "1", "--replace"]);
            // the kill lands at a random moment on purpose (reading, flushing, merging or committing); no outcome
            // depends on the timing, every one is checked below
            Thread.Sleep(random.Next(150, 2500));
            bool finished = p.HasExited;
            if (!finished) p.Kill();
            p.WaitForExit();
            using var reader = IndexReader.Open(index); // must open: the last commit is intact
            int live = reader.LiveDocs;
            Assert.True(live == 82 || live == 82 + 1400, $"attempt {attempt}: {live} live documents");
            if (live != 82) committed++;
            foreach (var s in reader.Segments) Assert.True(s.MaxDoc > 0);
        }
        // However the kills fell, a finished run leaves exactly one copy of each document.
        var final = CliRunner.Run(["index", "--corpus", more, "--index", index, "--replace"]);
        Assert.True(final.ExitCode == 0, final.Stderr);
        using var r = IndexReader.Open(index);
        Assert.Equal(82 + 1400, r.LiveDocs);
    }
}
