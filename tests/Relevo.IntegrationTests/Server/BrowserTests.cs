using System.Globalization;
using Microsoft.Playwright;
using Relevo.Index;

using Relevo.Server;

namespace Relevo.IntegrationTests.Server;

/// <summary>Runs only where Debian's chromium is installed (.ci/run installs it; CI=true makes a missing browser a
/// failure rather than a skip). $RELEVO_CHROMIUM names another binary.</summary>
public sealed class BrowserFactAttribute : FactAttribute
{
    public static string ChromiumPath =>
        Environment.GetEnvironmentVariable("RELEVO_CHROMIUM") is { Length: > 0 } p ? p : "/usr/bin/chromium";

    public BrowserFactAttribute()
    {
        if (!File.Exists(ChromiumPath) && Environment.GetEnvironmentVariable("CI") != "true")
            Skip = $"no browser at {ChromiumPath}: install it with `apt-get install -y chromium` (as .ci/run does)";
    }
}

/// <summary>Drives the search page in headless Chromium through Playwright (no browser download: Debian's binary).</summary>
public sealed class BrowserTests : IDisposable
{
    private const string Hostile = "<img src=x onerror=alert(1)>";
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Debian's headless Chromium, as a container runs it.</summary>
    private static Task<IBrowser> LaunchAsync(IPlaywright playwright) => playwright.Chromium.LaunchAsync(new()
    {
        ExecutablePath = BrowserFactAttribute.ChromiumPath,
        Headless = true,
        Args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });

    [BrowserFact]
    public async Task Typing_a_query_shows_highlighted_results_explain_adds_up_and_hostile_text_stays_text()
    {
        Assert.True(File.Exists(BrowserFactAttribute.ChromiumPath), $"no browser at {BrowserFactAttribute.ChromiumPath}; .ci/run installs Debian's chromium");
        TestIndexes.Write(_dir["idx"], [.. TestIndexes.Small,
            new Document("evil", Hostile, "Vitamin facts <script>alert(2)</script> and <b>bold</b> claims.")]);
        await using var h = await ServerHarness.StartAsync(_dir["idx"]);
        string origin = h.BaseAddress.GetLeftPart(UriPartial.Authority);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var page = await browser.NewPageAsync();
        var dialogs = new List<string>();
        var outside = new List<string>();
        var consoleErrors = new List<string>();
        page.Dialog += async (_, d) => { dialogs.Add(d.Message); await d.DismissAsync(); };
        page.Request += (_, r) => { if (!r.Url.StartsWith(origin, StringComparison.Ordinal)) outside.Add(r.Url); };
        page.Console += (_, m) => { if (m.Type == "error") consoleErrors.Add(m.Text); };

        await page.GotoAsync(origin + "/");
        await Assertions.Expect(page.Locator("#pipelines")).ToContainTextAsync("BM25");
        await page.Locator("#q").PressSequentiallyAsync("vitamin deficiency", new() { Delay = 20 });
        var hits = page.Locator("#results li.hit");
        await Assertions.Expect(hits.First).ToBeVisibleAsync();
        await Assertions.Expect(hits.First.Locator(".hit-title")).ToHaveTextAsync("Vitamin D and cancer");
        await Assertions.Expect(hits.First.Locator(".hit-title mark").First).ToHaveTextAsync("Vitamin");
        await Assertions.Expect(hits.First.Locator(".hit-snippet mark")).ToHaveTextAsync(["Vitamin", "deficiency"]);
        await Assertions.Expect(page.Locator("#status")).ToContainTextAsync("results");

        // The hostile title is shown as the literal text, and nothing in it became an element.
        var evil = page.Locator("li.hit[data-id='evil']");
        await Assertions.Expect(evil.Locator(".hit-title")).ToHaveTextAsync(Hostile);
        await Assertions.Expect(evil.Locator(".hit-snippet")).ToContainTextAsync("<script>alert(2)</script> and <b>bold</b>");
        Assert.Equal(0, await page.Locator("#results img, #results script, #results b").CountAsync());

        // Explain: a table per hit whose contributions add up to the score shown.
        await page.Locator("#explain").CheckAsync();
        await Assertions.Expect(hits.First.Locator("table.explain")).ToBeVisibleAsync();
        int count = await hits.CountAsync();
        for (int i = 0; i < count; i++)
        {
            var hit = hits.Nth(i);
            var parts = await hit.Locator("table.explain td.contribution").AllTextContentsAsync();
            double sum = parts.Sum(p => double.Parse(p, CultureInfo.InvariantCulture));
            double total = double.Parse(await hit.Locator("table.explain td.total").TextContentAsync() ?? "", CultureInfo.InvariantCulture);
            double score = double.Parse(await hit.Locator(".score").TextContentAsync() ?? "", CultureInfo.InvariantCulture);
            Assert.Equal(score, total, 4);
            Assert.Equal(total, sum, 3); // each part is rounded to 4 decimals
        }
        await Assertions.Expect(hits.First.Locator("table.explain td").First).ToHaveTextAsync("vitamin");
        await page.Locator("#explain").UncheckAsync();
        await Assertions.Expect(page.Locator("table.explain")).ToHaveCountAsync(0);

        // An error is shown as a message, not as an empty page.
        await page.Locator("#q").FillAsync(new string('x', 1100));
        await page.Locator("#go").ClickAsync();
        await Assertions.Expect(page.Locator("#status .error")).ToContainTextAsync("the limit is 1024");

        Assert.Empty(dialogs);
        Assert.Empty(outside);
        Assert.DoesNotContain(consoleErrors, e => !e.Contains("400", StringComparison.Ordinal));
    }

    /// <summary>Typed fields on the page: facets counted over every matching document, a click on a value filters the
    /// search (a chip shows it, every hit has the value, a click on the chip removes it), a sort by a field orders the
    /// hits, and a hostile keyword value stays text.</summary>
    [BrowserFact]
    public async Task Facets_filter_when_clicked_and_a_field_sorts_the_hits()
    {
        Assert.True(File.Exists(BrowserFactAttribute.ChromiumPath), $"no browser at {BrowserFactAttribute.ChromiumPath}; .ci/run installs Debian's chromium");
        var docs = new List<Document>();
        for (int i = 0; i < 40; i++)
            docs.Add(new Document($"d{i}", $"Vitamin study {i}", $"vitamin trial number {i}")
            {
                Fields = $$"""{"lang":"{{(i % 3 == 0 ? "de" : i == 1 ? Hostile.Replace("\"", "") : "en")}}","year":{{2000 + i}}}""",
            });
        TestIndexes.Write(_dir["typed"], docs);
        await using var h = await ServerHarness.StartAsync(_dir["typed"]);
        string origin = h.BaseAddress.GetLeftPart(UriPartial.Authority);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var page = await browser.NewPageAsync();
        var dialogs = new List<string>();
        page.Dialog += async (_, d) => { dialogs.Add(d.Message); await d.DismissAsync(); };

        await page.GotoAsync(origin + "/");
        await Assertions.Expect(page.Locator("#sort-box")).ToBeVisibleAsync();
        await page.Locator("#q").FillAsync("vitamin");
        await page.Locator("#go").ClickAsync();
        var de = page.Locator(".facet-value[data-field='lang'][data-value='de']");
        await Assertions.Expect(de).ToHaveTextAsync("de (14)");
        await Assertions.Expect(page.Locator("#status")).ToContainTextAsync("of 40 matching");
        await Assertions.Expect(page.Locator(".facet-value[data-field='lang']").Nth(2)).ToContainTextAsync("<img src=x onerror=alert(1)>");
        Assert.Equal(0, await page.Locator("#facets img").CountAsync());

        await de.ClickAsync();
        await Assertions.Expect(page.Locator("#filters .chip")).ToHaveTextAsync("lang:\"de\" ×");
        await Assertions.Expect(page.Locator("#status")).ToContainTextAsync("of 14 matching");
        var fields = await page.Locator("#results .hit-fields").AllTextContentsAsync();
        Assert.Equal(10, fields.Count);
        Assert.All(fields, f => Assert.Contains("lang: de", f));

        await page.Locator("#sort").SelectOptionAsync("year:desc");
        await Assertions.Expect(page.Locator("#results li.hit").First).ToHaveAttributeAsync("data-id", "d39");
        await page.Locator("#filters .chip").ClickAsync();
        await Assertions.Expect(page.Locator("#filters .chip")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("#status")).ToContainTextAsync("of 40 matching");
        await page.Locator("#sort").SelectOptionAsync("year:asc");
        await Assertions.Expect(page.Locator("#results li.hit").First).ToHaveAttributeAsync("data-id", "d0");
        Assert.Empty(dialogs);
    }

    [BrowserFact]
    public async Task Explain_shows_a_fusion_bar_and_the_dense_text_coloured_by_relevance()
    {
        Assert.True(File.Exists(BrowserFactAttribute.ChromiumPath), $"no browser at {BrowserFactAttribute.ChromiumPath}; .ci/run installs Debian's chromium");
        string dir = _dir["dense"];
        using var model = Relevo.Dense.EmbeddingModel.Load("minilm");
        using (var w = SearchIndex.OpenWriter(dir, new WriterOptions(), [new Relevo.Dense.DenseExtension()]))
        {
            w.AddRange(TestIndexes.Small);
            w.Commit();
            Relevo.Dense.DenseIndexer.AddVectors(w, model);
        }
        const string pipeline = "fuse(rrf,bm25,dense(model=minilm))";
        await using var h = await ServerHarness.StartAsync(dir, o => o with
        {
            Extensions = [new Relevo.Dense.DenseExtension(_ => model)],
            AllowedPipelines = [pipeline],
        });
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var page = await browser.NewPageAsync();
        var consoleErrors = new List<string>();
        page.Console += (_, m) => { if (m.Type == "error") consoleErrors.Add(m.Text); };
        await page.GotoAsync(h.BaseAddress.GetLeftPart(UriPartial.Authority) + "/");
        await page.Locator("#explain").CheckAsync();
        await page.Locator("#q").FillAsync("vitamin d cancer");
        var first = page.Locator("#results li.hit").First;
        await Assertions.Expect(first.Locator(".fusion-bar .share")).ToHaveCountAsync(2);
        // the bar's shares add up to the score shown
        var shares = await first.Locator(".fusion-bar .share").EvaluateAllAsync<double[]>("els => els.map(e => Number(e.dataset.share))");
        double score = double.Parse(await first.Locator(".score").TextContentAsync() ?? "", CultureInfo.InvariantCulture);
        Assert.Equal(score, shares.Sum(), 4);
        // the dense input, opened, shows the document's text with its words coloured; hovering a word gives its number
        var dense = first.Locator("details.part", new() { HasText = "dense" });
        await dense.Locator("summary").ClickAsync();
        var words = dense.Locator(".relevance-text .word");
        Assert.True(await words.CountAsync() > 5);
        await Assertions.Expect(dense.Locator(".relevance-text")).ToContainTextAsync("Vitamin D deficiency is linked");
        var strongest = await words.EvaluateAllAsync<string>(
            "els => els.reduce((a, b) => Number(b.dataset.relevance) > Number(a.dataset.relevance) ? b : a).textContent");
        Assert.Contains(strongest.ToLowerInvariant(), new[] { "vitamin", "d", "cancer", "cancers", "deficiency", "risk" });
        Assert.Matches(@"^[+-]\d+\.\d{4} \(sentence [+-]\d+\.\d{4}\)$", await words.First.GetAttributeAsync("title") ?? "");
        await Assertions.Expect(dense.Locator(".relevance-query .word")).ToHaveCountAsync(3);
        Assert.Empty(consoleErrors);
    }
}
