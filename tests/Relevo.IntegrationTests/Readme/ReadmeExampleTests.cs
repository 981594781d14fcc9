using System.Diagnostics;
using Xunit.Abstractions;

namespace Relevo.IntegrationTests.Readme;

/// <summary>The C# program of README.md's "Use it from C#" section.</summary>
internal static class ReadmeExample
{
    public static string Program()
    {
        string readme = File.ReadAllText(Path.Combine(TestData.RepoRoot, "README.md"));
        int section = readme.IndexOf("## Use it from C#", StringComparison.Ordinal);
        Assert.True(section >= 0, "README.md has no \"Use it from C#\" section");
        int start = readme.IndexOf("```csharp\n", section, StringComparison.Ordinal) + "```csharp\n".Length;
        return readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)];
    }

    /// <summary>A console project file for the program, strict as ours (nullable, warnings as errors), with
    /// <paramref name="reference"/> (a ProjectReference or PackageReference element) to the library.</summary>
    public static string Project(string reference) => $"""
        <Project Sdk="Microsoft.NET.Sdk">
          <PropertyGroup>
            <OutputType>Exe</OutputType>
            <TargetFramework>net10.0</TargetFramework>
            <Nullable>enable</Nullable>
            <ImplicitUsings>enable</ImplicitUsings>
            <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
          </PropertyGroup>
          <ItemGroup>
            {reference}
          </ItemGroup>
        </Project>
        """;
}

/// <summary>The C# program in README.md ("Use it from C#") compiles against the library as a separate project and
/// prints SciFact's BM25 nDCG@10 as Pyserini publishes it.</summary>
public sealed class ReadmeExampleTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_readme_program_indexes_searches_and_evaluates_scifact()
    {
        string program = ReadmeExample.Program();
        Assert.InRange(program.Split('\n').Count(l => l.Trim().Length > 0), 8, 20);

        using var dir = new TempDir();
        File.WriteAllText(dir["Program.cs"], program);
        File.WriteAllText(dir["example.csproj"],
            ReadmeExample.Project($"<ProjectReference Include=\"{Path.Combine(TestData.RepoRoot, "src", "Relevo", "Relevo.csproj")}\" />"));
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = dir.Path, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "run", "-c", "Release" }) psi.ArgumentList.Add(a);
        psi.Environment["RELEVO_DATA"] = TestData.DatasetsDir;
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        output.WriteLine(await stdout);
        output.WriteLine(await stderr);
        Assert.Equal(0, p.ExitCode);
        var lines = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal("nDCG@10 0.6789", lines[^1]);
        Assert.Equal(4, lines.Length); // three hits, then the measure
    }
}
