using System.Globalization;
using System.Text.Json;
using Relevo.Collections;
using Relevo.Index;
using Relevo.Index.Formats.V1;
using Relevo.Index.Values;
using Relevo.Search;
using Relevo.Search.Filters;
using Relevo.Search.Similarities;
using Xunit.Abstractions;

namespace Relevo.Tests.Search;

/// <summary>Typed fields, doc values and filters: the schema (declared, inferred, errors naming file, line and field),
/// stored keys, filters against an independent evaluation of the generated values, and filtered BM25 (MaxScore,
/// block-max WAND, exhaustive) against exhaustive scoring of everything cut by the same predicate afterwards.</summary>
public class FilterTests(ITestOutputHelper output)
{
    /// <summary>The typed values document n of a generated corpus gets.</summary>
    internal sealed record Gen(long Year, string Lang, string[] Tags, double Score, string Date, bool Open)
    {
        public static Gen Of(int n) => new(1950 + n % 20, Langs[n % 4], n % 3 == 0 ? (n % 2 == 1 ? ["aero", "flow"] : ["heat"]) : [],
            n % 100 / 10.0, $"19{50 + n % 20:D2}-{1 + n % 12:D2}-01", n % 5 == 0);

        private static readonly string[] Langs = ["en", "de", "fr", "es"];

        public string Json()
        {
            var d = new Dictionary<string, object> { ["year"] = Year, ["lang"] = Lang, ["score"] = Score, ["date"] = Date, ["open"] = Open };
            if (Tags.Length > 0) d["tags"] = Tags;
            return JsonSerializer.Serialize(d);
        }
    }

    /// <summary>A dataset's corpus with generated typed keys added to every line (document number n from its _id).</summary>
    internal static string TypedCorpus(string corpusPath, string dir)
    {
        string path = Path.Combine(dir, "corpus.jsonl");
        using var w = new StreamWriter(path);
        int i = 0;
        foreach (var doc in JsonlReader.ReadCorpus(corpusPath))
        {
            int n = NumberOf(doc.Id, i++);
            var o = new Dictionary<string, object> { ["_id"] = doc.Id, ["title"] = doc.Title, ["text"] = doc.Text };
            foreach (var p in JsonDocument.Parse(Gen.Of(n).Json()).RootElement.EnumerateObject()) o[p.Name] = p.Value.Clone();
            w.WriteLine(JsonSerializer.Serialize(o));
        }
        return path;
    }

    private static int NumberOf(string id, int ordinal) => int.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : ordinal;

    /// <summary>Filters and what they mean, evaluated on the generated values.</summary>
    internal static readonly (string Filter, Func<Gen, bool> Matches)[] Cases =
    [
        ("lang:en", g => g.Lang == "en"),
        ("year:[1955 TO 1960]", g => g.Year is >= 1955 and <= 1960),
        ("year:{1955 TO 1960}", g => g.Year is > 1955 and < 1960),
        ("lang:(de OR fr) AND -open:true", g => g.Lang is "de" or "fr" && !g.Open),
        ("-lang:en", g => g.Lang != "en"),
        ("tags:aero", g => g.Tags.Contains("aero")),
        ("score:[2.5 TO 7.5}", g => g.Score >= 2.5 && g.Score < 7.5),
        ("date:[1960-01-01 TO 1962-06-30]", g => string.CompareOrdinal(g.Date, "1960-01-01") >= 0 && string.CompareOrdinal(g.Date, "1962-06-30") <= 0),
        ("+year:[* TO 1953] +tags:heat", g => g.Year <= 1953 && g.Tags.Contains("heat")),
        ("lang:[de TO es]", g => g.Lang is "de" or "en" or "es"),
        ("NOT lang:en AND NOT lang:de", g => g.Lang is not ("en" or "de")),
        ("open:false OR year:1969", g => !g.Open || g.Year == 1969),
        ("lang:\"fr\"", g => g.Lang == "fr"),
        ("date:[1965 TO *]", g => g.Year >= 1965),
    ];

    private static IndexReader Build(string corpus, string dir, IndexWriterOptions? options = null)
    {
        using (var writer = IndexWriter.Open(dir, options ?? new IndexWriterOptions()))
        {
            CorpusIndexer.AddCorpus(writer, corpus);
            writer.Commit();
        }
        return IndexReader.Open(dir);
    }

    /// <summary>Each filter's documents are exactly those whose generated values satisfy it, with deletions, in
    /// segments written before and after deletions and merged.</summary>
    [Fact]
    public void FiltersMatchExactlyTheDocumentsTheirValuesSatisfy()
    {
        var ds = TestData.Dataset("cranfield");
        using var tmp = new TempDir();
        string corpus = TypedCorpus(ds.CorpusPath, tmp.Path);
        string dir = tmp["index"];
        Build(corpus, dir).Dispose();
        using (var reader = IndexReader.Open(dir)) Check(reader, "one segment");
        // deletions, a second segment from documents added one by one, then a merge of both
        using (var writer = IndexWriter.Open(dir, new IndexWriterOptions { ReplaceExisting = true }))
        {
            for (int n = 7; n <= 1400; n += 7) writer.Delete(n.ToString(CultureInfo.InvariantCulture));
            for (int n = 2000; n < 2300; n++)
                writer.Add(new Document(n.ToString(CultureInfo.InvariantCulture), "added", "wing flow " + n) { Fields = Gen.Of(n).Json() });
            writer.Commit();
        }
        using (var reader = IndexReader.Open(dir))
        {
            Assert.Equal(2, reader.Segments.Count);
            Check(reader, "two segments with deletions");
        }
        using (var writer = IndexWriter.Open(dir)) writer.ForceMerge();
        using (var reader = IndexReader.Open(dir))
        {
            Assert.Single(reader.Segments);
            Check(reader, "merged");
        }

        void Check(IndexReader reader, string state)
        {
            foreach (var (filter, matches) in Cases)
            {
                var compiled = DocFilter.For(reader, filter)!;
                long expected = 0;
                for (int s = 0; s < reader.Segments.Count; s++)
                {
                    var seg = reader.Segments[s];
                    for (int d = 0; d < seg.MaxDoc; d++)
                    {
                        bool want = !seg.IsDeleted(d) && matches(Gen.Of(int.Parse(seg.GetId(d), CultureInfo.InvariantCulture)));
                        if (want) expected++;
                        Assert.True(want != compiled.Excluded[s].IsDeleted(d), $"{state}: '{filter}' on document {seg.GetId(d)}");
                    }
                }
                Assert.Equal(expected, compiled.Matching);
                Assert.True(expected > 0, filter);
            }
        }
    }

    /// <summary>Filtered BM25 with MaxScore, block-max WAND and exhaustive scoring gives exactly the top k of
    /// exhaustive scoring over every document, cut by the filter's predicate afterwards: documents and scores, at k 10,
    /// 100 and 1000, also with deletions; k hits come back whenever k documents match.</summary>
    [Fact]
    public void FilteredBm25EqualsExhaustiveScoringCutByThePredicate()
    {
        var ds = TestData.Dataset("cranfield");
        using var tmp = new TempDir();
        string corpus = TypedCorpus(ds.CorpusPath, tmp.Path);
        string dir = tmp["index"];
        Build(corpus, dir).Dispose();
        using (var writer = IndexWriter.Open(dir))
        {
            for (int n = 3; n <= 1400; n += 11) writer.Delete(n.ToString(CultureInfo.InvariantCulture));
            writer.Commit();
        }
        using var reader = IndexReader.Open(dir);
        var searcher = new Bm25Searcher(reader);
        var queries = JsonlReader.ReadQueries(ds.QueriesPath);
        int compared = 0;
        foreach (var (filter, matches) in Cases)
        {
            var compiled = DocFilter.For(reader, filter)!;
            foreach (var (_, text) in queries.Take(60))
            {
                var query = Query.Parse(text, reader.AnalyzerInstance);
                var all = searcher.Search(query, reader.MaxDoc, PruningAlgorithm.Exhaustive);
                var kept = all.Where(h => matches(Gen.Of(int.Parse(h.Id, CultureInfo.InvariantCulture)))).ToList();
                foreach (int k in new[] { 10, 100, 1000 })
                {
                    var expected = kept.Take(k).ToList();
                    foreach (var algorithm in new[] { PruningAlgorithm.MaxScore, PruningAlgorithm.BlockMaxWand, PruningAlgorithm.Exhaustive })
                    {
                        var got = reader.TopHits(k, (docs, scores) => searcher.SearchDocs(query, k, docs, scores, algorithm, filter: compiled));
                        Assert.Equal(expected.Select(h => (h.Id, h.Score)), got.Select(h => (h.Id, h.Score)));
                    }
                    compared += expected.Count;
                }
            }
        }
        output.WriteLine($"{compared} ranks compared");
        Assert.True(compared > 50_000);
    }

    /// <summary>The schema is inferred from first values, declared by a file, recorded in the manifest, and a value
    /// that breaks it is an error naming the file, line and field, with nothing committed.</summary>
    [Fact]
    public void SchemaErrorsNameTheFileLineAndField()
    {
        using var tmp = new TempDir();
        string corpus = tmp["corpus.jsonl"];
        File.WriteAllLines(corpus,
        [
            """{"_id":"a","title":"t","text":"one","year":2015,"meta":{"lang":"en"},"empty":{},"none":null}""",
            """{"_id":"b","title":"t","text":"two","year":2016,"meta":{"lang":"de"}}""",
            """{"_id":"c","title":"t","text":"three","year":"soon"}""",
        ]);
        string dir = tmp["index"];
        using (var writer = IndexWriter.Open(dir))
        {
            var e = Assert.Throws<RelevoException>(() => CorpusIndexer.AddCorpus(writer, corpus));
            Assert.Equal($"{corpus}:3: field year: expected an integer, found \"soon\" (the type was inferred from line 1; declare it with --schema to choose another)", e.Message);
        }
        Assert.False(Manifest.Exists(dir));

        File.WriteAllLines(corpus,
        [
            """{"_id":"a","title":"t","text":"one","year":2015,"meta":{"lang":"en"},"empty":{},"none":null}""",
            """{"_id":"b","title":"t","text":"two","year":2016,"meta":{"lang":"de"},"tags":["x","y"]}""",
        ]);
        string schema = tmp["schema.json"];
        File.WriteAllText(schema, """{"year": "keyword", "tags": {"type": "keyword"}}""");
        using (var writer = IndexWriter.Open(dir))
        {
            writer.DeclareSchema(schema);
            CorpusIndexer.AddCorpus(writer, corpus);
            writer.Commit();
        }
        using (var reader = IndexReader.Open(dir))
        {
            Assert.Equal(new Dictionary<string, string> { ["meta.lang"] = "keyword", ["tags"] = "keyword", ["year"] = "keyword" }, reader.Manifest.Schema);
            Assert.Equal("""{"year":2015,"meta":{"lang":"en"}}""", reader.GetDocument("a")!.Fields); // empty and null keys are absent
            Assert.Equal(1, DocFilter.For(reader, "year:2016")!.Matching);
            Assert.Equal(1, DocFilter.For(reader, "meta.lang:en")!.Matching);
            Assert.Equal(1, DocFilter.For(reader, "tags:y")!.Matching);
            Assert.Contains("filter column 1: the index has no field 'lang'", Assert.Throws<RelevoException>(() => DocFilter.For(reader, "lang:en")).Message);
        }
        File.WriteAllText(schema, """{"year": "integer"}""");
        using (var writer = IndexWriter.Open(dir))
            Assert.Equal($"{schema}: field year: the index has it as keyword, and a field's type never changes",
                Assert.Throws<RelevoException>(() => writer.DeclareSchema(schema)).Message);
        File.WriteAllText(schema, """{"title": "keyword"}""");
        using (var writer = IndexWriter.Open(dir))
            Assert.Equal($"{schema}: field title: title and text are always text", Assert.Throws<RelevoException>(() => writer.DeclareSchema(schema)).Message);
        File.WriteAllText(schema, """{"year": "number"}""");
        using (var writer = IndexWriter.Open(dir))
            Assert.StartsWith($"{schema}: field year: unknown type 'number'", Assert.Throws<RelevoException>(() => writer.DeclareSchema(schema)).Message);
    }

    /// <summary>A corpus without other keys is indexed exactly as before: stored documents of file version 1 and no
    /// schema in the manifest.</summary>
    [Fact]
    public void ACorpusWithoutOtherKeysIsStoredAsBefore()
    {
        var ds = TestData.Dataset("cranfield");
        using var tmp = new TempDir();
        using var reader = Build(ds.CorpusPath, tmp.Path);
        Assert.Null(reader.Manifest.Schema);
        Assert.False(((V1SegmentReader)reader.Segments[0]).StoresFields);
        Assert.DoesNotContain("schema", File.ReadAllText(Path.Combine(tmp.Path, Manifest.FileName)));
        Assert.Null(reader.Segments[0].GetDocument(0).Fields);
        Assert.Contains("the index has no typed fields", Assert.Throws<RelevoException>(() => DocFilter.For(reader, "lang:en")).Message);
    }

    /// <summary>A segment that first stored documents without keys and then one with keys serializes the earlier ones
    /// again (file version 2); a merge of version-1 and version-2 segments keeps every document's keys.</summary>
    [Fact]
    public void StoredKeysSurviveLateArrivalAndMixedMerges()
    {
        using var tmp = new TempDir();
        using (var writer = IndexWriter.Open(tmp.Path, new IndexWriterOptions { RamBudgetBytes = 1 << 30 }))
        {
            for (int i = 0; i < 3000; i++) writer.Add(new Document("p" + i, "plain " + i, new string('x', 50) + " words " + i));
            writer.Commit(); // a version-1 segment
            for (int i = 0; i < 3000; i++)
                writer.Add(new Document("q" + i, "typed " + i, "words " + i) { Fields = i == 2500 ? """{"k":"v"}""" : null });
            writer.Commit();
        }
        using (var reader = IndexReader.Open(tmp.Path))
        {
            Assert.False(((V1SegmentReader)reader.Segments[0]).StoresFields);
            Assert.True(((V1SegmentReader)reader.Segments[1]).StoresFields);
            Assert.Equal("typed 17", reader.GetDocument("q17")!.Title);
            Assert.Null(reader.GetDocument("q17")!.Fields);
            Assert.Equal("""{"k":"v"}""", reader.GetDocument("q2500")!.Fields);
        }
        using (var writer = IndexWriter.Open(tmp.Path)) writer.ForceMerge();
        using (var reader = IndexReader.Open(tmp.Path))
        {
            Assert.Single(reader.Segments);
            Assert.Equal("plain 2999", reader.GetDocument("p2999")!.Title);
            Assert.Equal("""{"k":"v"}""", reader.GetDocument("q2500")!.Fields);
            Assert.Equal(1, DocFilter.For(reader, "k:v")!.Matching);
        }
    }

    /// <summary>Through the library: SearchOptions.Filter and a filter(q=...) stage give the same hits, a filter reaches
    /// every input of a fusion, a filter after a retriever is refused, syntax errors name the column, and a sharded
    /// index (the shards typed alike) ranks filtered queries exactly as one index does.</summary>
    [Fact]
    public void FiltersWorkInPipelinesAndOnShardedIndexes()
    {
        var ds = TestData.Dataset("cranfield");
        using var tmp = new TempDir();
        string corpus = TypedCorpus(ds.CorpusPath, tmp.Path);
        using (var w = SearchIndex.OpenWriter(tmp["one"])) { w.AddCorpus(corpus); w.Commit(); }
        using (var w = SearchIndex.OpenWriter(tmp["sharded"], new WriterOptions { Shards = 3 })) { w.AddCorpus(corpus); w.Commit(); }
        using var one = SearchIndex.Open(tmp["one"]);
        using var sharded = SearchIndex.Open(tmp["sharded"]);
        var queries = JsonlReader.ReadQueries(ds.QueriesPath).Take(40).ToList();
        foreach (var (filter, matches) in Cases.Take(8))
            foreach (var (_, text) in queries)
            {
                var byOption = one.Search(text, "bm25", 10, new SearchOptions { Filter = filter });
                var byStage = one.Search(text, $"filter(q=\"{filter.Replace("\"", "")}\")>>bm25", 10);
                if (!filter.Contains('"')) Assert.Equal(byOption.Hits.Select(h => (h.Id, h.Score)), byStage.Hits.Select(h => (h.Id, h.Score)));
                Assert.All(byOption.Hits, h => Assert.True(matches(Gen.Of(int.Parse(h.Id, CultureInfo.InvariantCulture)))));
                var shardedHits = sharded.Search(text, "bm25", 10, new SearchOptions { Filter = filter });
                Assert.Equal(byOption.Hits.Select(h => (h.Id, h.Score)), shardedHits.Hits.Select(h => (h.Id, h.Score)));
                var fused = one.Search(text, "fuse(rrf,bm25,ql)", 50, new SearchOptions { Filter = filter });
                Assert.All(fused.Hits, h => Assert.True(matches(Gen.Of(int.Parse(h.Id, CultureInfo.InvariantCulture)))));
            }
        var after = Assert.Throws<RelevoException>(() => one.Search("wing", "bm25>>filter(q=\"lang:en\")", 10));
        Assert.Contains("comes before the retrievers it filters", after.Message);
        var syntax = Assert.Throws<RelevoException>(() => one.Search("wing", "bm25", 10, new SearchOptions { Filter = "year:[1960 TO" }));
        Assert.StartsWith("filter column 14: ", syntax.Message);
        var stage = Assert.ThrowsAny<RelevoException>(() => one.Search("wing", "filter(q=\"year:(\")>>bm25", 10));
        Assert.Contains("filter column", stage.Message);
    }

    /// <summary>Typed clauses inside a query in the Lucene syntax match by value and score a constant (their boost), as
    /// Lucene's range and point queries do: "+wing +lang:en" ranks the English documents with "wing" by their BM25 score
    /// plus 1, "wing year:[1960 TO 1962]^2" adds 2 to those in range, a typed value that is a stop word is not dropped,
    /// and explanations add up.</summary>
    [Fact]
    public void TypedClausesInAQueryMatchByValueAndScoreTheirBoost()
    {
        var ds = TestData.Dataset("cranfield");
        using var tmp = new TempDir();
        string corpus = TypedCorpus(ds.CorpusPath, tmp.Path);
        using (var w = SearchIndex.OpenWriter(tmp["idx"])) { w.AddCorpus(corpus); w.Commit(); }
        using var index = SearchIndex.Open(tmp["idx"]);
        var lucene = new SearchOptions { Syntax = QuerySyntax.Lucene };
        var plain = index.Search("wing", "bm25", 2000, new SearchOptions { Filter = "lang:en" });
        var required = index.Search("+wing +lang:en", "bm25", 2000, lucene);
        Assert.Equal(plain.Hits.Select(h => (h.Id, h.Score + 1f)), required.Hits.Select(h => (h.Id, h.Score)));
        var boosted = index.Search("wing year:[1960 TO 1962]^2", "bm25", 2000, lucene with { Explain = true });
        var wing = index.Search("wing", "bm25", 2000).Hits.ToDictionary(h => h.Id, h => h.Score);
        int inRange = 0;
        for (int i = 0; i < boosted.Hits.Count; i++)
        {
            var h = boosted.Hits[i];
            var g = Gen.Of(int.Parse(h.Id, CultureInfo.InvariantCulture));
            float expected = wing.GetValueOrDefault(h.Id) + (g.Year is >= 1960 and <= 1962 ? 2f : 0f);
            Assert.Equal(expected, h.Score, 4);
            if (g.Year is >= 1960 and <= 1962) inRange++;
            Assert.Equal(h.Score, boosted.Explanations![i]!.Terms!.Sum(t => t.Score), 3);
        }
        Assert.Equal(210, inRange); // every document in range matches, with or without "wing": ids 1..1400 with n % 20 in 10..12
        // a keyword value that the analyzer would remove from text ("the") is matched as it is, not dropped
        TestIndexes.Write(tmp["stop"], [new Document("x", "", "wing one") { Fields = """{"k":"the"}""" }, new Document("y", "", "wing two") { Fields = """{"k":"other"}""" }]);
        using (var small = SearchIndex.Open(tmp["stop"]))
            Assert.Equal(["x"], small.Search("+wing +k:the", "bm25", 5, lucene).Hits.Select(h => h.Id));
        var stop = index.Search("+wing -lang:de", "bm25", 5, lucene);
        Assert.All(stop.Hits, h => Assert.NotEqual("de", Gen.Of(int.Parse(h.Id, CultureInfo.InvariantCulture)).Lang));
        var e = Assert.Throws<Relevo.Search.Syntax.QuerySyntaxException>(() => index.Search("wing year:soon", "bm25", 5, lucene));
        Assert.Equal("query column 6: 'year' is an integer field, and 'soon' is not an integer", e.Message);
        e = Assert.Throws<Relevo.Search.Syntax.QuerySyntaxException>(() => index.Search("wing color:red", "bm25", 5, lucene));
        Assert.StartsWith("query column 6: unknown field 'color'", e.Message);
    }

    /// <summary>What review found: doc values are sparse (a key one document has costs one entry), a merge deletes its
    /// sources' values files, a date written as a day or a year means all of it (Elasticsearch's rounding), a date number
    /// outside years 1 to 9999 is refused, numeric facets tie by value, and a filter's clauses are bounded.</summary>
    [Fact]
    public void SparseValuesDateRoundingAndBounds()
    {
        using var tmp = new TempDir();
        string dir = tmp["idx"];
        using (var w = IndexWriter.Open(dir))
        {
            for (int i = 0; i < 50; i++)
                w.Add(new Document($"d{i}", "", "wing " + i) { Fields = i == 7 ? """{"rare":"x","t":"1960-05-01T10:00:00Z","n":3}""" : $$"""{"t":"1961-0{{1 + i % 9}}-01","n":{{i % 3}}}""" });
            w.Commit();
            for (int i = 50; i < 60; i++) w.Add(new Document($"d{i}", "", "wing " + i) { Fields = """{"n":2}""" });
            w.Commit();
            Assert.Equal(2, Directory.GetFiles(dir, "*.dv").Length);
            w.ForceMerge();
        }
        Assert.Single(Directory.GetFiles(dir, "*.dv")); // the sources' values files went with their segments
        using var reader = IndexReader.Open(dir);
        var columns = ValuesView.Of(reader).Segments[0];
        Assert.Equal([7], columns["rare"].Docs);
        Assert.Equal(1, DocFilter.For(reader, "t:1960-05-01")!.Matching);        // the day holds 10:00
        Assert.Equal(1, DocFilter.For(reader, "t:[1960 TO 1960]")!.Matching);     // the year, all of it
        Assert.Equal(0, DocFilter.For(reader, "t:[* TO 1960-05-01}")!.Matching);  // before the day
        Assert.Equal(49, DocFilter.For(reader, "t:{1960 TO *]")!.Matching);       // after the year
        Assert.Equal(1, DocFilter.For(reader, "t:\"1960-05-01T10:00:00Z\"")!.Matching);
        var set = MatchSet.Of(reader, Query.Parse("wing", reader.AnalyzerInstance), null, default);
        Assert.Equal([("2", 26L), ("0", 17L), ("1", 16L), ("3", 1L)], set.Facets(["n"], 10)["n"]);
        Assert.Equal([("0", 17L), ("1", 16L)], MatchSet.Of(reader, Query.Parse("wing", reader.AnalyzerInstance), DocFilter.For(reader, "n:[0 TO 1]"), default).Facets(["n"], 10)["n"]);
        var many = string.Join(" OR ", Enumerable.Range(0, 300).Select(i => $"n:{i}"));
        Assert.Contains("more than 256 clauses", Assert.Throws<RelevoException>(() => DocFilter.For(reader, many)).Message);

        var schema = new Schema();
        schema.Check("""{"t":"2020-01-01"}""", "f:1", 1);
        Assert.Equal("f:2: field t: expected a date, found 100000000000000000 (the type was inferred from line 1; declare it with --schema to choose another)",
            Assert.Throws<RelevoException>(() => schema.Check("""{"t":100000000000000000}""", "f:2", 2)).Message);
    }
}
