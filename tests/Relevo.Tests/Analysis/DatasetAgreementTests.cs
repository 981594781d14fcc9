using System.IO.Compression;
using System.Text.Json;
using Relevo.Analysis;
using Relevo.Collections;
using Xunit.Abstractions;

namespace Relevo.Tests.Analysis;

/// <summary>Differential test: our analyzers against Lucene.NET 4.8 over every document ("title text") and every
/// query of the shared datasets. Reproduce: dotnet test --filter "FullyQualifiedName~DatasetAgreementTests".</summary>
public class DatasetAgreementTests(ITestOutputHelper output)
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string analyzer in new[] { "english", "lowercase" })
            foreach (string dataset in new[] { "scifact", "vaswani", "cranfield", "cacm", "adi" })
                data.Add(analyzer, dataset);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void AgreesWithLucene(string analyzerName, string datasetName)
    {
        string folder = Path.Combine(DatasetsFolder(), datasetName);
        var dataset = BeirDataset.FromFolder(folder);
        var ours = Relevo.Analysis.Analyzer.Create(analyzerName);
        var lucene = LuceneOracle.For(analyzerName);

        var texts = new List<(string Id, string Text)>();
        foreach (JsonElement doc in ReadJsonLines(dataset.CorpusPath))
            texts.Add(("doc " + Str(doc, "_id"), Str(doc, "title") + " " + Str(doc, "text")));
        int docCount = texts.Count;
        foreach (JsonElement query in ReadJsonLines(dataset.QueriesPath))
            texts.Add(("query " + Str(query, "_id"), Str(query, "text")));

        var differences = new System.Collections.Concurrent.ConcurrentBag<(int Index, string Message)>();
        long terms = 0;
        Parallel.For(0, texts.Count, i =>
        {
            var (id, text) = texts[i];
            List<string> expected = LuceneOracle.Terms(lucene, text);
            List<string> actual = ours.Terms(text);
            Interlocked.Add(ref terms, expected.Count);
            if (!actual.SequenceEqual(expected))
                differences.Add((i, $"{id}: {FirstDifference(expected, actual)}"));
        });

        int docDiffs = differences.Count(d => d.Index < docCount);
        int queryDiffs = differences.Count - docDiffs;
        double agreement = 100.0 * (docCount - docDiffs) / docCount;
        output.WriteLine($"{analyzerName} {datasetName}: {docCount - docDiffs}/{docCount} documents identical ({agreement:F3}%), "
            + $"{texts.Count - docCount - queryDiffs}/{texts.Count - docCount} queries identical, {terms} Lucene terms");
        foreach (var (_, message) in differences.OrderBy(d => d.Index))
            output.WriteLine("  differs: " + message);

        Assert.True(agreement >= 99.9, $"{analyzerName} {datasetName}: only {agreement:F3}% of documents agree");
        Assert.True(queryDiffs <= (texts.Count - docCount) / 1000, $"{analyzerName} {datasetName}: {queryDiffs} queries differ");
    }

    /// <summary>$RELEVO_DATA, else ../shared/datasets beside the folder holding Relevo.slnx.</summary>
    internal static string DatasetsFolder()
    {
        if (Environment.GetEnvironmentVariable("RELEVO_DATA") is { Length: > 0 } data)
            return data;
        string? root = DatasetLocator.FindRepositoryRoot(Directory.GetCurrentDirectory())
            ?? DatasetLocator.FindRepositoryRoot(AppContext.BaseDirectory)
            ?? throw new InvalidOperationException("Relevo.slnx not found above " + Directory.GetCurrentDirectory());
        return Path.GetFullPath(Path.Combine(root, "..", "shared", "datasets"));
    }

    private static string FirstDifference(List<string> expected, List<string> actual)
    {
        int i = 0;
        while (i < expected.Count && i < actual.Count && expected[i] == actual[i]) i++;
        string Show(List<string> terms) => i < terms.Count ? $"'{terms[i]}'" : "(end)";
        return $"term #{i}: Lucene {Show(expected)}, ours {Show(actual)}";
    }

    private static string Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";

    private static IEnumerable<JsonElement> ReadJsonLines(string path)
    {
        using Stream file = File.OpenRead(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0) continue;
            using var doc = JsonDocument.Parse(line);
            yield return doc.RootElement.Clone();
        }
    }
}
