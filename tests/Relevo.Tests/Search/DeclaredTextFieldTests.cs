using System.Text.Json;
using Lucene.Net.Util;
using Relevo.Collections;
using Relevo.Index;
using Relevo.Index.Fields;
using Relevo.Index.Positions;
using Relevo.Pipelines;
using Relevo.Search;
using Relevo.Search.Similarities;
using Relevo.Search.Structured;
using Xunit.Abstractions;
using LuceneParser = Lucene.Net.QueryParsers.Classic.QueryParser;

namespace Relevo.Tests.Search;

/// <summary>Keys other than title and text declared <c>text</c> in the schema: analysed into postings, norms,
/// statistics and positions of their own at every commit, searched by <c>field:word</c>, phrases and
/// <c>bm25(fields=…)</c>, against Lucene.NET 4.8 indexing the same values as text fields; carried through later writes,
/// deletions and merges; refused where only typed fields apply; sharded as one index.</summary>
public class DeclaredTextFieldTests(ITestOutputHelper output)
{
    /// <summary>SciFact with each document's text split in three: the first third stays <c>text</c>, the other two
    /// become the two values of an <c>abstract</c> array; a <c>lang</c> keyword beside it.</summary>
    private static (string Corpus, Dictionary<string, string[]> Abstracts) Split(string corpusPath, string folder, int? take = null)
    {
        var abstracts = new Dictionary<string, string[]>(StringComparer.Ordinal);
        string path = Path.Combine(folder, "corpus.jsonl");
        using var writer = new StreamWriter(path);
        int n = 0;
        foreach (var d in JsonlReader.ReadCorpus(corpusPath))
        {
            if (take is { } t && n++ >= t) break;
            var words = d.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int a = words.Length / 3, b = 2 * words.Length / 3;
            string[] parts = [string.Join(' ', words[a..b]), string.Join(' ', words[b..])];
            abstracts[d.Id] = parts;
            writer.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["_id"] = d.Id, ["title"] = d.Title, ["text"] = string.Join(' ', words[..a]), ["abstract"] = parts,
                ["lang"] = d.Id.Length % 2 == 0 ? "en" : "de",
            }));
        }
        return (path, abstracts);
    }

    private static string SchemaFile(string folder)
    {
        string path = Path.Combine(folder, "schema.json");
        File.WriteAllText(path, """{"abstract": "text", "lang": "keyword"}""");
        return path;
    }

    private static readonly IndexWriterOptions Options = new()
    {
        Components = [FieldComponent.Instance, PositionsComponent.Instance],
        ReplaceExisting = true,
    };

    /// <summary>The corpus indexed with the schema (abstract postings written at the commit), then title/text postings
    /// and positions of every text field.</summary>
    private static IndexReader Build(string corpus, string schema, string dir)
    {
        using (var writer = IndexWriter.Open(dir, Options))
        {
            writer.DeclareSchema(schema);
            CorpusIndexer.AddCorpus(writer, corpus);
            writer.Commit();
            FieldIndexer.Build([writer]);
            PositionsIndexer.Build([writer]);
            writer.Commit();
        }
        return IndexReader.Open(dir);
    }

    /// <summary>Multi-field BM25 over title, text and the declared abstract, and queries in the Lucene syntax naming the
    /// abstract (words, required and excluded clauses, phrases with and without slop, across the array's two values),
    /// rank and score as Lucene.NET does over the same fields.</summary>
    [Fact]
    public void A_declared_text_field_ranks_as_lucene()
    {
        var ds = TestData.Dataset("scifact");
        using var tmp = new TempDir();
        var (corpus, abstracts) = Split(ds.CorpusPath, tmp.Path);
        using var reader = Build(corpus, SchemaFile(tmp.Path), tmp["index"]);
        Assert.True(reader.Schema.IsText("abstract"));
        using var lucene = new LuceneBm25(corpus, 0.9f, 0.4f, lucene8Norms: true, withFields: true,
            moreFields: d => abstracts[d.Id].Select(v => ("abstract", v)));
        var queries = JsonlReader.ReadQueries(ds.QueriesPath);

        var searcher = new MultiFieldBm25Searcher(reader, [new FieldBoost("title", 1.5f), new FieldBoost("text", 1), new FieldBoost("abstract", 0.7f)],
            new Bm25Parameters());
        int compared = 0, mismatched = 0;
        foreach (var (qid, text) in queries)
        {
            var ours = searcher.Search(Query.Parse(text, reader.AnalyzerInstance), 100);
            var theirs = lucene.SearchFields(text, 100, ("title", 1.5f), ("text", 1f), ("abstract", 0.7f));
            if (LuceneComparison.FirstDifference(ours, theirs) is { } difference)
            {
                if (++mismatched <= 10) output.WriteLine($"fields q{qid} {difference}");
            }
            else compared += ours.Count;
        }
        output.WriteLine($"multi-field: {queries.Count} queries, {compared} ranks agree, {mismatched} differ");
        Assert.True(compared > 10_000);
        Assert.Equal(0, mismatched);

        // queries in the syntax: words and phrases of the queries, in the abstract, some across its two values
        var parser = new LuceneParser(LuceneVersion.LUCENE_48, "contents", lucene.IndexAnalyzer);
        var texts = new List<string>();
        foreach (var (_, text) in queries.Take(150))
        {
            var words = System.Text.RegularExpressions.Regex.Matches(text.ToLowerInvariant(), "[a-z]{3,}").Select(m => m.Value)
                .Where(w => w is not ("and" or "not" or "or" or "to")).ToArray();
            if (words.Length < 2) continue;
            texts.Add($"abstract:{words[0]} title:{words[1]}");
            texts.Add($"+abstract:{words[0]} {words[1]} -text:{words[^1]}");
            texts.Add($"abstract:\"{words[0]} {words[1]}\"");
            texts.Add($"abstract:\"{words[0]} {words[1]}\"~3 text:{words[0]}");
        }
        foreach (var parts in abstracts.Values.Take(300))
        {
            // the last word of the first value and the first of the second: a phrase across the two values
            var first = parts[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var second = parts[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (first.Length == 0 || second.Length == 0) continue;
            string a = new string(first[^1].Where(char.IsLetter).ToArray()), b = new string(second[0].Where(char.IsLetter).ToArray());
            if (a.Length >= 3 && b.Length >= 3) texts.Add($"abstract:\"{a} {b}\"");
        }
        int matching = 0;
        compared = mismatched = 0;
        foreach (var text in texts.Distinct())
        {
            var node = PipelineQuery.Read(text, QuerySyntax.Lucene, reader.AnalyzerInstance, reader.Schema).Structured!;
            var query = new StructuredQuery(reader, node, new Bm25Parameters());
            var ours = query.Search(100);
            var theirs = lucene.Search(parser.Parse(text), 100);
            if (ours.Count > 0) matching++;
            if (LuceneComparison.FirstDifference(ours, theirs) is { } difference)
            {
                if (++mismatched <= 10) output.WriteLine($"syntax {text}: {difference}");
            }
            else compared += ours.Count;
        }
        output.WriteLine($"syntax: {texts.Distinct().Count()} queries, {matching} match, {compared} ranks agree, {mismatched} differ");
        Assert.True(matching > texts.Count / 3);
        Assert.Equal(0, mismatched);
    }

    /// <summary>Abstract postings and positions are written for documents added later and merged with their segments,
    /// deleted documents dropped: the index after two writes, deletions and a merge scores as one built from the live
    /// documents in one go. A declaration added to an index that has documents gives every segment the field at the
    /// next commit.</summary>
    [Fact]
    public void A_declared_text_field_follows_writes_deletions_and_merges()
    {
        var ds = TestData.Dataset("scifact");
        using var tmp = new TempDir();
        var (corpus, _) = Split(ds.CorpusPath, tmp.Path, take: 1200);
        var docs = JsonlReader.ReadCorpus(corpus).ToList();
        string schema = SchemaFile(tmp.Path);
        var deleted = docs.Where((_, i) => i % 7 == 3).Select(d => d.Id).ToHashSet();

        // once a commit inferred the key a keyword (its first value a string), declaring it text is refused
        using (var w = IndexWriter.Open(tmp["inferred"], Options))
        {
            foreach (var d in docs.Take(50)) w.Add(d);
            w.Commit();
        }
        using (var w = IndexWriter.Open(tmp["inferred"], Options))
        {
            var e = Assert.Throws<RelevoException>(() => w.DeclareSchema(schema));
            Assert.Contains("abstract", e.Message);
            Assert.Contains("never changes", e.Message);
        }

        using (var w = IndexWriter.Open(tmp["later"], Options))
        {
            foreach (var d in docs.Take(500).Select(d => d with { Fields = null })) w.Add(d);
            w.Commit();
            w.DeclareSchema(schema); // declared after the first commit: every segment gets the field at the next
            foreach (var d in docs.Skip(500).Take(400)) w.Add(d);
            w.Commit();
            foreach (var d in docs.Skip(900)) w.Add(d);
            foreach (var id in deleted) w.Delete(id);
            w.Commit();
            w.ForceMerge();
            w.Commit();
        }
        using (var w = IndexWriter.Open(tmp["once"], Options))
        {
            w.DeclareSchema(schema);
            foreach (var d in docs.Take(500).Select(d => d with { Fields = null }).Concat(docs.Skip(500)))
                if (!deleted.Contains(d.Id)) w.Add(d);
            w.Commit();
            PositionsIndexer.Build([w]);
            w.Commit();
        }
        using (var w = IndexWriter.Open(tmp["later"], Options)) { PositionsIndexer.Build([w]); w.Commit(); }
        using var later = IndexReader.Open(tmp["later"]);
        using var once = IndexReader.Open(tmp["once"]);
        Assert.Single(later.Segments);
        Assert.True(FieldView.Has(later, "abstract"));
        var queries = JsonlReader.ReadQueries(ds.QueriesPath).Take(60).ToList();
        int hits = 0;
        foreach (var (_, text) in queries)
        {
            var words = System.Text.RegularExpressions.Regex.Matches(text.ToLowerInvariant(), "[a-z]{3,}").Select(m => m.Value).ToArray();
            if (words.Length < 2) continue;
            foreach (var q in new[] { $"abstract:({string.Join(' ', words)})", $"abstract:\"{words[0]} {words[1]}\"~2 lang:en" })
            {
                var a = new StructuredQuery(later, PipelineQuery.Read(q, QuerySyntax.Lucene, later.AnalyzerInstance, later.Schema).Structured!, new Bm25Parameters()).Search(50);
                var b = new StructuredQuery(once, PipelineQuery.Read(q, QuerySyntax.Lucene, once.AnalyzerInstance, once.Schema).Structured!, new Bm25Parameters()).Search(50);
                Assert.Equal(b.Select(h => (h.Id, h.Score)), a.Select(h => (h.Id, h.Score)));
                hits += a.Count;
            }
            var fields = new[] { new FieldBoost("abstract", 2) };
            var m1 = new MultiFieldBm25Searcher(later, fields, new Bm25Parameters()).Search(Query.Parse(text, later.AnalyzerInstance), 50);
            var m2 = new MultiFieldBm25Searcher(once, fields, new Bm25Parameters()).Search(Query.Parse(text, once.AnalyzerInstance), 50);
            Assert.Equal(m2.Select(h => (h.Id, h.Score)), m1.Select(h => (h.Id, h.Score)));
        }
        Assert.True(hits > 200, $"only {hits} hits");
    }

    /// <summary>What a text field is not: filters, facets and sorting name it as text; a field nobody declared is
    /// refused with the text fields the index has; a declared text field's value must be a string, number or boolean,
    /// and a bad one is an error naming the file, line and field; text is never inferred.</summary>
    [Fact]
    public async Task A_declared_text_field_is_refused_where_only_typed_fields_apply()
    {
        using var tmp = new TempDir();
        string corpus = Path.Combine(tmp.Path, "c.jsonl");
        File.WriteAllLines(corpus,
        [
            """{"_id": "a", "title": "one", "text": "vitamin d", "abstract": "sleep and memory", "lang": "en"}""",
            """{"_id": "b", "title": "two", "text": "coffee", "abstract": ["memory of sleep", 42], "lang": "de"}""",
        ]);
        string schema = SchemaFile(tmp.Path);
        using (var w = SearchIndex.OpenWriter(tmp["idx"], new WriterOptions()))
        {
            w.ForEachIndexWriter((iw, _) => iw.DeclareSchema(schema));
            w.AddCorpus(corpus);
            w.Commit();
        }
        using var index = SearchIndex.Open(tmp["idx"]);
        var lucene = new SearchOptions { Syntax = QuerySyntax.Lucene };
        var found = await index.SearchAsync("+abstract:memory abstract:42", "bm25", 10, lucene);
        Assert.Equal("b", found.Hits[0].Id);
        Assert.Equal(["a", "b"], (await index.SearchAsync("sleep", "bm25(fields=[abstract])", 10)).Hits.Select(h => h.Id).Order());
        Assert.Empty((await index.SearchAsync("sleep", "bm25", 10)).Hits); // the concatenated field is title and text, as always

        var filter = await Assert.ThrowsAsync<RelevoException>(() => index.SearchAsync("vitamin", "bm25", 10, new SearchOptions { Filter = "abstract:sleep" }));
        Assert.Contains("'abstract' is a text field", filter.Message);
        var facet = await Assert.ThrowsAsync<RelevoException>(() => index.SearchAsync("vitamin", "bm25", 10, new SearchOptions { Facets = ["abstract"] }));
        Assert.Contains("'abstract' is a text field", facet.Message);
        var sort = await Assert.ThrowsAsync<RelevoException>(() => index.SearchAsync("vitamin", "bm25", 10, new SearchOptions { Sort = "abstract:asc" }));
        Assert.Contains("'abstract' is a text field", sort.Message);
        var range = await Assert.ThrowsAsync<Relevo.Search.Syntax.QuerySyntaxException>(() => index.SearchAsync("abstract:[a TO b]", "bm25", 10, lucene));
        Assert.Contains("'abstract' is text", range.Message);
        var unknown = await Assert.ThrowsAsync<RelevoException>(() => index.SearchAsync("sleep", "bm25(fields=[summary])", 10));
        Assert.Contains("'summary' is not a text field", unknown.Message);
        Assert.Contains("abstract", unknown.Message);
        Assert.Equal(["a"], (await index.SearchAsync("vitamin lang:en", "bm25", 10, lucene)).Hits.Select(h => h.Id));

        // a value that is not text: the file, line and field
        string bad = Path.Combine(tmp.Path, "bad.jsonl");
        File.WriteAllLines(bad, ["""{"_id": "c", "title": "", "text": "x", "abstract": "fine"}""", """{"_id": "d", "title": "", "text": "y", "abstract": {"nested": true}}"""]);
        using (var w = SearchIndex.OpenWriter(tmp["idx"], new WriterOptions()))
        {
            var e = Assert.ThrowsAny<RelevoException>(() => w.AddCorpus(bad));
            output.WriteLine(e.Message);
            Assert.Contains("bad.jsonl:2", e.Message);
            Assert.Contains("field abstract: expected text", e.Message);
        }
        // never inferred: an undeclared string key is a keyword
        using (var w = SearchIndex.OpenWriter(tmp["inferred"], new WriterOptions()))
        {
            w.AddCorpus(corpus);
            w.Commit();
        }
        using var inferred = SearchIndex.Open(tmp["inferred"]);
        Assert.Equal("keyword", (await inferred.TypedFieldsAsync())!["abstract"]);
        Assert.Equal("b", (await inferred.SearchAsync("coffee", "bm25", 10, new SearchOptions { Filter = "abstract:42" })).Hits[0].Id);
    }

    /// <summary>A declared text field's name becomes part of its files' names in a form that stays inside the folder
    /// and that the index recognises as its own, whatever characters the key has (capitals, dots of a nested key,
    /// dashes): after writes and a merge every file in the folder is one the index owns, unreferenced ones are gone,
    /// and the field is still searched by its name. A name too long to name files is refused.</summary>
    [Fact]
    public async Task Any_key_name_gives_files_the_index_owns()
    {
        using var tmp = new TempDir();
        string schema = Path.Combine(tmp.Path, "schema.json");
        File.WriteAllText(schema, """{"Meta.Sum-mary_x": "text"}""");
        using (var w = IndexWriter.Open(tmp["idx"], Options))
        {
            w.DeclareSchema(schema);
            w.Add(new Document("a", "", "one") { Fields = """{"Meta": {"Sum-mary_x": "boundary layer"}}""" });
            w.Commit();
            w.Add(new Document("b", "", "two") { Fields = """{"Meta": {"Sum-mary_x": "layer of boundary"}}""" });
            w.Commit();
            PositionsIndexer.Build([w]);
            w.Commit();
            w.ForceMerge();
            w.Commit();
        }
        var files = Directory.GetFiles(tmp["idx"]).Select(Path.GetFileName).ToList();
        Assert.Contains(files, f => f!.Contains(".f-_4deta_2e_53um_2dmary_5fx.", StringComparison.Ordinal));
        Assert.All(files.Where(f => f!.StartsWith('_')), f => Assert.True(IndexFolder.IsOwnedFile(f!), f)); // every segment file
        Assert.DoesNotContain(files, f => f!.StartsWith("_0.", StringComparison.Ordinal)); // merged away and deleted
        using var index = SearchIndex.Open(tmp["idx"]);
        var hits = await index.SearchAsync("boundary", "bm25(fields=[Meta.Sum-mary_x])", 10);
        Assert.Equal(["a", "b"], hits.Hits.Select(h => h.Id).Order());

        File.WriteAllText(schema, "{\"" + new string('k', Relevo.Index.Values.Schema.MaxTextFieldName + 1) + "\": \"text\"}");
        using var again = IndexWriter.Open(tmp["other"], Options);
        Assert.Contains("at most", Assert.Throws<RelevoException>(() => again.DeclareSchema(schema)).Message);
        File.WriteAllText(schema, "{\"" + new string('ж', 20) + "\": \"text\"}"); // 20 characters, 120 in file names
        Assert.Contains("at most", Assert.Throws<RelevoException>(() => again.DeclareSchema(schema)).Message);
        File.WriteAllText(schema, """{"contents": "text"}""");
        Assert.Contains("'contents' names the concatenated title and text", Assert.Throws<RelevoException>(() => again.DeclareSchema(schema)).Message);
    }

    /// <summary>A sharded index scores a declared text field as one index does: each shard writes its postings, the
    /// coordinator gathers the field's collection-wide statistics, and it reads the query with the shards' schema.</summary>
    [Fact]
    public async Task A_sharded_index_scores_a_declared_text_field_as_one_index()
    {
        var ds = TestData.Dataset("scifact");
        using var tmp = new TempDir();
        var (corpus, _) = Split(ds.CorpusPath, tmp.Path, take: 2000);
        string schema = SchemaFile(tmp.Path);
        var pair = TestIndexes.SingleAndSharded(corpus, tmp["single"], tmp["sharded"], schema: schema);
        using var single = pair.Single;
        using var sharded = pair.Sharded;
        var lucene = new SearchOptions { Syntax = QuerySyntax.Lucene };
        int compared = 0;
        foreach (var (_, text) in JsonlReader.ReadQueries(ds.QueriesPath).Take(40))
        {
            var words = System.Text.RegularExpressions.Regex.Matches(text.ToLowerInvariant(), "[a-z]{3,}").Select(m => m.Value)
                .Where(w => w is not ("and" or "not" or "or" or "to")).ToArray();
            if (words.Length < 2) continue;
            foreach (var (q, pipeline, options) in new[]
                     {
                         ($"abstract:({string.Join(' ', words)}) lang:en", "bm25", lucene),
                         ($"abstract:\"{words[0]} {words[1]}\"~4 {words[1]}", "bm25", lucene),
                         (text, "bm25(fields=[abstract^2,title])", new SearchOptions()),
                     })
            {
                var one = await single.SearchAsync(q, pipeline, 20, options);
                var many = await sharded.SearchAsync(q, pipeline, 20, options);
                Assert.True(one.Hits.Select(h => (h.Id, h.Score)).SequenceEqual(many.Hits.Select(h => (h.Id, h.Score))), $"{pipeline}: {q}");
                compared += one.Hits.Count;
            }
            // the coordinator reads the query with the shards' schema: the declared field's words are in the query's
            // bag there too (the terms shown, and what a bag-of-words retriever such as ql scores)
            string fielded = $"abstract:({string.Join(' ', words)}) lang:en";
            var bag1 = await single.SearchAsync(fielded, "ql", 20, lucene);
            var bag2 = await sharded.SearchAsync(fielded, "ql", 20, lucene);
            Assert.NotEmpty(bag1.QueryTerms);
            Assert.Equal(bag1.QueryTerms, bag2.QueryTerms);
            Assert.Equal(bag1.Hits.Select(h => (h.Id, h.Score)), bag2.Hits.Select(h => (h.Id, h.Score)));
        }
        output.WriteLine($"{compared} ranks compared");
        Assert.True(compared > 500);
    }
}
