using Lucene.Net.Analysis;
using Lucene.Net.Analysis.En;
using Lucene.Net.Analysis.TokenAttributes;
using Lucene.Net.Documents;
using Lucene.Net.Index;
using Lucene.Net.Search;
using Lucene.Net.Search.Similarities;
using Lucene.Net.Store;
using Lucene.Net.Util;
using Relevo.Collections;
using Relevo.Evaluation;

namespace Relevo.Testing;

/// <summary>Lucene.NET 4.8 as a test-only oracle: EnglishAnalyzer, BM25 at the given k1 and b, one field holding
/// "title text", bag-of-words queries with each term boosted by its count (Anserini's query form); optionally also
/// "title" and "text" as fields of their own, searched as Anserini's multi-field search does (<see cref="SearchFields"/>).</summary>
internal sealed class LuceneBm25 : IDisposable
{
    private readonly RAMDirectory _dir = new();
    private readonly Analyzer _analyzer = new EnglishAnalyzer(LuceneVersion.LUCENE_48);
    private readonly DirectoryReader _reader;
    private readonly IndexSearcher _searcher;

    /// <param name="lucene8Norms">Score as Lucene 8+ does (SmallFloat.intToByte4 length norms, statistics over docCount)
    /// instead of Lucene 4's lossy 1/sqrt(length) byte over maxDoc; Lucene 4.8 then computes Anserini's BM25 times (k1 + 1).</param>
    /// <param name="withFields">Also index "title" and "text" as fields of their own.</param>
    /// <param name="moreFields">More text fields of a document (one Lucene field instance per value, as a multi-valued
    /// field is added).</param>
    public LuceneBm25(string corpusPath, float k1 = 0.9f, float b = 0.4f, bool lucene8Norms = false, bool withFields = false,
        Func<Relevo.Document, IEnumerable<(string Field, string Text)>>? moreFields = null)
        : this(corpusPath, lucene8Norms ? new Lucene8NormsBm25(k1, b) : new BM25Similarity(k1, b), withFields, moreFields)
    {
    }

    /// <summary>Any Lucene similarity, e.g. <see cref="Lucene8NormsDirichlet"/> for query likelihood.</summary>
    public LuceneBm25(string corpusPath, Similarity similarity, bool withFields = false,
        Func<Relevo.Document, IEnumerable<(string Field, string Text)>>? moreFields = null)
    {
        Similarity = similarity;
        var config = new IndexWriterConfig(LuceneVersion.LUCENE_48, _analyzer) { Similarity = Similarity };
        using (var writer = new IndexWriter(_dir, config))
        {
            foreach (var d in JsonlReader.ReadCorpus(corpusPath))
            {
                var doc = new Lucene.Net.Documents.Document
                {
                    new StringField("id", d.Id, Field.Store.YES),
                    new TextField("contents", d.IndexedText, Field.Store.NO),
                };
                if (withFields)
                {
                    doc.Add(new TextField("title", d.Title, Field.Store.NO));
                    doc.Add(new TextField("text", d.Text, Field.Store.NO));
                }
                if (moreFields is not null)
                    foreach (var (field, text) in moreFields(d)) doc.Add(new TextField(field, text, Field.Store.NO));
                writer.AddDocument(doc);
            }
            writer.Commit();
        }
        _reader = DirectoryReader.Open(_dir);
        _searcher = new IndexSearcher(_reader) { Similarity = Similarity };
    }

    public Similarity Similarity { get; }

    public List<string> Analyze(string text)
    {
        var terms = new List<string>();
        using var ts = _analyzer.GetTokenStream("contents", text);
        var term = ts.AddAttribute<ICharTermAttribute>();
        ts.Reset();
        while (ts.IncrementToken()) terms.Add(term.ToString());
        ts.End();
        return terms;
    }

    public List<(string DocId, float Score)> Search(string text, int k)
    {
        var counts = new Dictionary<string, int>();
        var order = new List<string>();
        foreach (var t in Analyze(text))
        {
            if (counts.TryGetValue(t, out int c)) counts[t] = c + 1;
            else { counts[t] = 1; order.Add(t); }
        }
        var query = new BooleanQuery();
        foreach (var t in order)
            query.Add(new TermQuery(new Term("contents", t)) { Boost = counts[t] }, Occur.SHOULD);
        var hits = new List<(string, float)>();
        if (order.Count == 0) return hits;
        foreach (var sd in _searcher.Search(query, k).ScoreDocs)
            hits.Add((_searcher.Doc(sd.Doc).Get("id"), sd.Score));
        return hits;
    }

    /// <summary>Anserini's multi-field search: for each field a bag-of-words query (terms boosted by their counts)
    /// boosted by the field's weight, the fields' queries summed (SHOULD clauses of one BooleanQuery).</summary>
    public List<(string DocId, float Score)> SearchFields(string text, int k, params (string Field, float Boost)[] fields)
    {
        var counts = new Dictionary<string, int>();
        var order = new List<string>();
        foreach (var t in Analyze(text))
        {
            if (counts.TryGetValue(t, out int c)) counts[t] = c + 1;
            else { counts[t] = 1; order.Add(t); }
        }
        var hits = new List<(string, float)>();
        if (order.Count == 0) return hits;
        var query = new BooleanQuery();
        foreach (var (field, boost) in fields)
        {
            var perField = new BooleanQuery { Boost = boost };
            foreach (var t in order)
                perField.Add(new TermQuery(new Term(field, t)) { Boost = counts[t] }, Occur.SHOULD);
            query.Add(perField, Occur.SHOULD);
        }
        foreach (var sd in _searcher.Search(query, k).ScoreDocs)
            hits.Add((_searcher.Doc(sd.Doc).Get("id"), sd.Score));
        return hits;
    }

    /// <summary>The analyzer the index was built with (EnglishAnalyzer), for parsers that build Lucene queries.</summary>
    public Analyzer IndexAnalyzer => _analyzer;

    /// <summary>The top k for any Lucene query (e.g. one the classic QueryParser built).</summary>
    public List<(string DocId, float Score)> Search(Lucene.Net.Search.Query query, int k)
    {
        var hits = new List<(string, float)>();
        foreach (var sd in _searcher.Search(query, k).ScoreDocs)
            hits.Add((_searcher.Doc(sd.Doc).Get("id"), sd.Score));
        return hits;
    }

    public TrecRun Run(IReadOnlyList<(string Id, string Text)> queries, int k)
    {
        var run = new TrecRun("lucene");
        foreach (var (id, text) in queries)
        {
            var ranked = new List<(string, double)>();
            foreach (var (doc, score) in Search(text, k)) ranked.Add((doc, score));
            run.AddRanking(id, ranked);
        }
        return run;
    }

    public void Dispose()
    {
        _reader.Dispose();
        _dir.Dispose();
        _analyzer.Dispose();
    }

    /// <summary>Lucene's LMDirichletSimilarity with Lucene 8's length norms (what Anserini's QL runs).</summary>
    public sealed class Lucene8NormsDirichlet(float mu) : LMDirichletSimilarity(mu)
    {
        protected override byte EncodeNormValue(float boost, float length) => Relevo.Index.SmallFloat.IntToByte4((int)length);
        protected override float DecodeNormValue(byte norm) => Relevo.Index.SmallFloat.Byte4ToInt(norm);
    }

    /// <summary>BM25 as Lucene 8+ defines it: exact-below-24, 4-significant-bit length norms, and N and the average
    /// length taken over documents that have the field (docCount) rather than over maxDoc, so empty documents do not count.
    /// In Lucene.NET 4.8 its scores are Lucene 8's (and Relevo's) times (k1 + 1), the ranking the same. The one reference
    /// scorer of the tests and of the benchmarks (bench/Relevo.Bench).</summary>
    public sealed class Lucene8NormsBm25(float k1, float b) : BM25Similarity(k1, b)
    {
        protected override float AvgFieldLength(CollectionStatistics collectionStats) =>
            (float)(collectionStats.SumTotalTermFreq / (double)collectionStats.DocCount);

        public override Lucene.Net.Search.Explanation IdfExplain(CollectionStatistics collectionStats, TermStatistics termStats)
        {
            long df = termStats.DocFreq, n = collectionStats.DocCount;
            return new Lucene.Net.Search.Explanation(Idf(df, n), $"idf(docFreq={df}, docCount={n})");
        }

        /// <summary>A phrase's idf: its words' idfs summed, each over docCount (Lucene 8; Lucene 4.8 takes maxDoc).</summary>
        public override Lucene.Net.Search.Explanation IdfExplain(CollectionStatistics collectionStats, TermStatistics[] termStats)
        {
            float idf = 0;
            foreach (var t in termStats) idf += Idf(t.DocFreq, collectionStats.DocCount);
            return new Lucene.Net.Search.Explanation(idf, "idf(sum over docCount)");
        }

        protected override byte EncodeNormValue(float boost, int fieldLength) => Relevo.Index.SmallFloat.IntToByte4(fieldLength);
        protected override float DecodeNormValue(byte b) => Relevo.Index.SmallFloat.Byte4ToInt(b);
    }
}
