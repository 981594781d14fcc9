using System.Text.RegularExpressions;
using LuceneParser = Lucene.Net.QueryParsers.Classic.QueryParser;
using Lucene.Net.Util;
using Relevo.Collections;
using Relevo.Index;
using Relevo.Index.Fields;
using Relevo.Index.Positions;
using Relevo.Pipelines;
using Relevo.Search;
using Relevo.Search.Similarities;
using Relevo.Search.Structured;
using Relevo.Search.Syntax;
using Xunit.Abstractions;

namespace Relevo.Tests.Search;

/// <summary>Queries in the Lucene classic syntax (fields, required and excluded clauses, AND/OR/NOT, groups, boosts)
/// against Lucene.NET 4.8 parsing and searching the same strings over the same documents, with title and text as
/// fields of their own beside the concatenated field.</summary>
public class StructuredQueryTests(ITestOutputHelper output)
{
    private static IndexReader BuildWithFields(string corpus, string dir, bool positions = false)
    {
        using (var writer = IndexWriter.Open(dir, new IndexWriterOptions { Components = [FieldComponent.Instance, PositionsComponent.Instance] }))
        {
            CorpusIndexer.AddCorpus(writer, corpus);
            writer.Commit();
            FieldIndexer.Build([writer]);
            if (positions) PositionsIndexer.Build([writer]);
            writer.Commit();
        }
        return IndexReader.Open(dir);
    }

    /// <summary>Every two- and three-word phrase of the collection's queries (stop words inside included, so removed
    /// words keep their positions), exact in the concatenated field; every third one also in title and in text, and
    /// with slop 2 (Lucene's sloppy frequency): the same top 100 and scores as Lucene.NET.</summary>
    [Theory]
    [InlineData("scifact")]
    [InlineData("cranfield")]
    public void PhrasesRankAsLucene(string name)
    {
        var ds = TestData.Dataset(name);
        using var tmp = new TempDir();
        using var reader = BuildWithFields(ds.CorpusPath, tmp.Path, positions: true);
        using var lucene = new LuceneBm25(ds.CorpusPath, 0.9f, 0.4f, lucene8Norms: true, withFields: true);
        var parser = new LuceneParser(LuceneVersion.LUCENE_48, "contents", lucene.IndexAnalyzer);
        var phrases = new List<string>();
        foreach (var (_, text) in JsonlReader.ReadQueries(ds.QueriesPath))
        {
            var words = Regex.Matches(text, "[A-Za-z0-9]+").Select(m => m.Value).ToArray();
            for (int length = 2; length <= 3; length++)
                for (int i = 0; i + length <= words.Length; i++)
                {
                    string phrase = "\"" + string.Join(' ', words.Skip(i).Take(length)) + "\"";
                    phrases.Add(phrase);
                    if (phrases.Count % 3 == 0)
                    {
                        phrases.Add("title:" + phrase);
                        phrases.Add("text:" + phrase + "~2");
                        phrases.Add(phrase + "~2");
                    }
                }
        }
        int compared = 0, mismatched = 0, matching = 0, repeating = 0;
        foreach (string text in phrases.Distinct())
        {
            var node = PipelineQuery.Read(text, QuerySyntax.Lucene, reader.AnalyzerInstance).Structured!;
            IReadOnlyList<Hit> ours;
            try
            {
                ours = new StructuredQuery(reader, node, new Bm25Parameters()).Search(100);
            }
            catch (QuerySyntaxException e) when (e.Message.Contains("repeats a word", StringComparison.Ordinal))
            {
                repeating++; // refused, and said so
                continue;
            }
            var theirs = lucene.Search(parser.Parse(text), 100);
            if (theirs.Count > 0) matching++;
            if (LuceneComparison.FirstDifference(ours, theirs) is { } difference)
            {
                if (++mismatched <= 10) output.WriteLine($"{text}: {difference}");
            }
            else compared += ours.Count;
        }
        output.WriteLine($"{name}: {phrases.Distinct().Count()} phrase queries, {matching} match something, {compared} ranks compared, " +
                         $"{repeating} sloppy ones repeating a word refused, {mismatched} differ");
        Assert.True(matching > phrases.Count / 5, $"only {matching} phrases match anything");
        Assert.Equal(0, mismatched);
    }

    /// <summary>Boolean queries generated from the collection's own query words: random fields, operators, groups and
    /// boosts. Every query's top 100 has Lucene's documents and scores (Lucene's times k1 + 1), ties aside, and Lucene's
    /// hit count up to 100; the top hits' explanations add up to their scores.</summary>
    [Theory]
    [InlineData("scifact", 400)]
    [InlineData("cranfield", 300)]
    public void GeneratedBooleanQueriesRankAsLucene(string name, int count)
    {
        var ds = TestData.Dataset(name);
        using var tmp = new TempDir();
        using var reader = BuildWithFields(ds.CorpusPath, tmp.Path);
        using var lucene = new LuceneBm25(ds.CorpusPath, 0.9f, 0.4f, lucene8Norms: true, withFields: true);
        var parser = new LuceneParser(LuceneVersion.LUCENE_48, "contents", lucene.IndexAnalyzer);
        var words = JsonlReader.ReadQueries(ds.QueriesPath)
            .SelectMany(q => Regex.Matches(q.Text.ToLowerInvariant(), "[a-z]{3,}").Select(m => m.Value))
            .Where(w => w is not ("and" or "not")).Distinct().Order(StringComparer.Ordinal).ToArray();
        var rng = new Random(2026);
        int compared = 0, mismatched = 0, empty = 0;
        for (int n = 0; n < count; n++)
        {
            string text = Generate(rng, words, depth: 0);
            var query = new StructuredQuery(reader, PipelineQuery.Read(text, QuerySyntax.Lucene, reader.AnalyzerInstance).Structured!, new Bm25Parameters());
            var ours = query.Search(100);
            var theirs = lucene.Search(parser.Parse(text), 100);
            if (theirs.Count == 0) empty++;
            // the explanation evaluates the tree for the one document: its parts add up to the score
            foreach (var hit in ours.Take(3))
                Assert.True(Math.Abs(query.Explain(hit).Terms!.Sum(t => (double)t.Score) - hit.Score) <= 1e-4 * Math.Max(1, hit.Score), $"{text}: explanation of {hit.Id}");
            if (LuceneComparison.FirstDifference(ours, theirs) is { } difference)
            {
                if (++mismatched <= 10) output.WriteLine($"{text}: {difference}");
            }
            else compared += ours.Count;
        }
        output.WriteLine($"{name}: {count} queries, {compared} ranks agree, {empty} with no hits, {mismatched} differ");
        Assert.True(compared > 10 * count, $"only {compared} ranks compared");
        Assert.True(empty < count / 4, $"{empty} of {count} queries matched nothing");
        Assert.Equal(0, mismatched);
    }

    /// <summary>Queries of term clauses (required, optional, excluded; in the concatenated field, title or text; boosted)
    /// are searched by MaxScore over the conjunction of their required terms, with excluded clauses and a filter
    /// skipped: the same documents and scores as matching the tree exhaustively, at k 1, 3, 10, 100 and 1000, with
    /// deletions.</summary>
    /// <summary>The pruned conjunction passes over a stretch whose block maxima cannot beat the k-th score and resumes
    /// at the first document after it: built so that this document is the best of all (the block before it holds only
    /// weak matches, the one after it starts with the strongest), the top 1 is that document, as exhaustive matching
    /// finds. (Resuming one document late gives another: mutation-checked.)</summary>
    [Fact]
    public void The_block_skip_resumes_at_the_next_document()
    {
        using var tmp = new TempDir();
        using (var w = IndexWriter.Open(tmp.Path, new IndexWriterOptions { Analyzer = "lowercase" }))
        {
            // every document has 12 words, so every length norm is equal and the score grows with the tf of "alpha"
            string Doc(int alpha) => string.Join(' ', Enumerable.Repeat("alpha", alpha).Concat(["beta"]).Concat(Enumerable.Repeat("filler", 11 - alpha)));
            for (int d = 0; d < 600; d++)
                w.Add(new Document($"d{d}", "", Doc(d == 0 ? 5 : d == 256 ? 9 : d == 400 ? 7 : 1)));
            w.Commit();
        }
        using var reader = IndexReader.Open(tmp.Path);
        foreach (var text in new[] { "+alpha +beta", "+beta +alpha" })
        {
            var query = new StructuredQuery(reader, PipelineQuery.Read(text, QuerySyntax.Lucene, reader.AnalyzerInstance).Structured!, new Bm25Parameters());
            Assert.True(query.CanPrune, text);
            foreach (int k in new[] { 1, 2, 3 })
            {
                query.Pruned = false;
                var exhaustive = query.Search(k);
                query.Pruned = true;
                var pruned = query.Search(k);
                Assert.Equal("d256", exhaustive[0].Id);
                Assert.Equal(exhaustive.Select(h => (h.Id, h.Score)), pruned.Select(h => (h.Id, h.Score)));
            }
        }
    }

    [Theory]
    [InlineData("cranfield")]
    [InlineData("scifact")]
    public void PrunedTermQueriesEqualExhaustiveMatching(string name)
    {
        var ds = TestData.Dataset(name);
        using var tmp = new TempDir();
        string corpus = FilterTests.TypedCorpus(ds.CorpusPath, tmp.Path);
        using (BuildWithFields(corpus, tmp["idx"])) { }
        using (var writer = IndexWriter.Open(tmp["idx"], new IndexWriterOptions { Components = [FieldComponent.Instance] }))
        {
            foreach (var (entry, seg) in writer.Segments().ToList())
                for (int d = 5; d < seg.MaxDoc; d += 9) writer.Delete(seg.GetId(d));
            writer.Commit();
        }
        using var reader = IndexReader.Open(tmp["idx"]);
        var words = JsonlReader.ReadQueries(ds.QueriesPath)
            .SelectMany(q => Regex.Matches(q.Text.ToLowerInvariant(), "[a-z]{3,}").Select(m => m.Value))
            .Where(w => w is not ("and" or "not")).Distinct().Order(StringComparer.Ordinal).ToArray();
        var rng = new Random(7);
        var filter = Relevo.Search.Filters.DocFilter.For(reader, "year:[1955 TO 1966] -lang:fr");
        int pruned = 0, compared = 0;
        for (int n = 0; n < 300; n++)
        {
            int clauses = rng.Next(1, 6);
            var parts = new List<string>();
            for (int c = 0; c < clauses; c++)
            {
                string clause = words[rng.Next(words.Length)];
                if (rng.Next(3) == 0) clause = (rng.Next(2) == 0 ? "title:" : "text:") + clause;
                if (rng.Next(5) == 0) clause += "^" + (rng.Next(1, 8) / 2.0).ToString(System.Globalization.CultureInfo.InvariantCulture);
                int mod = rng.Next(6);
                if (mod <= 1) clause = "+" + clause;
                else if (mod == 2 && c > 0) clause = "-" + clause;
                parts.Add(clause);
            }
            string text = string.Join(' ', parts);
            var node = PipelineQuery.Read(text, QuerySyntax.Lucene, reader.AnalyzerInstance).Structured!;
            var query = new StructuredQuery(reader, node, new Bm25Parameters());
            if (!query.CanPrune) continue;
            pruned++;
            foreach (int k in new[] { 1, 3, 10, 100, 1000 })
                foreach (var f in new[] { null, filter })
                {
                    query.Pruned = false;
                    var exhaustive = reader.TopHits(k, (d, sc) => query.Search(k, d, sc, filter: f));
                    query.Pruned = true;
                    var fast = reader.TopHits(k, (d, sc) => query.Search(k, d, sc, filter: f));
                    Assert.True(exhaustive.Select(h => (h.Id, h.Score)).SequenceEqual(fast.Select(h => (h.Id, h.Score))), $"{text} k={k} filter={f is not null}");
                    compared += exhaustive.Length;
                }
        }
        output.WriteLine($"{pruned} pruned queries, {compared} ranks compared");
        Assert.True(pruned > 250);
        Assert.True(compared > 50_000);
    }

    private static string Generate(Random rng, string[] words, int depth)
    {
        int clauses = rng.Next(1, 5);
        var parts = new List<string>();
        for (int c = 0; c < clauses; c++)
        {
            string clause;
            if (depth < 2 && rng.Next(5) == 0)
                clause = "(" + Generate(rng, words, depth + 1) + ")";
            else
            {
                clause = words[rng.Next(words.Length)];
                if (rng.Next(3) == 0) clause = (rng.Next(2) == 0 ? "title:" : "text:") + clause;
            }
            if (rng.Next(6) == 0) clause += "^" + (rng.Next(1, 8) / 2.0).ToString(System.Globalization.CultureInfo.InvariantCulture);
            int op = c > 0 ? rng.Next(8) : -1;
            if (op == 0) parts.Add("AND");
            else if (op == 1) parts.Add("OR");
            else if (op == 2) parts.Add("AND NOT");
            int mod = op == 2 ? -1 : rng.Next(7);
            if (mod == 0) clause = "+" + clause;
            else if (mod == 1 && c > 0) clause = "-" + clause;
            parts.Add(clause);
        }
        return string.Join(' ', parts);
    }


    /// <summary>A plain query read as Lucene syntax scores exactly as the bag of words does, and `auto` leaves text
    /// without syntax a bag of words.</summary>
    [Fact]
    public void PlainWordsScoreAsTheBagOfWords()
    {
        var ds = TestData.Dataset("scifact");
        using var tmp = new TempDir();
        using var reader = BuildWithFields(ds.CorpusPath, tmp.Path);
        var flat = new Bm25Searcher(reader);
        foreach (var (_, text) in JsonlReader.ReadQueries(ds.QueriesPath).Take(50))
        {
            string words = string.Join(' ', Regex.Matches(text, "[A-Za-z]+").Select(m => m.Value).Where(w => w is not ("AND" or "OR" or "NOT")));
            var ours = new StructuredQuery(reader, Relevo.Search.Syntax.QueryParser.Parse(words), new Bm25Parameters()).Search(20);
            var bag = flat.Search(Query.Parse(words, reader.AnalyzerInstance), 20);
            Assert.Equal(bag.Select(h => h.Id), ours.Select(h => h.Id));
            for (int i = 0; i < bag.Count; i++) Assert.Equal(bag[i].Score, ours[i].Score, 4);
        }
        Assert.Null(PipelineQuery.Read("what causes cancer", QuerySyntax.Auto, reader.AnalyzerInstance).Structured);
        Assert.NotNull(PipelineQuery.Read("title:cancer", QuerySyntax.Auto, reader.AnalyzerInstance).Structured);
        Assert.Null(PipelineQuery.Read("title:cancer", QuerySyntax.Plain, reader.AnalyzerInstance).Structured);
    }

    /// <summary>Through the pipeline: the explanation's terms add up to each hit's score, excluded words are not among
    /// the query's terms, and a field the index lacks, a range, or a syntax error is refused naming its column.</summary>
    [Fact]
    public async Task PipelineSearchExplainsAndRefusesWhatItCannotDo()
    {
        using var tmp = new TempDir();
        using (var w = IndexWriter.Open(tmp.Path, new IndexWriterOptions { Components = [FieldComponent.Instance] }))
        {
            foreach (var d in TestIndexes.Small) w.Add(d);
            w.Commit();
            FieldIndexer.Build([w]);
            w.Commit();
        }
        using var index = SearchIndex.Open(tmp.Path);
        var result = await index.SearchAsync("+title:vitamin cancer -cold", "bm25", 10, new SearchOptions { Explain = true, Syntax = QuerySyntax.Auto });
        Assert.Equal(["d1"], result.Hits.Select(h => h.Id));
        Assert.DoesNotContain("cold", result.QueryTerms);
        var e = result.Explanations![0]!;
        Assert.Equal(result.Hits[0].Score, (float)e.Terms!.Sum(t => (double)t.Score), 4);
        Assert.Contains(e.Terms!, t => t.Term == "title:vitamin");

        var lucene = new SearchOptions { Syntax = QuerySyntax.Lucene };
        var unknown = await Assert.ThrowsAsync<QuerySyntaxException>(() => index.SearchAsync("vitamin body:cold", "bm25", 10, lucene));
        Assert.Equal(9, unknown.Column);
        var range = await Assert.ThrowsAsync<QuerySyntaxException>(() => index.SearchAsync("title:[a TO b]", "bm25", 10, lucene));
        Assert.Equal(1, range.Column);
        var bad = await Assert.ThrowsAsync<QuerySyntaxException>(() => index.SearchAsync("(vitamin", "bm25", 10, lucene));
        Assert.Contains("column 1", bad.Message);
        // read as words (the library's default) the same string searches
        Assert.NotEmpty((await index.SearchAsync("(vitamin", "bm25", 10)).Hits);
    }

    /// <summary>Exhaustive matching of a tree (phrases, nested groups, typed clauses) checks the search's cancellation
    /// as it walks postings, so a client that leaves or a time budget stops it mid-segment; the pruned path and an
    /// uncancelled search are unaffected. (A search or match set asked with a token already cancelled stops at once.)</summary>
    [Fact]
    public async Task Exhaustive_matching_stops_when_the_search_is_cancelled()
    {
        using var tmp = new TempDir();
        using (var w = IndexWriter.Open(tmp.Path, new IndexWriterOptions { Components = [FieldComponent.Instance, PositionsComponent.Instance] }))
        {
            foreach (var d in TestIndexes.Small) w.Add(d);
            w.Commit();
            PositionsIndexer.Build([w]);
            w.Commit();
        }
        using var reader = IndexReader.Open(tmp.Path);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        foreach (var text in new[] { "\"vitamin d\"", "(vitamin OR cancer) AND (d OR cold)", "vitamin (d AND cancer)" })
        {
            var query = new StructuredQuery(reader, PipelineQuery.Read(text, QuerySyntax.Lucene, reader.AnalyzerInstance).Structured!, new Bm25Parameters());
            Assert.False(query.CanPrune && query.Pruned, text);
            Assert.NotEmpty(query.Search(10)); // no scope: runs
            using (SearchCancellation.Enter(cancelled.Token))
                Assert.Throws<OperationCanceledException>(() => query.Search(10));
            Assert.NotEmpty(query.Search(10)); // the scope ended with it
            Assert.Throws<OperationCanceledException>(() =>
                Relevo.Search.Filters.MatchSet.Of(reader, StructuredQuery.TermsOf(query.Node, reader.AnalyzerInstance), null, cancelled.Token));
        }
        using var index = SearchIndex.Open(tmp.Path);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            index.SearchAsync("\"vitamin d\"", "bm25", 10, new SearchOptions { Syntax = QuerySyntax.Lucene }, cancelled.Token));
    }

    /// <summary>A sharded index answers queries in the Lucene syntax (fields, phrases, required and excluded clauses)
    /// and multi-field BM25 as one index does: each shard compiles the tree and scores every field with the
    /// collection-wide statistics of every (field, term) the coordinator gathered, so hits and scores are identical, and
    /// explanations add up; features score candidates by the tree and by fields as one index does.</summary>
    [Fact]
    public async Task A_sharded_index_answers_fields_and_the_syntax_as_one_index()
    {
        var ds = TestData.Dataset("scifact");
        using var tmp = new TempDir();
        var pair = TestIndexes.SingleAndSharded(ds.CorpusPath, tmp["single"], tmp["sharded"]);
        using var single = pair.Single;
        using var sharded = pair.Sharded;
        var words = JsonlReader.ReadQueries(ds.QueriesPath)
            .SelectMany(q => Regex.Matches(q.Text.ToLowerInvariant(), "[a-z]{3,}").Select(m => m.Value))
            .Where(w => w is not ("and" or "not")).Distinct().Order(StringComparer.Ordinal).ToArray();
        var rng = new Random(11);
        var lucene = new SearchOptions { Syntax = QuerySyntax.Lucene };
        int compared = 0;
        var texts = Enumerable.Range(0, 120).Select(_ => Generate(rng, words, 0)).ToList();
        foreach (var q in JsonlReader.ReadQueries(ds.QueriesPath).Take(20))
        {
            var w = Regex.Matches(q.Text.ToLowerInvariant(), "[a-z]{3,}").Select(m => m.Value).Take(2).ToArray();
            if (w.Length == 2) texts.Add($"\"{w[0]} {w[1]}\"~3 title:{w[0]}");
        }
        foreach (var (text, pipeline) in texts.Select(t => (t, "bm25")).Concat(texts.Take(40).Select(t => (t, "bm25(fields=[title^2,text])"))))
        {
            var one = await single.SearchAsync(text, pipeline, 20, lucene);
            var many = await sharded.SearchAsync(text, pipeline, 20, lucene);
            Assert.True(one.Hits.Select(h => (h.Id, h.Score)).SequenceEqual(many.Hits.Select(h => (h.Id, h.Score))), $"{pipeline}: {text}");
            compared += one.Hits.Count;
        }
        foreach (var q in JsonlReader.ReadQueries(ds.QueriesPath).Take(30))
        {
            var one = await single.SearchAsync(q.Text, "bm25(fields=[title^2,text])", 20);
            var many = await sharded.SearchAsync(q.Text, "bm25(fields=[title^2,text])", 20);
            Assert.Equal(one.Hits.Select(h => (h.Id, h.Score)), many.Hits.Select(h => (h.Id, h.Score)));
        }
        output.WriteLine($"{compared} ranks compared");
        Assert.True(compared > 1000);
        Assert.Empty((await sharded.SearchAsync("+the", "bm25", 10, lucene)).Hits); // every clause a stop word: nothing, as on one index
        Assert.Empty((await single.SearchAsync("+the", "bm25", 10, lucene)).Hits);
        var explained = await sharded.SearchAsync("+vitamin title:cancer -cold", "bm25", 5, lucene with { Explain = true });
        Assert.NotEmpty(explained.Hits);
        for (int i = 0; i < explained.Hits.Count; i++)
            Assert.Equal(explained.Hits[i].Score, explained.Explanations![i]!.Terms!.Sum(t => t.Score), 3);
        // scoring given documents (features) by the tree and by fields: each candidate scored on its shard with the
        // collection-wide statistics of every (field, term), as one index scores it
        int scored = 0;
        foreach (var text in new[] { "+vitamin -cold", "\"vitamin d\" title:deficiency", "(cancer OR tumor) AND title:(cell OR gene)", "vitamin d" })
        {
            const string pipeline = "bm25 >> features(bm25, bm25(fields=[title^2,text]), bm25(k1=1.2,b=0.75))";
            var one = await single.SearchAsync(text, pipeline, 30, lucene);
            var many = await sharded.SearchAsync(text, pipeline, 30, lucene);
            Assert.Equal(one.Hits.Select(h => h.Id), many.Hits.Select(h => h.Id));
            Assert.Equal(one.Stages, many.Stages);
            for (int c = 0; c < one.Stages.Count; c++)
                Assert.True(one.StageScores(c).SequenceEqual(many.StageScores(c)), $"{text}: {one.Stages[c]}");
            scored += one.Hits.Count;
        }
        Assert.True(scored > 40, $"{scored} candidates scored");
    }
}
