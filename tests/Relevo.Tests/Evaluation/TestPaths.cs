using Relevo.Collections;

namespace Relevo.Tests.Evaluation;

internal static class TestPaths
{
    /// <summary>The repository root (folder holding Relevo.slnx), found from the test's working or base directory.</summary>
    public static string RepoRoot =>
        DatasetLocator.FindRepositoryRoot(Directory.GetCurrentDirectory())
        ?? DatasetLocator.FindRepositoryRoot(AppContext.BaseDirectory)
        ?? throw new InvalidOperationException("Relevo.slnx not found above the test directory");

    public static string EvaluationDir => Path.Combine(RepoRoot, "tests", "Relevo.Tests", "Evaluation");

    /// <summary>$RELEVO_DATA if set, else ../shared/datasets beside the repository root.</summary>
    public static string DatasetsDir =>
        Environment.GetEnvironmentVariable("RELEVO_DATA") is { Length: > 0 } d
            ? d
            : Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "datasets"));
}
