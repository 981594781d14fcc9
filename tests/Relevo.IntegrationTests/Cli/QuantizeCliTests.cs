using System.Text.Json;

namespace Relevo.IntegrationTests.Cli;

/// <summary>`relevo quantize` as a user runs it: uniform int8 needs no corpus (and then smooths nothing); smoothing
/// and the relevance-guided choice need one, and say so; the folder it writes is recorded in quantization.json.</summary>
public sealed class QuantizeCliTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public void UniformWithoutACorpusWorksAndTheChoicesThatNeedOneSaySo()
    {
        using var tmp = new TempDir();
        var r = CliRunner.Logged(output, "quantize", "--model", "minilm", "--out", tmp["u"], "--choice", "uniform");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("36 of 36 matrix products quantized", r.Stdout);
        using (var record = JsonDocument.Parse(File.ReadAllText(tmp["u/quantization.json"])))
        {
            Assert.Equal("uniform", record.RootElement.GetProperty("choice").GetString());
            Assert.Equal(0, record.RootElement.GetProperty("smoothedProducts").GetInt32());
            Assert.Equal(36, record.RootElement.GetProperty("matrices").GetArrayLength());
        }

        var smoothing = CliRunner.Run(["quantize", "--model", "minilm", "--out", tmp["s"], "--choice", "uniform", "--smoothing", "0.5"]);
        Assert.NotEqual(0, smoothing.ExitCode);
        Assert.Contains("--smoothing needs --dataset", smoothing.Stdout + smoothing.Stderr);
        var lrp = CliRunner.Run(["quantize", "--model", "minilm", "--out", tmp["l"], "--choice", "lrp"]);
        Assert.NotEqual(0, lrp.ExitCode);
        Assert.Contains("--dataset is required", lrp.Stdout + lrp.Stderr);
        Assert.False(Directory.Exists(tmp["s"]) || Directory.Exists(tmp["l"]), "a refused command created its folder");
    }
}
