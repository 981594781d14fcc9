using System.ComponentModel;
using System.Text.Json;
using Relevo.Index;
using Relevo.Search;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Relevo.Cli.Commands;

public sealed class SearchCommand : Command<SearchCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--index <DIR>")] public string IndexDir { get; init; } = "";
        [CommandOption("--query <TEXT>")] public string? Query { get; init; }
        [CommandOption("-k|--top-k <K>")][DefaultValue(10)] public int K { get; init; } = 10;
        [CommandOption("--pipeline <TEXT>")][DefaultValue("bm25")][Description("bm25, bm25(k1=..,b=..) or dense(model=arctic-xs[,int8=true])")] public string Pipeline { get; init; } = "bm25";
        [CommandOption("--explain")][Description("Show each query term's contribution to the score.")] public bool Explain { get; init; }
        [CommandOption("--json")][Description("Print the hits as JSON.")] public bool Json { get; init; }

        public override ValidationResult Validate()
        {
            if (IndexDir.Length == 0) return ValidationResult.Error("--index is required");
            if (K < 1) return ValidationResult.Error("--k must be at least 1");
            return ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        if (string.IsNullOrWhiteSpace(settings.Query)) throw new RelevoException("--query: empty query");
        using var reader = IndexReader.Open(settings.IndexDir);
        // --- interim dense(model=...) branch (src/Relevo/Dense), to be replaced by the pipeline parser ---
        if (Relevo.Dense.DenseStageSpec.TryParse(settings.Pipeline, out var dense))
        {
            using var denseSearcher = new Relevo.Dense.DenseSearcher(reader, dense.Model, options: dense.SearchOptions);
            var denseClock = System.Diagnostics.Stopwatch.StartNew();
            var denseHits = denseSearcher.Search(settings.Query, settings.K);
            var denseRows = new List<object>();
            foreach (var h in denseHits)
            {
                var doc = reader.Segments[h.Segment].GetDocument(h.Doc);
                denseRows.Add(new { rank = denseRows.Count + 1, id = h.DocId, score = h.Score, title = doc.Title, text = doc.Text });
            }
            if (settings.Json)
            {
                Console.WriteLine(JsonSerializer.Serialize(new { query = settings.Query, pipeline = dense.ToString(), took_ms = denseClock.Elapsed.TotalMilliseconds, hits = denseRows },
                    new JsonSerializerOptions { WriteIndented = true }));
                return 0;
            }
            Console.WriteLine($"{dense} ({denseHits.Count} hits, {denseClock.Elapsed.TotalMilliseconds:N1} ms, query embedding included)");
            for (int i = 0; i < denseHits.Count; i++)
            {
                var doc = reader.Segments[denseHits[i].Segment].GetDocument(denseHits[i].Doc);
                Console.WriteLine($"{i + 1,3}. {denseHits[i].DocId}  {denseHits[i].Score:F4}  {Shorten(doc.Title.Length > 0 ? doc.Title : doc.Text, 90)}");
            }
            return 0;
        }
        // --- end of the interim dense branch ---
        var searcher = new Bm25Searcher(reader, Bm25ParametersText.Parse(settings.Pipeline));
        var query = Query.Parse(settings.Query, searcher.Analyzer);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var hits = searcher.Search(query, settings.K);
        double ms = clock.Elapsed.TotalMilliseconds;

        var rows = new List<object>();
        for (int i = 0; i < hits.Count; i++)
        {
            var doc = reader.Segments[hits[i].Segment].GetDocument(hits[i].Doc);
            var explanation = settings.Explain ? searcher.Explain(query, hits[i]) : null;
            rows.Add(new { rank = i + 1, id = hits[i].DocId, score = hits[i].Score, title = doc.Title, text = doc.Text, explanation });
        }
        if (settings.Json)
        {
            var payload = new { query = settings.Query, terms = query.Terms.Select(t => t.Term), pipeline = searcher.Parameters.ToString(), took_ms = ms, hits = rows };
            Console.WriteLine(JsonSerializer.Serialize(payload, new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }
        Console.WriteLine($"query terms: {string.Join(' ', query.Terms.Select(t => t.Count > 1 ? $"{t.Term}^{t.Count}" : t.Term))}  ({hits.Count} hits, {ms:N1} ms, {searcher.Parameters})");
        for (int i = 0; i < hits.Count; i++)
        {
            var doc = reader.Segments[hits[i].Segment].GetDocument(hits[i].Doc);
            Console.WriteLine($"{i + 1,3}. {hits[i].DocId}  {hits[i].Score:F4}  {Shorten(doc.Title.Length > 0 ? doc.Title : doc.Text, 90)}");
            if (settings.Explain) PrintExplanation(searcher.Explain(query, hits[i]));
        }
        return 0;
    }

    private static void PrintExplanation(Explanation e)
    {
        foreach (var t in e.Terms)
            Console.WriteLine(FormattableString.Invariant(
                $"       {t.Score,9:F4} = {t.Term}{(t.QueryCount > 1 ? $" x{t.QueryCount}" : "")}: idf {t.Idf:F4} (df {t.DocFreq} of {e.DocCount}), tf {t.Tf}, length {t.DocLength} (avg {t.AverageLength:F1}), k1 {e.K1}, b {e.B}"));
        Console.WriteLine(FormattableString.Invariant($"       {e.Score,9:F4} = sum"));
    }

    private static string Shorten(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "…";
}
