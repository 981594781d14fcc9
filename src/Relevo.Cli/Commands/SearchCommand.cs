using System.ComponentModel;
using System.Text.Json;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Relevo.Cli.Commands;

internal sealed class SearchCommand : Command<SearchCommand.Settings>
{
    public sealed class Settings : LlmCommandSettings
    {
        [CommandOption("--index <DIR>")] public string IndexDir { get; init; } = "";
        [CommandOption("--query <TEXT>")] public string? Query { get; init; }
        [CommandOption("-k|--top-k <K>")][DefaultValue(10)] public int K { get; init; } = 10;
        [CommandOption("--pipeline <TEXT>")][DefaultValue("bm25")][Description("e.g. bm25, bm25(k1=1.2,b=0.75), ql(mu=1000), bm25>>rm3>>bm25, fuse(rrf,bm25,ql)")] public string Pipeline { get; init; } = "bm25";
        [CommandOption("--explain")][Description("Show what each score is made of: BM25/QL terms, fusion shares, a dense score's words and sentences.")] public bool Explain { get; init; }
        [CommandOption("--json")][Description("Print the hits as JSON.")] public bool Json { get; init; }
        [CommandOption("--filter <QUERY>")][Description("Only documents matching this filter over typed fields can be hits, applied inside the search: e.g. 'year:[[2015 TO 2020]] AND lang:en', '-lang:de', 'tags:(a OR b)'.")] public string? Filter { get; init; }
        [CommandOption("--syntax <MODE>")][DefaultValue("auto")][Description("auto: the Lucene query syntax (title:term, \"a phrase\", +must -not, AND/OR/NOT, (groups), term^2) when the query uses it, else a bag of words; lucene; plain.")] public string Syntax { get; init; } = "auto";

        public override ValidationResult Validate()
        {
            if (IndexDir.Length == 0) return ValidationResult.Error("--index is required");
            if (K < 1) return ValidationResult.Error("--k must be at least 1");
            if (CliIndex.ParseSyntax(Syntax) is null) return ValidationResult.Error($"--syntax: '{Syntax}' is not one of auto, lucene, plain");
            return ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        if (string.IsNullOrWhiteSpace(settings.Query)) throw new RelevoException("--query: empty query");
        using var llm = LlmOptions.Create(settings);
        string pipeline = CliIndex.CanonicalPipeline(settings.Pipeline, llm);
        using var index = CliIndex.Open(settings.IndexDir, llm);
        bool explain = settings.Explain;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var result = index.Search(settings.Query, pipeline, settings.K, new SearchOptions { Documents = true, Explain = explain, Syntax = CliIndex.ParseSyntax(settings.Syntax)!.Value, Filter = settings.Filter });
        double ms = clock.Elapsed.TotalMilliseconds;
        LlmOptions.Report(llm);
        var hits = result.Hits;
        if (explain && hits.Count > 0 && result.Explanations!.All(e => e is null))
            Console.Error.WriteLine($"note: the last stage of '{result.Pipeline}' explains no scores");

        if (settings.Json)
        {
            var rows = new List<object>();
            for (int i = 0; i < hits.Count; i++)
            {
                var doc = result.Documents![i] ?? throw new RelevoException($"document {hits[i].Id} was deleted meanwhile");
                var stages = new Dictionary<string, float>();
                for (int s = 0; s < result.Stages.Count; s++)
                    if (!float.IsNaN(result.StageScores(s)[i])) stages[result.Stages[s]] = result.StageScores(s)[i];
                rows.Add(new
                {
                    rank = i + 1, id = hits[i].Id, score = hits[i].Score, title = doc.Title, text = doc.Text,
                    fields = doc.Fields is { } f ? JsonDocument.Parse(f).RootElement : (JsonElement?)null, stages,
                    explanation = result.Explanations?[i],
                });
            }
            var payload = new { query = settings.Query, terms = result.QueryTermWeights.Select(t => new { term = t.Term, weight = t.Weight }), pipeline = result.Pipeline, took_ms = ms, hits = rows };
            Console.WriteLine(JsonSerializer.Serialize(payload, new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }
        Console.WriteLine($"query: {FormatTerms(result.QueryTermWeights)}  ({hits.Count} hits, {ms:N1} ms, {result.Pipeline})");
        for (int i = 0; i < hits.Count; i++)
        {
            var doc = result.Documents![i] ?? throw new RelevoException($"document {hits[i].Id} was deleted meanwhile");
            Console.WriteLine($"{i + 1,3}. {hits[i].Id}  {hits[i].Score:F4}  {Shorten(doc.Title.Length > 0 ? doc.Title : doc.Text, 90)}");
            if (result.Explanations?[i] is { } e) PrintExplanation(e);
        }
        return 0;
    }

    /// <summary>"term^weight term ..." (weights other than 1 shown).</summary>
    private static string FormatTerms(IReadOnlyList<(string Term, float Weight)> terms) =>
        string.Join(' ', terms.Select(t => t.Weight == 1 ? t.Term : FormattableString.Invariant($"{t.Term}^{t.Weight:0.####}")));

    private static void PrintExplanation(Explanation e, string indent = "       ")
    {
        string I(FormattableString f) => indent + f.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (e.Note is { } note && e.Terms is null) Console.WriteLine(I($"{e.Stage}: {note}"));
        foreach (string reply in e.Replies ?? []) Console.WriteLine(I($"  reply: {Shorten(reply.ReplaceLineEndings(" "), 100)}"));
        if (e.Terms is { } terms)
        {
            foreach (var t in terms)
            {
                string parameters = e.Mu is { } mu
                    ? FormattableString.Invariant($"P(t|C) {t.Idf:G4}, tf {t.Tf}, length {t.DocLength}, mu {mu}")
                    : FormattableString.Invariant($"idf {t.Idf:F4} (df {t.DocFreq} of {t.DocCount ?? e.DocCount}), tf {t.Tf}, length {t.DocLength} (avg {t.AverageLength:F1}), k1 {e.K1}, b {e.B}");
                Console.WriteLine(I($"{t.Score,9:F4} = {t.Term}{(t.QueryWeight != 1 ? $" x{t.QueryWeight:0.####}" : "")}: {parameters}"));
            }
            Console.WriteLine(I($"{e.Score,9:F4} = sum ({e.Stage})"));
            if (e.FeedbackTerms is { Count: > 0 } added)
                Console.WriteLine(I($"          feedback added: {string.Join(", ", added.Select(t => FormattableString.Invariant($"{t.Term} {t.Weight:0.####}")))}"));
        }
        foreach (var part in e.Parts ?? [])
        {
            string where = part.Rank is { } r ? FormattableString.Invariant($"rank {r}, score {part.InputScore:G5}") : "not ranked";
            Console.WriteLine(part.Share is { } share ? I($"{share,9:F4} from {part.Stage} ({where})") : I($"{part.Stage}: {where}"));
            if (part.Explanation is { } inner) PrintExplanation(inner, indent + "    ");
        }
        if (e.Parts is { Count: > 0 } && e.Parts[0].Share is not null) Console.WriteLine(I($"{e.Score,9:F4} = sum ({e.Stage})"));
        if (e.Tokens is { } a)
        {
            Console.WriteLine(I($"cosine {a.Cosine:F4} ({a.Model}; tokens sum to it within {a.ConservationError:P3})"));
            var words = a.Words.OrderByDescending(w => Math.Abs(w.Relevance)).Take(8)
                .Select(w => FormattableString.Invariant($"{a.Text[w.Start..w.End]} {w.Relevance:+0.0000;-0.0000}"));
            Console.WriteLine(I($"  words: {string.Join(", ", words)}"));
            for (int i = 0; i < a.Sentences.Count; i++)
            {
                var sentence = a.Sentences[i];
                Console.WriteLine(I($"  {sentence.Relevance,8:+0.0000;-0.0000}  {Shorten(a.Text[sentence.Start..sentence.End], 80)}"));
            }
            var query = a.QueryTokens.Where(t => t.Start >= 0).Select(t => FormattableString.Invariant($"{t.Token} {t.Relevance:+0.0000;-0.0000}"));
            if (a.QueryTokens.Count > 0) Console.WriteLine(I($"  query: {string.Join(", ", query)}"));
        }
    }

    private static string Shorten(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "…";
}
