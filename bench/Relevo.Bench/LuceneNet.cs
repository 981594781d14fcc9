using Lucene.Net.Analysis;
using Lucene.Net.Analysis.En;
using Lucene.Net.Analysis.TokenAttributes;
using Lucene.Net.Index;
using Lucene.Net.Search;
using Lucene.Net.Search.Similarities;
using Lucene.Net.Store;
using Lucene.Net.Util;
using Relevo.Collections;
using LDocument = Lucene.Net.Documents.Document;
using LField = Lucene.Net.Documents.Field;
using LFieldType = Lucene.Net.Documents.FieldType;

namespace Relevo.Bench;

/// <summary>The Lucene.NET 4.8 side of the engine benchmarks, shared by the in-process comparison ("search") and the
/// process-per-engine one ("lucenenet-index", "lucenenet-run", driven by bench/end-to-end.sh): the index (one field
/// "contents" = title + " " + text with docs and freqs, id/title/text stored, merged to one segment), the similarity
/// (BM25 with Lucene 8's norms and statistics) and the bag-of-words query.</summary>
internal static class LuceneNet
{
    public const LuceneVersion Version = LuceneVersion.LUCENE_48;

    /// <summary>The indexed field.</summary>
    public const string Field = "contents";

    public static Analyzer NewAnalyzer() => new EnglishAnalyzer(Version);

    public static BM25Similarity Similarity(float k1, float b) => new Relevo.Testing.LuceneBm25.Lucene8NormsBm25(k1, b); // the tests' reference scorer

    /// <summary>Indexes a corpus (corpus.jsonl[.gz]) into a new index in <paramref name="indexDir"/> from one thread, RAM
    /// buffer 256 MB, then merges it to one segment and commits. Returns the number of documents. The indexed field keeps
    /// docs and freqs, or what <paramref name="options"/> says (positions, for the phrase benchmark); <paramref name="extra"/>
    /// adds more fields to each document (the filter benchmark's year).</summary>
    public static long BuildIndex(string corpus, string indexDir, Similarity similarity, IndexOptions options = IndexOptions.DOCS_AND_FREQS,
        Action<Document, LDocument>? extra = null)
    {
        using var dir = FSDirectory.Open(indexDir);
        var cfg = new IndexWriterConfig(Version, NewAnalyzer()) { Similarity = similarity, RAMBufferSizeMB = 256, OpenMode = OpenMode.CREATE };
        var contents = new LFieldType { IsIndexed = true, IsTokenized = true, IsStored = false, IndexOptions = options };
        contents.Freeze();
        long docs = 0;
        using var w = new IndexWriter(dir, cfg);
        foreach (var d in JsonlReader.ReadCorpus(corpus))
        {
            var doc = new LDocument
            {
                new Lucene.Net.Documents.StringField("id", d.Id, LField.Store.YES),
                new Lucene.Net.Documents.StoredField("title", d.Title),
                new Lucene.Net.Documents.StoredField("text", d.Text),
                new LField(Field, d.IndexedText, contents),
            };
            extra?.Invoke(d, doc);
            w.AddDocument(doc);
            docs++;
        }
        w.ForceMerge(1);
        w.Commit();
        return docs;
    }

    /// <summary>Anserini's bag-of-words query: one SHOULD clause per distinct term, boosted by its weight (its count).</summary>
    public static BooleanQuery BagOfWords(IEnumerable<(string Term, float Weight)> terms)
    {
        var bq = new BooleanQuery();
        foreach (var (term, weight) in terms) bq.Add(new TermQuery(new Term(Field, term)) { Boost = weight }, Occur.SHOULD);
        return bq;
    }

    /// <summary>A query text analysed by a Lucene.NET analyzer into distinct terms in order of first occurrence, each
    /// weighing its count (as Relevo's <c>Query.Parse</c> and the Java side do).</summary>
    public static List<(string Term, float Weight)> Analyze(Analyzer analyzer, string text)
    {
        var terms = new List<(string Term, float Weight)>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        using var ts = analyzer.GetTokenStream(Field, text);
        var attr = ts.AddAttribute<ICharTermAttribute>();
        ts.Reset();
        while (ts.IncrementToken())
        {
            string t = attr.ToString();
            if (index.TryGetValue(t, out int i)) terms[i] = (t, terms[i].Weight + 1);
            else { index[t] = terms.Count; terms.Add((t, 1)); }
        }
        ts.End();
        return terms;
    }
}
