using System.Diagnostics;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Xml.Linq;
using Relevo.IntegrationTests.Readme;
using Xunit.Abstractions;

namespace Relevo.IntegrationTests.Packaging;

/// <summary>`dotnet pack` of the six src projects into a folder feed, in a build of their own (its own artifacts
/// folder, so the working tree's bin/obj are untouched), with a prerelease version unique to the run. Offline: the
/// feed and the machine's global packages folder are the only package sources the consumers see.</summary>
public sealed class PackedFeed : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    public string Version { get; } = $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}";
    public string Feed => _dir["feed"];
    public string Rid { get; } = RuntimeInformation.RuntimeIdentifier;
    public string this[string name] => _dir[name];
    public string PackLog { get; private set; } = "";

    public static readonly string[] Libraries = ["Relevo", "Relevo.Dense", "Relevo.Llm", "Relevo.Server", "Relevo.Cluster"];

    /// <summary>The global packages folder the repository restored into: read as one more local source.</summary>
    public static string GlobalPackages =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
            ? p
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    public async Task InitializeAsync()
    {
        string src = Path.Combine(TestData.RepoRoot, "src");
        string[] projects = ["Relevo/Relevo.csproj", "Relevo.Dense/Relevo.Dense.csproj", "Relevo.Llm/Relevo.Llm.csproj",
            "Relevo.Server/Relevo.Server.csproj", "Relevo.Cluster/Relevo.Cluster.csproj", "Relevo.Cli/Relevo.Cli.csproj"];
        var solution = new XElement("Solution", projects.Select(p => new XElement("Project", new XAttribute("Path", Path.Combine(src, p)))));
        File.WriteAllText(_dir["pack.slnx"], solution.ToString());
        // one platform's tool package (this machine's) instead of the four a release makes
        var (code, log) = await Dotnet(_dir.Path, null, TimeSpan.FromMinutes(10), "pack", "pack.slnx", "-c", "Release", "-o", Feed,
            "--artifacts-path", _dir["artifacts"], $"-p:VersionSuffix={Version["0.1.0-".Length..]}", $"-p:RuntimeIdentifiers={Rid}");
        PackLog = log;
        Assert.True(code == 0, "dotnet pack failed:\n" + log);
    }

    public Task DisposeAsync()
    {
        _dir.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>A nuget.config whose only sources are the feed and, when <paramref name="withGlobalPackages"/>, the global
    /// packages folder (so that restores need no network).</summary>
    public string Config(string folder, bool withGlobalPackages)
    {
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, "nuget.config");
        File.WriteAllText(path, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="relevo-feed" value="{Feed}" />
                {(withGlobalPackages ? $"<add key=\"restored\" value=\"{GlobalPackages}\" />" : "")}
              </packageSources>
            </configuration>
            """);
        return path;
    }

    public static async Task<(int Code, string Output)> Dotnet(string workingDirectory, IDictionary<string, string>? env, TimeSpan timeout,
        params string[] args) => await Run("dotnet", workingDirectory, env, timeout, args);

    public static async Task<(int Code, string Output)> Run(string program, string workingDirectory, IDictionary<string, string>? env,
        TimeSpan timeout, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        try
        {
            await p.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            p.Kill(entireProcessTree: true);
            throw;
        }
        return (p.ExitCode, $"{program} {string.Join(' ', args)}: exit {p.ExitCode}\n{await stdout}{await stderr}");
    }
}

/// <summary>The packages a .NET user installs: their metadata, the `relevo` tool installed from the feed running the
/// quickstart, and a fresh console project running the README's library example against the Relevo package.</summary>
public sealed class PackageTests(PackedFeed feed, ITestOutputHelper output) : IClassFixture<PackedFeed>
{
    private static XElement Nuspec(string nupkg)
    {
        using var zip = ZipFile.OpenRead(nupkg);
        var entry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/'));
        using var s = entry.Open();
        return XElement.Load(s);
    }

    private static string Meta(XElement nuspec, string name) =>
        nuspec.Descendants().FirstOrDefault(e => e.Name.LocalName == name)?.Value ?? "";

    [Fact]
    public void Every_package_carries_its_docs_readme_license_version_and_commit()
    {
        output.WriteLine(string.Join('\n', Directory.GetFiles(feed.Feed).Select(Path.GetFileName)));
        foreach (string id in PackedFeed.Libraries)
        {
            string nupkg = Path.Combine(feed.Feed, $"{id}.{feed.Version}.nupkg");
            Assert.True(File.Exists(nupkg), $"{nupkg} is missing");
            using (var zip = ZipFile.OpenRead(nupkg))
            {
                var names = zip.Entries.Select(e => e.FullName).ToHashSet();
                string assembly = id == "Relevo" ? "Relevo.Core" : id;
                Assert.Contains($"lib/net10.0/{assembly}.dll", names);
                Assert.Contains($"lib/net10.0/{assembly}.xml", names); // XML docs for IntelliSense
                Assert.Contains("README.md", names);
                Assert.Contains("LICENSE", names);
            }
            var nuspec = Nuspec(nupkg);
            Assert.Equal(feed.Version, Meta(nuspec, "version"));
            Assert.Equal("MIT", Meta(nuspec, "license"));
            Assert.Equal("README.md", Meta(nuspec, "readme"));
            Assert.True(Meta(nuspec, "description").Length > 60, $"{id}: describe the package");
            var repository = nuspec.Descendants().Single(e => e.Name.LocalName == "repository");
            Assert.Equal("git", repository.Attribute("type")?.Value);
            Assert.Matches("^[0-9a-f]{40}$", repository.Attribute("commit")?.Value ?? "");
            var dependencies = nuspec.Descendants().Where(e => e.Name.LocalName == "dependency")
                .ToDictionary(e => e.Attribute("id")!.Value, e => e.Attribute("version")!.Value);
            if (id == "Relevo")
            {
                // the core pulls in no ONNX Runtime, model, LLM, Orleans or ASP.NET package
                Assert.DoesNotContain(dependencies.Keys, d => d.Contains("OnnxRuntime") || d.Contains("SentenceTransformers") ||
                                                               d.Contains("Orleans") || d.Contains("OpenAI") || d.Contains("ModelContextProtocol"));
            }
            else
            {
                Assert.Equal(feed.Version, dependencies["Relevo"]); // the layers depend on the same core version
            }
        }

        // the tool: a small package pointing to one package per platform, here this machine's
        var pointer = Nuspec(Path.Combine(feed.Feed, $"Relevo.Cli.{feed.Version}.nupkg"));
        Assert.Contains(pointer.Descendants(), e => e.Name.LocalName == "packageType" && e.Attribute("name")?.Value == "DotnetTool");
        string platform = Path.Combine(feed.Feed, $"Relevo.Cli.{feed.Rid}.{feed.Version}.nupkg");
        Assert.True(File.Exists(platform), $"{platform} is missing");
        Assert.True(new FileInfo(platform).Length < 250L << 20, "a tool package must stay under NuGet's 250 MB limit");
    }

    [Fact]
    public async Task The_tool_installs_from_the_feed_and_runs_the_quickstart()
    {
        string tools = feed["tools"], work = feed["quickstart"];
        Directory.CreateDirectory(work);
        var env = new Dictionary<string, string> { ["NUGET_PACKAGES"] = feed["tool-packages"] };
        var install = await PackedFeed.Dotnet(work, env, TimeSpan.FromMinutes(5), "tool", "install", "Relevo.Cli", "--tool-path", tools,
            "--version", feed.Version, "--configfile", feed.Config(feed["tool-config"], withGlobalPackages: false));
        output.WriteLine(install.Output);
        Assert.Equal(0, install.Code);

        var quickstart = await PackedFeed.Run(Path.Combine(tools, "relevo"), work,
            new Dictionary<string, string> { ["RELEVO_DATA"] = TestData.DatasetsDir, ["RELEVO_CACHE"] = feed["cache"] },
            TimeSpan.FromMinutes(5), "quickstart");
        output.WriteLine(quickstart.Output);
        Assert.Equal(0, quickstart.Code);
        var bm25 = quickstart.Output.Split('\n').First(l => l.Contains(" bm25 ", StringComparison.Ordinal) || l.Contains("│ bm25", StringComparison.Ordinal));
        Assert.Contains("0.6789", bm25); // Pyserini's BM25 nDCG@10 on SciFact
    }

    [Fact]
    public async Task A_fresh_console_project_runs_the_readme_example_from_the_package()
    {
        string project = feed["console"];
        feed.Config(project, withGlobalPackages: true);
        File.WriteAllText(Path.Combine(project, "Program.cs"), ReadmeExample.Program());
        File.WriteAllText(Path.Combine(project, "example.csproj"), ReadmeExample.Project($"<PackageReference Include=\"Relevo\" Version=\"{feed.Version}\" />"));
        var env = new Dictionary<string, string> { ["NUGET_PACKAGES"] = feed["console-packages"], ["RELEVO_DATA"] = TestData.DatasetsDir };
        var run = await PackedFeed.Dotnet(project, env, TimeSpan.FromMinutes(5), "run", "-c", "Release");
        output.WriteLine(run.Output);
        Assert.Equal(0, run.Code);
        var lines = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Contains("nDCG@10 0.6789", lines);
        // the package, not the working tree, was compiled against
        Assert.True(Directory.Exists(Path.Combine(feed["console-packages"], "relevo", feed.Version)));
    }
}
