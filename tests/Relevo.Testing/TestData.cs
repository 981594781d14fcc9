using Relevo.Collections;

namespace Relevo.Testing;

/// <summary>Where the shared test collections are ($RELEVO_DATA, else ../shared/datasets beside the repository).</summary>
internal static class TestData
{
    public static string RepoRoot =>
        DatasetLocator.FindRepositoryRoot(Directory.GetCurrentDirectory())
        ?? DatasetLocator.FindRepositoryRoot(AppContext.BaseDirectory)
        ?? throw new InvalidOperationException("Relevo.slnx not found above the test directory");

    public static string DatasetsDir =>
        Environment.GetEnvironmentVariable("RELEVO_DATA") is { Length: > 0 } d
            ? d
            : Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "datasets"));

    /// <summary>The shared tools ($RELEVO_TOOLS, else ../shared/tools beside the repository), e.g. make-bench-corpus.</summary>
    public static string ToolsDir =>
        Environment.GetEnvironmentVariable("RELEVO_TOOLS") is { Length: > 0 } t
            ? t
            : Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "tools"));

    public static string EvaluationDir => Path.Combine(RepoRoot, "tests", "Relevo.Tests", "Evaluation");

    public static BeirDataset Dataset(string name) => BeirDataset.FromFolder(Path.Combine(DatasetsDir, name));
}

/// <summary>A fresh folder under the temp directory, deleted afterwards.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "relevo-test-" + Guid.NewGuid().ToString("N")[..12]);

    public TempDir() => Directory.CreateDirectory(Path);

    public string this[string name] => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
