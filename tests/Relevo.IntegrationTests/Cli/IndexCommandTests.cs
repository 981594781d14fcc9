using Relevo.Index;

namespace Relevo.IntegrationTests.Cli;

/// <summary>How `relevo index` leaves segments: one per run by default, however many flushes the RAM budget forced.</summary>
public class IndexCommandTests
{
    [Theory]
    [InlineData("final")]
    [InlineData("none")]
    public void A_run_that_flushes_many_times_leaves_one_segment_unless_told_not_to_merge(string merge)
    {
        using var tmp = new TempDir();
        string index = tmp["idx"];
        string adi = TestData.Dataset("adi").CorpusPath, cranfield = tmp["cranfield.jsonl"];
        using (var w = new StreamWriter(cranfield)) // cranfield with ids that cannot clash with adi's
            foreach (var d in Relevo.Collections.JsonlReader.ReadCorpus(TestData.Dataset("cranfield").CorpusPath))
                w.WriteLine(System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string> { ["_id"] = "c" + d.Id, ["title"] = d.Title, ["text"] = d.Text }));
        var r = CliRunner.Run(["index", "--corpus", adi, "--index", index, "--merge", merge]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        string first = Manifest.Read(index).Segments.Single().Name;
        // 1 MB of buffer flushes cranfield's 1,400 documents several times
        r = CliRunner.Run(["index", "--corpus", cranfield, "--index", index, "--ram-mb", "1", "--merge", merge]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var segments = Manifest.Read(index).Segments;
        Assert.Equal(first, segments[0].Name); // what the index had is not rewritten
        if (merge == "final")
        {
            Assert.Equal(2, segments.Count);
            Assert.Equal(1_400, segments[1].MaxDoc);
        }
        else
        {
            Assert.True(segments.Count > 2, $"{segments.Count} segments: the RAM budget should have forced several flushes");
        }
    }

    [Fact]
    public void An_unknown_merge_choice_is_refused()
    {
        using var tmp = new TempDir();
        var r = CliRunner.Run(["index", "--corpus", TestData.Dataset("adi").CorpusPath, "--index", tmp["idx"], "--merge", "sometimes"]);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("--merge", r.Stdout + r.Stderr);
        Assert.False(Directory.Exists(tmp["idx"]) && Manifest.Exists(tmp["idx"]));
    }
}
