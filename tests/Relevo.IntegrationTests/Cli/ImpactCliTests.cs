using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Relevo.Index;
using Xunit.Abstractions;

namespace Relevo.IntegrationTests.Cli;

/// <summary>Impact indexes through the real CLI: pre-encoded learned sparse corpora and queries (`relevo index --vectors`,
/// pipeline `impact`) against a brute-force computation from the raw weights, bad JsonVectorCollection lines, quantized
/// BM25 (`--impacts bm25`) on SciFact against exact BM25, sharded against single, and stale impacts.</summary>
public sealed class ImpactCliTests(ITestOutputHelper output)
{
    private static string Scifact => Path.Combine(TestData.DatasetsDir, "scifact");

    private CliRunner.Result Run(params string[] args) => CliRunner.Logged(output, args);

    private CliRunner.Result Ok(params string[] args)
    {
        var r = Run(args);
        Assert.True(r.ExitCode == 0, $"relevo {string.Join(' ', args)} exited {r.ExitCode}:\n{r.Stdout}{r.Stderr}");
        return r;
    }

    private static string Json(string s) => JsonSerializer.Serialize(s);

    private static string R(float f) => ((double)f).ToString("R", CultureInfo.InvariantCulture);

    // ---------------------------------------------------------------- 1. pre-encoded round trip

    private sealed record VectorDoc(string Id, List<(string Term, float Weight)> Vector);

    [Fact]
    public void A_pre_encoded_corpus_and_queries_score_as_the_brute_force_dot_product_of_the_quantized_weights()
    {
        using var tmp = new TempDir();
        var rnd = new Random(5);

        // a vocabulary with word pieces, a literal "^", non-ASCII, upper case and punctuation
        var vocabulary = new List<string> { "##ing", "##s", "^", "café", "Mixed", "UPPER", "x-y", "a.b", "naïve", "\"quoted\"", "back\\slash", "中文" };
        for (int i = vocabulary.Count; i < 300; i++) vocabulary.Add("t" + i.ToString("000", CultureInfo.InvariantCulture));

        // documents, written in a shuffled id order so that "ties by file order" differs from "ties by id"
        const int n = 600;
        var ids = Enumerable.Range(0, n).Select(i => "d" + i.ToString("0000", CultureInfo.InvariantCulture)).ToArray();
        rnd.Shuffle(ids);
        var docs = new List<VectorDoc>();
        string corpus = tmp["corpus.jsonl.gz"];
        using (var file = File.Create(corpus))
        using (var gz = new GZipStream(file, CompressionLevel.Fastest))
        using (var w = new StreamWriter(gz, new UTF8Encoding(false)) { NewLine = "\n" })
        {
            for (int d = 0; d < n; d++)
            {
                int count = rnd.Next(5, 41);
                var terms = new HashSet<string>(StringComparer.Ordinal);
                // draw with a skew so that some terms are common (long posting lists, many ties) and others rare
                while (terms.Count < count) terms.Add(vocabulary[(int)(Math.Pow(rnd.NextDouble(), 1.7) * vocabulary.Count)]);
                var vector = new List<(string, float)>();
                var sb = new StringBuilder();
                sb.Append("{\"id\": ").Append(Json(ids[d])).Append(", \"contents\": ").Append(Json($"document {ids[d]}")).Append(", \"vector\": {");
                bool first = true;
                foreach (string term in terms)
                {
                    string text;
                    int kind = rnd.Next(100);
                    if (kind < 4) text = rnd.Next(1, 4).ToString(CultureInfo.InvariantCulture);          // integer-looking
                    else if (kind < 6) text = rnd.Next(1, 4).ToString(CultureInfo.InvariantCulture) + ".0"; // integer as float text
                    else if (kind < 8) text = vector.Count > 0 ? "0" : "0.25";                             // dropped (weight 0)
                    else if (kind < 9) text = R((float)(rnd.NextDouble() * 0.01)).Replace("E", "e", StringComparison.Ordinal);
                    else text = R((float)(Math.Pow(rnd.NextDouble(), 2) * 3.5));
                    float weight = (float)double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
                    if (!first) sb.Append(", ");
                    first = false;
                    sb.Append(Json(term)).Append(": ").Append(text);
                    if (weight > 0) vector.Add((term, weight));
                }
                if (d == 137) { sb.Append(", \"maxterm\": 4.75"); vector.Add(("maxterm", 4.75f)); } // the largest weight, once
                sb.Append("}}");
                Assert.NotEmpty(vector);
                docs.Add(new VectorDoc(ids[d], vector));
                w.WriteLine(sb.ToString());
            }
        }

        // the stored impacts, computed here from the raw weights
        double max = docs.SelectMany(d => d.Vector).Max(t => (double)t.Weight);
        Assert.Equal(4.75, max);
        var impacts = docs.Select(d => d.Vector.ToDictionary(t => t.Term, t => Quantize(t.Weight, max), StringComparer.Ordinal)).ToList();
        Assert.Contains(impacts, d => d.ContainsValue(255));
        Assert.Contains(impacts, d => d.ContainsValue(1));

        // 40 vector queries with float weights
        string jsonQueries = tmp["queries.jsonl"];
        var vectorQueries = new List<(string Id, List<(string Term, float Weight)> Terms)>();
        using (var w = new StreamWriter(jsonQueries, false, new UTF8Encoding(false)) { NewLine = "\n" })
        {
            for (int q = 0; q < 40; q++)
            {
                string id = "q" + q.ToString("00", CultureInfo.InvariantCulture);
                int count = rnd.Next(1, 13);
                var terms = new HashSet<string>(StringComparer.Ordinal);
                while (terms.Count < count) terms.Add(vocabulary[(int)(Math.Pow(rnd.NextDouble(), 1.3) * vocabulary.Count)]);
                if (q % 5 == 0) terms.Add("^");
                if (q % 7 == 3) terms.Add("unknown_term");
                var list = new List<(string, float)>();
                var sb = new StringBuilder("{\"id\": ").Append(Json(id)).Append(", \"vector\": {");
                bool first = true;
                foreach (string term in terms)
                {
                    string text = rnd.Next(10) == 0 ? rnd.Next(1, 3).ToString(CultureInfo.InvariantCulture) : R((float)(rnd.NextDouble() * 5 + 0.001));
                    float weight = (float)double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
                    if (!first) sb.Append(", ");
                    first = false;
                    sb.Append(Json(term)).Append(": ").Append(text);
                    list.Add((term, weight));
                }
                sb.Append("}}");
                w.WriteLine(sb.ToString());
                vectorQueries.Add((id, list));
            }
        }

        // 20 TSV queries of repeated terms: a term's weight is its count, terms in the order they first occur
        string tsvQueries = tmp["queries.tsv"];
        var tsv = new List<(string Id, List<(string Term, float Weight)> Terms)>();
        using (var w = new StreamWriter(tsvQueries, false, new UTF8Encoding(false)) { NewLine = "\n" })
        {
            for (int q = 0; q < 20; q++)
            {
                string id = "t" + q.ToString("00", CultureInfo.InvariantCulture);
                var pool = Enumerable.Range(0, rnd.Next(1, 6)).Select(_ => vocabulary[rnd.Next(vocabulary.Count)]).ToList();
                if (q % 4 == 1) pool.Add("^");
                if (q % 6 == 2) pool.Add("##ing");
                var tokens = Enumerable.Range(0, rnd.Next(2, 16)).Select(_ => pool[rnd.Next(pool.Count)]).ToList();
                var order = new List<string>();
                var counts = new Dictionary<string, float>(StringComparer.Ordinal);
                foreach (string t in tokens)
                {
                    if (counts.TryGetValue(t, out float c)) counts[t] = c + 1;
                    else { counts[t] = 1; order.Add(t); }
                }
                w.WriteLine(id + "\t" + string.Join(' ', tokens));
                tsv.Add((id, order.Select(t => (t, counts[t])).ToList()));
            }
        }

        string index = tmp["idx"];
        var r = Ok("index", "--vectors", corpus, "--index", index);
        Assert.Contains("weights quantized to 8 bits", r.Stdout);

        foreach (var (queries, expected, name) in new[] { (jsonQueries, vectorQueries, "json"), (tsvQueries, tsv, "tsv") })
        {
            string run = tmp[name + ".trec"];
            Ok("run", "--index", index, "--queries", queries, "--pipeline", "impact", "-k", "100", "--tag", "t", "--output", run);
            var lines = File.ReadAllLines(run).Select(l => l.Split(' ')).ToList();
            Assert.All(lines, f => Assert.Equal(6, f.Length));
            var byQuery = lines.GroupBy(f => f[0]).ToDictionary(g => g.Key, g => g.ToList());
            int matched = 0;
            foreach (var (qid, terms) in expected)
            {
                var want = BruteForce(terms, docs, impacts, 100);
                var got = byQuery.TryGetValue(qid, out var l) ? l : [];
                if (want.Count > 0) matched++;
                Assert.True(want.Count == got.Count, $"{name} query {qid}: {got.Count} lines, expected {want.Count}");
                for (int i = 0; i < want.Count; i++)
                {
                    string line = string.Join(' ', got[i]);
                    Assert.True(got[i][1] == "Q0" && got[i][3] == (i + 1).ToString(CultureInfo.InvariantCulture) && got[i][5] == "t", $"{name}: bad run line '{line}'");
                    Assert.True(docs[want[i].Doc].Id == got[i][2] && R(want[i].Score) == got[i][4],
                        $"{name} query {qid} rank {i + 1}: expected {docs[want[i].Doc].Id} {R(want[i].Score)}, got '{line}'");
                }
            }
            Assert.Equal(expected.Count, matched); // every query matched something, and no query the test did not write
            Assert.Equal(matched, byQuery.Count);
        }
    }

    /// <summary>max(1, round(w / max × 255)), away from zero, as the index quantizes a float-weighted corpus.</summary>
    private static int Quantize(float weight, double max)
    {
        double q = Math.Round(weight / max * 255, MidpointRounding.AwayFromZero);
        return q < 1 ? 1 : q > 255 ? 255 : (int)q;
    }

    /// <summary>The top k documents by Σ (float)(weight × impact), summed in double in query-term order; ties by file
    /// order; documents that match no query term left out.</summary>
    private static List<(int Doc, float Score)> BruteForce(List<(string Term, float Weight)> query, List<VectorDoc> docs,
        List<Dictionary<string, int>> impacts, int k)
    {
        var scored = new List<(int Doc, float Score)>();
        for (int d = 0; d < docs.Count; d++)
        {
            double sum = 0;
            bool any = false;
            foreach (var (term, weight) in query)
            {
                if (!impacts[d].TryGetValue(term, out int impact)) continue;
                any = true;
                sum += weight * (float)impact;
            }
            if (any) scored.Add((d, (float)sum));
        }
        return scored.OrderByDescending(s => s.Score).ThenBy(s => s.Doc).Take(k).ToList();
    }

    // ---------------------------------------------------------------- 2. bad JsonVectorCollection lines

    [Theory]
    [InlineData("non-numeric", "{\"id\": \"x\", \"contents\": \"c\", \"vector\": {\"good\": 1.5, \"bad\": \"high\"}}", "field vector.bad: the weight must be a number")]
    [InlineData("negative", "{\"id\": \"x\", \"vector\": {\"good\": 1.5, \"neg\": -0.5}}", "field vector.neg: the weight -0.5 is negative")]
    [InlineData("empty", "{\"id\": \"x\", \"vector\": {}}", "field vector: empty")]
    [InlineData("all-zero", "{\"id\": \"x\", \"vector\": {\"a\": 0, \"b\": 0.0}}", "field vector: empty")]
    [InlineData("space", "{\"id\": \"x\", \"vector\": {\"good\": 1.5, \"two words\": 1.0}}", "field vector.two words: a term cannot hold white space")]
    [InlineData("tab", "{\"id\": \"x\", \"vector\": {\"tab\\there\": 1.0}}", "field vector.tab\there: a term cannot hold white space")]
    [InlineData("duplicate-term", "{\"id\": \"x\", \"vector\": {\"dup\": 1.0, \"other\": 2, \"dup\": 0.5}}", "field vector.dup: the term is given twice")]
    [InlineData("missing-id", "{\"contents\": \"no id\", \"vector\": {\"a\": 1.0}}", "field id: missing")]
    public void A_bad_vector_line_is_refused_naming_file_line_and_field_and_leaves_no_index(string kind, string line, string expected)
    {
        using var tmp = new TempDir();
        string bad = tmp[kind + ".jsonl"], index = tmp["idx"];
        File.WriteAllText(bad, string.Join('\n',
            "{\"id\": \"a\", \"contents\": \"first\", \"vector\": {\"x\": 0.5, \"##y\": 1.25}}",
            "{\"id\": \"b\", \"contents\": \"second\", \"vector\": {\"x\": 2, \"z\": 0.75}}",
            line,
            "{\"id\": \"c\", \"contents\": \"after\", \"vector\": {\"x\": 1.0}}") + "\n");
        var r = Run("index", "--vectors", bad, "--index", index);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains($"{bad}:3: {expected}", r.Stdout + r.Stderr);
        Assert.False(Directory.Exists(index) && Manifest.Exists(index), "a refused corpus left an index behind");
    }

    // ---------------------------------------------------------------- 3. quantized BM25 on SciFact

    private static double Measure(string stdout, string measure)
    {
        string line = stdout.Split('\n').Single(l => Regex.IsMatch(l, $@"\b{measure}\b"));
        return double.Parse(Regex.Match(line, @"\d+\.\d{4}").Value, CultureInfo.InvariantCulture);
    }

    private static Dictionary<string, List<string>> Rankings(string run) =>
        File.ReadAllLines(run).Select(l => l.Split(' ')).GroupBy(f => f[0]).ToDictionary(g => g.Key, g => g.Select(f => f[2]).ToList());

    [Fact]
    public void Quantized_bm25_on_scifact_is_as_effective_as_exact_bm25_but_ranks_by_the_impacts()
    {
        using var tmp = new TempDir();
        string index = tmp["A"];
        var r = Ok("index", "--dataset", Scifact, "--index", index, "--impacts", "bm25");
        Assert.Contains("impacts: bm25(", r.Stdout);
        var segment = Manifest.Read(index).Segments.Single();
        Assert.Contains(Directory.GetFiles(index), f => Path.GetFileName(f).StartsWith(segment.Name + ".bm25.", StringComparison.Ordinal) && f.EndsWith(".imp", StringComparison.Ordinal));

        string quantized = tmp["bm25.trec"], exact = tmp["exact.trec"], impact = tmp["impact.trec"];
        const string measures = "ndcg_cut_10,recall_100";
        var q = Ok("run", "--index", index, "--dataset", Scifact, "--pipeline", "bm25", "--tag", "t", "--output", quantized, "--eval", "--measures", measures);
        var e = Ok("run", "--index", index, "--dataset", Scifact, "--pipeline", "bm25(impacts=false)", "--tag", "t", "--output", exact, "--eval", "--measures", measures);
        foreach (string m in measures.Split(','))
        {
            double a = Measure(q.Stdout, m), b = Measure(e.Stdout, m);
            output.WriteLine($"{m}: quantized {a:F4}, exact {b:F4}");
            Assert.True(Math.Abs(a - b) <= 0.002 + 1e-9, $"{m}: quantized bm25 {a:F4} vs exact {b:F4}");
        }
        // Pyserini's BEIR scifact bm25-flat: nDCG@10 0.6789, which the exact run must still reach
        Assert.Equal(0.6789, Measure(e.Stdout, "ndcg_cut_10"), 4);

        var rq = Rankings(quantized);
        var re = Rankings(exact);
        Assert.Equal(re.Keys.Order(StringComparer.Ordinal), rq.Keys.Order(StringComparer.Ordinal));
        int differ = re.Keys.Count(k => !re[k].SequenceEqual(rq[k]));
        output.WriteLine($"{differ} of {re.Count} queries ranked differently by the impacts");
        Assert.True(differ > 0, "bm25 over the impacts ranked every query exactly as bm25(impacts=false): the impacts were not used");
        Assert.NotEqual(File.ReadAllBytes(exact), File.ReadAllBytes(quantized));

        Ok("run", "--index", index, "--dataset", Scifact, "--pipeline", "impact", "--tag", "t", "--output", impact);
        Assert.True(File.ReadAllBytes(quantized).AsSpan().SequenceEqual(File.ReadAllBytes(impact)), "impact and bm25 runs differ on a --impacts bm25 index");
    }

    // ---------------------------------------------------------------- 4. sharded equals single

    [Fact]
    public void Three_shards_with_bm25_impacts_rank_exactly_as_one_index()
    {
        using var tmp = new TempDir();
        string single = tmp["A"], sharded = tmp["S"];
        Ok("index", "--dataset", Scifact, "--index", single, "--impacts", "bm25");
        Ok("index", "--dataset", Scifact, "--index", sharded, "--shards", "3", "--impacts", "bm25");
        string a = tmp["single.trec"], s = tmp["sharded.trec"], exact = tmp["exact.trec"];
        Ok("run", "--index", single, "--dataset", Scifact, "--pipeline", "bm25", "-k", "100", "--tag", "t", "--output", a);
        Ok("run", "--index", sharded, "--dataset", Scifact, "--pipeline", "bm25", "-k", "100", "--tag", "t", "--output", s);
        Ok("run", "--index", sharded, "--dataset", Scifact, "--pipeline", "bm25(impacts=false)", "-k", "100", "--tag", "t", "--output", exact);
        string[] la = File.ReadAllLines(a), ls = File.ReadAllLines(s);
        Assert.True(la.Length > 100 * 100, $"{la.Length} lines");
        int first = Enumerable.Range(0, Math.Min(la.Length, ls.Length)).FirstOrDefault(i => la[i] != ls[i], -1);
        Assert.True(first < 0 && la.Length == ls.Length,
            first < 0 ? $"{la.Length} lines single, {ls.Length} sharded" : $"line {first + 1}: single '{la[first]}', sharded '{ls[first]}'");
        // the shards scored by their impacts too (not by exact BM25)
        Assert.NotEqual(File.ReadAllBytes(exact), File.ReadAllBytes(s));
    }

    /// <summary>Adding to a sharded index with impacts: a plain add is taken (the new segments go without impacts and
    /// bm25 is exact), and an add with --impacts rebuilds every shard's impacts under the new statistics.</summary>
    [Fact]
    public void Adding_to_a_sharded_impact_index_works_with_and_without_impacts()
    {
        using var tmp = new TempDir();
        var rnd = new Random(12);
        string corpus = tmp["a.jsonl"], more = tmp["b.jsonl"], evenMore = tmp["c.jsonl"], index = tmp["S"], queries = tmp["q.jsonl"];
        WriteCorpus(corpus, "a", 60, rnd);
        WriteCorpus(more, "b", 6, rnd);
        WriteCorpus(evenMore, "c", 6, rnd);
        File.WriteAllText(queries, "{\"_id\": \"q1\", \"text\": \"solar wind plasma\"}\n{\"_id\": \"q2\", \"text\": \"gene expression\"}\n");
        string RunFile(string pipeline, string name)
        {
            Ok("run", "--index", index, "--queries", queries, "--pipeline", pipeline, "-k", "50", "--tag", "t", "--output", tmp[name]);
            return File.ReadAllText(tmp[name]);
        }
        Ok("index", "--corpus", corpus, "--index", index, "--shards", "2", "--impacts", "bm25");
        Ok("index", "--corpus", more, "--index", index, "--shards", "2");
        Assert.Equal(RunFile("bm25(impacts=false)", "e1.trec"), RunFile("bm25", "b1.trec"));
        Assert.NotEqual(0, Run("run", "--index", index, "--queries", queries, "--pipeline", "impact", "-k", "5", "--output", tmp["i1.trec"]).ExitCode);
        Ok("index", "--corpus", evenMore, "--index", index, "--shards", "2", "--impacts", "bm25");
        string exact = RunFile("bm25(impacts=false)", "e2.trec"), quantized = RunFile("bm25", "b2.trec");
        Assert.NotEqual(exact, quantized);
        Assert.Equal(quantized, RunFile("impact", "i2.trec"));
        Assert.Contains(" c", quantized);
    }

    // ---------------------------------------------------------------- 5. stale impacts

    private static readonly string[] Words =
    [
        "solar", "wind", "plasma", "tunnel", "magnetic", "field", "storm", "particle", "energy", "flux",
        "cell", "protein", "gene", "expression", "cancer", "tumor", "immune", "response", "vitamin", "deficiency",
        "model", "data", "analysis", "network", "signal", "noise", "filter", "pressure", "flow", "heat",
    ];

    private static void WriteCorpus(string path, string prefix, int count, Random rnd)
    {
        using var w = new StreamWriter(path, false, new UTF8Encoding(false)) { NewLine = "\n" };
        for (int i = 0; i < count; i++)
        {
            string text = string.Join(' ', Enumerable.Range(0, rnd.Next(5, 31)).Select(_ => Words[(int)(Math.Pow(rnd.NextDouble(), 1.5) * Words.Length)]));
            w.WriteLine($"{{\"_id\": {Json(prefix + i.ToString(CultureInfo.InvariantCulture))}, \"title\": \"\", \"text\": {Json(text)}}}");
        }
    }

    [Fact]
    public void Stale_impacts_fall_back_to_exact_bm25_are_refused_by_impact_and_are_rebuilt_on_request()
    {
        using var tmp = new TempDir();
        var rnd = new Random(11);
        string corpus = tmp["corpus.jsonl"], more = tmp["more.jsonl"], queries = tmp["queries.jsonl"], index = tmp["A"];
        WriteCorpus(corpus, "c", 50, rnd);
        WriteCorpus(more, "m", 5, rnd);
        using (var w = new StreamWriter(queries, false, new UTF8Encoding(false)) { NewLine = "\n" })
            for (int q = 0; q < 12; q++)
                w.WriteLine($"{{\"_id\": \"q{q}\", \"text\": {Json(string.Join(' ', Enumerable.Range(0, rnd.Next(1, 4)).Select(_ => Words[rnd.Next(Words.Length)])))}}}");

        string RunFile(string pipeline, string name)
        {
            string path = tmp[name];
            Ok("run", "--index", index, "--queries", queries, "--pipeline", pipeline, "-k", "100", "--tag", "t", "--output", path);
            return File.ReadAllText(path);
        }

        Ok("index", "--corpus", corpus, "--index", index, "--impacts", "bm25");
        string exact0 = RunFile("bm25(impacts=false)", "exact0.trec"), bm25_0 = RunFile("bm25", "bm25-0.trec"), impact0 = RunFile("impact", "impact0.trec");
        Assert.NotEqual(exact0, bm25_0); // current impacts: bm25 scores by them
        Assert.Equal(bm25_0, impact0);

        // five more documents, added without --impacts: the new segment has none, the old one's are stale
        Ok("index", "--corpus", more, "--index", index);
        var segments = Manifest.Read(index).Segments;
        Assert.Equal(2, segments.Count);
        string exact1 = RunFile("bm25(impacts=false)", "exact1.trec"), bm25_1 = RunFile("bm25", "bm25-1.trec");
        Assert.Equal(exact1, bm25_1); // exact fallback
        Assert.NotEqual(exact0, exact1); // the statistics did change
        Assert.Contains(" m", exact1); // and the new documents are found
        var r = Run("run", "--index", index, "--queries", queries, "--pipeline", "impact", "-k", "100", "--output", tmp["impact1.trec"]);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains($"segment {segments[1].Name} has no 'bm25' impacts", r.Stdout + r.Stderr);

        // rebuilt over the index as it is
        r = Ok("index", "--index", index, "--impacts", "bm25");
        Assert.Contains("impacts: bm25(", r.Stdout);
        Assert.Equal(2, Manifest.Read(index).Segments.Count); // no documents added
        string bm25_2 = RunFile("bm25", "bm25-2.trec"), impact2 = RunFile("impact", "impact2.trec");
        Assert.Equal(bm25_2, impact2);
        Assert.NotEqual(exact1, bm25_2); // the impacts are current again and used
        Assert.Contains(" m", impact2);
    }
}
