import java.io.*;
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;
import java.util.zip.GZIPInputStream;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.apache.lucene.document.*;
import org.apache.lucene.index.*;
import org.apache.lucene.search.*;
import org.apache.lucene.search.similarities.BM25Similarity;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.util.QueryBuilder;

/**
 * Java Lucene 8 side of Relevo's engine benchmark (bench/Relevo.Bench "search"): EnglishAnalyzer, BM25(k1, b), one
 * field "title text" with docs and freqs (as Relevo), id/title/text stored; bag-of-words queries with each term boosted
 * by its count. Prints one RESULT line and writes each query's top 10 to a run file.
 * Usage: LuceneBench CORPUS_DIR INDEX_DIR K1 B THREADS RUN_OUT [ROUNDS]
 *
 * Phrase mode, for bench/Relevo.Bench "phrase":
 *   LuceneBench phrase CORPUS_DIR INDEX_DIR PHRASES_FILE RUN_OUT [ROUNDS] [reuse]
 *     the same index with positions; each line of PHRASES_FILE an exact phrase (QueryBuilder.createPhraseQuery on
 *     "contents"); one-thread top-10 latency, best of ROUNDS; each query's top 10 to RUN_OUT; one RESULT line.
 *
 * Filter mode, for bench/Relevo.Bench "filter":
 *   LuceneBench filter CORPUS_DIR INDEX_DIR QUERIES_FILE RUN_OUT [ROUNDS] [reuse]
 *     the same index plus each line's integer "year" as an IntPoint and a NumericDocValuesField; each query of
 *     QUERIES_FILE (queries.jsonl lines) the bag of words as a MUST clause beside a FILTER clause
 *     IntPoint.newRangeQuery("year", 2010, 2011); one-thread top-10 latency, best of ROUNDS, unfiltered and filtered
 *     (the range uncached, as IndexOrDocValuesQuery, and from an always-caching LRUQueryCache); the uncached filtered
 *     top 10 to RUN_OUT ("qid docid floatbits"); one RESULT line.
 *
 * Two more modes, one process each, for bench/end-to-end.sh:
 *   LuceneBench index CORPUS_DIR INDEX_DIR [K1 B]         builds the same one-segment index and prints one line
 *   LuceneBench run INDEX_DIR QUERIES_FILE K RUN_OUT [K1 B] [TAG]
 *     what a minimal Lucene 8 user program does for a TREC run: opens the index, reads queries.jsonl, analyses each
 *     query into the same bag-of-words query, searcher.search(query, k), loads each hit's stored "id" and writes
 *     "qid Q0 docid rank score tag" lines through a BufferedWriter.
 */
public final class LuceneBench {
    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("index")) { index(args); return; }
        if (args.length > 0 && args[0].equals("run")) { run(args); return; }
        if (args.length > 0 && args[0].equals("phrase")) { phrase(args); return; }
        if (args.length > 0 && args[0].equals("filter")) { filter(args); return; }
        Path corpusDir = Paths.get(args[0]), indexDir = Paths.get(args[1]);
        float k1 = Float.parseFloat(args[2]), b = Float.parseFloat(args[3]);
        int threads = Integer.parseInt(args[4]);
        Path runOut = Paths.get(args[5]);
        int rounds = args.length > 6 ? Integer.parseInt(args[6]) : 2;
        Analyzer analyzer = new EnglishAnalyzer();
        BM25Similarity sim = new BM25Similarity(k1, b);

        // ---- indexing
        long t0 = System.nanoTime();
        long docs = buildIndex(corpusDir, indexDir, analyzer, sim);
        double indexSeconds = (System.nanoTime() - t0) / 1e9;
        long size = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(indexDir)) { for (Path p : ds) size += Files.size(p); }

        // ---- queries (analysed before timing)
        List<String> qids = new ArrayList<>();
        List<Query> queries = new ArrayList<>();
        try (BufferedReader r = open(corpusDir, "queries.jsonl")) { readBagsOfWords(r, analyzer, qids, queries); }

        try (DirectoryReader reader = DirectoryReader.open(FSDirectory.open(indexDir))) {
            IndexSearcher searcher = new IndexSearcher(reader);
            searcher.setSimilarity(sim);
            searcher.setQueryCache(null);
            // warm up: at least two passes of each k (more on small query sets, for the JIT)
            int warm = Math.max(2, 4000 / queries.size()); for (int i = 0; i < warm; i++) for (Query q : queries) { searcher.search(q, 10); searcher.search(q, 1000); }
            double[] t10 = null, t1000 = null;
            for (int round = 0; round < rounds; round++) {
                double[] a = latencies(searcher, queries, 10), c = latencies(searcher, queries, 1000);
                t10 = t10 == null ? a : min(t10, a);
                t1000 = t1000 == null ? c : min(t1000, c);
            }
            // throughput, top 10, all threads
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            AtomicInteger next = new AtomicInteger();
            int total = queries.size() * 3;
            long s0 = System.nanoTime();
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < threads; t++) fs.add(pool.submit(() -> {
                int i;
                while ((i = next.getAndIncrement()) < total) {
                    try { searcher.search(queries.get(i % queries.size()), 10); } catch (IOException e) { throw new UncheckedIOException(e); }
                }
                return null;
            }));
            for (Future<?> f : fs) f.get();
            double qps = total / ((System.nanoTime() - s0) / 1e9);
            pool.shutdown();
            try (PrintWriter pw = new PrintWriter(Files.newBufferedWriter(runOut, StandardCharsets.UTF_8))) {
                for (int i = 0; i < queries.size(); i++) {
                    TopDocs td = searcher.search(queries.get(i), 10);
                    for (ScoreDoc sd : td.scoreDocs)
                        pw.println(qids.get(i) + " " + searcher.doc(sd.doc).get("id") + " " + Float.floatToIntBits(sd.score));
                }
            }
            System.out.println(String.format(Locale.ROOT,
                "RESULT docs=%d index_s=%.3f size=%d t10_mean=%.6f t10_p50=%.6f t10_p99=%.6f t1000_mean=%.6f t1000_p50=%.6f t1000_p99=%.6f qps=%.1f queries=%d",
                docs, indexSeconds, size, mean(t10), pct(t10, 50), pct(t10, 99), mean(t1000), pct(t1000, 50), pct(t1000, 99), qps, queries.size()));
        }
    }

    /** "phrase CORPUS_DIR INDEX_DIR PHRASES_FILE RUN_OUT [ROUNDS]": exact phrases over the index with positions. */
    static void phrase(String[] args) throws IOException {
        Path corpusDir = Paths.get(args[1]), indexDir = Paths.get(args[2]), phrasesFile = Paths.get(args[3]), runOut = Paths.get(args[4]);
        int rounds = args.length > 5 ? Integer.parseInt(args[5]) : 2;
        boolean reuse = args.length > 6 && args[6].equals("reuse") && Files.isDirectory(indexDir) && DirectoryReader.indexExists(FSDirectory.open(indexDir));
        Analyzer analyzer = new EnglishAnalyzer();
        BM25Similarity sim = new BM25Similarity(0.9f, 0.4f);
        long t0 = System.nanoTime();
        long docs = -1;
        if (!reuse) docs = buildIndex(corpusDir, indexDir, analyzer, sim, IndexOptions.DOCS_AND_FREQS_AND_POSITIONS);
        double indexSeconds = reuse ? Double.NaN : (System.nanoTime() - t0) / 1e9;
        long size = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(indexDir)) { for (Path p : ds) size += Files.size(p); }
        QueryBuilder builder = new QueryBuilder(analyzer);
        List<Query> queries = new ArrayList<>();
        for (String line : Files.readAllLines(phrasesFile, StandardCharsets.UTF_8)) queries.add(builder.createPhraseQuery("contents", line));
        try (DirectoryReader reader = DirectoryReader.open(FSDirectory.open(indexDir))) {
            IndexSearcher searcher = new IndexSearcher(reader);
            searcher.setSimilarity(sim);
            searcher.setQueryCache(null);
            int warm = Math.max(3, 4000 / queries.size()); for (int i = 0; i < warm; i++) for (Query q : queries) searcher.search(q, 10);
            double[] t10 = null;
            for (int round = 0; round < rounds; round++) {
                double[] a = latencies(searcher, queries, 10);
                t10 = t10 == null ? a : min(t10, a);
            }
            try (PrintWriter pw = new PrintWriter(Files.newBufferedWriter(runOut, StandardCharsets.UTF_8))) {
                for (int i = 0; i < queries.size(); i++) {
                    TopDocs td = searcher.search(queries.get(i), 10);
                    for (ScoreDoc sd : td.scoreDocs)
                        pw.println(i + " " + searcher.doc(sd.doc).get("id") + " " + Float.floatToIntBits(sd.score));
                }
            }
            System.out.println(String.format(Locale.ROOT, "RESULT docs=%d index_s=%.3f size=%d t10_mean=%.6f t10_p50=%.6f t10_p99=%.6f queries=%d",
                docs, indexSeconds, size, mean(t10), pct(t10, 50), pct(t10, 99), queries.size()));
        }
    }

    /** "filter CORPUS_DIR INDEX_DIR QUERIES_FILE RUN_OUT [ROUNDS] [reuse]": bag-of-words top 10 under a year range. */
    static void filter(String[] args) throws IOException {
        Path corpusDir = Paths.get(args[1]), indexDir = Paths.get(args[2]), queriesFile = Paths.get(args[3]), runOut = Paths.get(args[4]);
        int rounds = args.length > 5 ? Integer.parseInt(args[5]) : 3;
        boolean reuse = args.length > 6 && args[6].equals("reuse") && Files.isDirectory(indexDir) && DirectoryReader.indexExists(FSDirectory.open(indexDir));
        if (reuse) {
            try (DirectoryReader r = DirectoryReader.open(FSDirectory.open(indexDir))) {
                for (LeafReaderContext c : r.leaves()) if (c.reader().getPointValues("year") == null) reuse = false; // not a filter index
            }
        }
        Analyzer analyzer = new EnglishAnalyzer();
        BM25Similarity sim = new BM25Similarity(0.9f, 0.4f);
        long t0 = System.nanoTime();
        long docs = -1;
        if (!reuse) docs = buildIndex(corpusDir, indexDir, analyzer, sim, IndexOptions.DOCS_AND_FREQS, true);
        double indexSeconds = reuse ? Double.NaN : (System.nanoTime() - t0) / 1e9;
        long size = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(indexDir)) { for (Path p : ds) size += Files.size(p); }

        Query range = IntPoint.newRangeQuery("year", 2010, 2011);
        Query rangeOrDv = new IndexOrDocValuesQuery(range, NumericDocValuesField.newSlowRangeQuery("year", 2010, 2011));
        List<String> qids = new ArrayList<>();
        List<Query> plain = new ArrayList<>(), filtered = new ArrayList<>(), filteredDv = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(queriesFile, StandardCharsets.UTF_8)) { readBagsOfWords(r, analyzer, qids, plain); }
        for (Query q : plain) {
            filtered.add(new BooleanQuery.Builder().add(q, BooleanClause.Occur.MUST).add(range, BooleanClause.Occur.FILTER).build());
            filteredDv.add(new BooleanQuery.Builder().add(q, BooleanClause.Occur.MUST).add(rangeOrDv, BooleanClause.Occur.FILTER).build());
        }
        try (DirectoryReader reader = DirectoryReader.open(FSDirectory.open(indexDir))) {
            if (docs < 0) docs = reader.maxDoc();
            IndexSearcher searcher = new IndexSearcher(reader);
            searcher.setSimilarity(sim);
            searcher.setQueryCache(null);
            // the filter as a cached doc id set (what a compiled filter is): cache every FILTER clause, on every segment
            IndexSearcher cached = new IndexSearcher(reader);
            cached.setSimilarity(sim);
            cached.setQueryCache(new LRUQueryCache(100, 256L << 20, ctx -> true, Float.POSITIVE_INFINITY));
            cached.setQueryCachingPolicy(new QueryCachingPolicy() {
                @Override public void onUse(Query query) { }
                @Override public boolean shouldCache(Query query) { return true; }
            });
            long c0 = System.nanoTime();
            int matching = cached.count(new ConstantScoreQuery(range)); // fills the cache with the range's doc id set
            double cacheMs = (System.nanoTime() - c0) / 1e6;
            int warm = Math.max(3, 4000 / plain.size());
            for (int i = 0; i < warm; i++)
                for (int q = 0; q < plain.size(); q++) {
                    searcher.search(plain.get(q), 10); searcher.search(filtered.get(q), 10);
                    searcher.search(filteredDv.get(q), 10); cached.search(filtered.get(q), 10);
                }
            double[] u = null, f = null, fdv = null, fc = null;
            for (int round = 0; round < rounds; round++) {
                double[] a = latencies(searcher, filtered, 10), b = latencies(searcher, plain, 10);
                double[] c = latencies(searcher, filteredDv, 10), d = latencies(cached, filtered, 10);
                f = f == null ? a : min(f, a);
                u = u == null ? b : min(u, b);
                fdv = fdv == null ? c : min(fdv, c);
                fc = fc == null ? d : min(fc, d);
            }
            // the three filtered forms must return the same top 10
            int differ = 0;
            try (PrintWriter pw = new PrintWriter(Files.newBufferedWriter(runOut, StandardCharsets.UTF_8))) {
                for (int i = 0; i < plain.size(); i++) {
                    TopDocs td = searcher.search(filtered.get(i), 10);
                    if (!same(td, searcher.search(filteredDv.get(i), 10)) || !same(td, cached.search(filtered.get(i), 10))) differ++;
                    for (ScoreDoc sd : td.scoreDocs)
                        pw.println(qids.get(i) + " " + searcher.doc(sd.doc).get("id") + " " + Float.floatToIntBits(sd.score));
                }
            }
            System.out.println(String.format(Locale.ROOT,
                "RESULT docs=%d index_s=%.3f size=%d matching=%d cache_ms=%.3f variants_differ=%d queries=%d"
                    + " u_mean=%.6f u_p50=%.6f u_p95=%.6f f_mean=%.6f f_p50=%.6f f_p95=%.6f"
                    + " fdv_mean=%.6f fdv_p50=%.6f fdv_p95=%.6f fc_mean=%.6f fc_p50=%.6f fc_p95=%.6f",
                docs, indexSeconds, size, matching, cacheMs, differ, plain.size(),
                mean(u), pct(u, 50), pct(u, 95), mean(f), pct(f, 50), pct(f, 95),
                mean(fdv), pct(fdv, 50), pct(fdv, 95), mean(fc), pct(fc, 50), pct(fc, 95)));
        }
    }

    static boolean same(TopDocs a, TopDocs b) {
        if (a.scoreDocs.length != b.scoreDocs.length) return false;
        for (int i = 0; i < a.scoreDocs.length; i++)
            if (a.scoreDocs[i].doc != b.scoreDocs[i].doc || a.scoreDocs[i].score != b.scoreDocs[i].score) return false;
        return true;
    }

    /** "index CORPUS_DIR INDEX_DIR [K1 B]": the benchmark's one-segment index, in its own process. */
    static void index(String[] args) throws IOException {
        Path corpusDir = Paths.get(args[1]), indexDir = Paths.get(args[2]);
        float k1 = args.length > 3 ? Float.parseFloat(args[3]) : 0.9f, b = args.length > 4 ? Float.parseFloat(args[4]) : 0.4f;
        if (Files.exists(indexDir)) {
            try (var entries = Files.list(indexDir)) {
                if (entries.findAny().isPresent()) throw new IllegalArgumentException(indexDir + ": not empty");
            }
        }
        long t0 = System.nanoTime();
        long docs = buildIndex(corpusDir, indexDir, new EnglishAnalyzer(), new BM25Similarity(k1, b));
        System.out.println(String.format(Locale.ROOT, "indexed %d documents from %s into %s (one segment) in %.1f s",
            docs, corpusDir, indexDir, (System.nanoTime() - t0) / 1e9));
    }

    /** "run INDEX_DIR QUERIES_FILE K RUN_OUT [K1 B] [TAG]": a TREC run, as a minimal user program writes it. */
    static void run(String[] args) throws IOException {
        Path indexDir = Paths.get(args[1]), queriesFile = Paths.get(args[2]);
        int k = Integer.parseInt(args[3]);
        Path runOut = Paths.get(args[4]);
        float k1 = args.length > 5 ? Float.parseFloat(args[5]) : 0.9f, b = args.length > 6 ? Float.parseFloat(args[6]) : 0.4f;
        String tag = args.length > 7 ? args[7] : "lucene8";
        Analyzer analyzer = new EnglishAnalyzer();
        Set<String> idOnly = Collections.singleton("id");
        long lines = 0, queries = 0;
        try (FSDirectory dir = FSDirectory.open(indexDir); DirectoryReader reader = DirectoryReader.open(dir);
             BufferedReader in = Files.newBufferedReader(queriesFile, StandardCharsets.UTF_8);
             BufferedWriter out = Files.newBufferedWriter(runOut, StandardCharsets.UTF_8)) {
            IndexSearcher searcher = new IndexSearcher(reader);
            searcher.setSimilarity(new BM25Similarity(k1, b));
            searcher.setQueryCache(null);
            String line;
            while ((line = in.readLine()) != null) {
                if (line.isBlank()) continue;
                Map<String, String> m = Json.parseFlat(line);
                String qid = m.get("_id");
                queries++;
                Query q = bagOfWords(analyzer, m.getOrDefault("text", ""));
                if (q == null) continue;
                ScoreDoc[] hits = searcher.search(q, k).scoreDocs;
                for (int i = 0; i < hits.length; i++) {
                    out.write(qid);
                    out.write(" Q0 ");
                    out.write(searcher.doc(hits[i].doc, idOnly).get("id"));
                    out.write(' ');
                    out.write(Integer.toString(i + 1));
                    out.write(' ');
                    out.write(Float.toString(hits[i].score));
                    out.write(' ');
                    out.write(tag);
                    out.write('\n');
                }
                lines += hits.length;
            }
        }
        System.out.println(String.format(Locale.ROOT, "wrote %d lines for %d queries to %s", lines, queries, runOut));
    }

    /** A new index in INDEX_DIR: one field "title text" with docs and freqs, id/title/text stored, merged to one segment. */
    static long buildIndex(Path corpusDir, Path indexDir, Analyzer analyzer, BM25Similarity sim) throws IOException {
        return buildIndex(corpusDir, indexDir, analyzer, sim, IndexOptions.DOCS_AND_FREQS);
    }

    static long buildIndex(Path corpusDir, Path indexDir, Analyzer analyzer, BM25Similarity sim, IndexOptions options) throws IOException {
        return buildIndex(corpusDir, indexDir, analyzer, sim, options, false);
    }

    /** With <code>year</code>, each line's integer "year" is indexed too, as an IntPoint and a NumericDocValuesField. */
    static long buildIndex(Path corpusDir, Path indexDir, Analyzer analyzer, BM25Similarity sim, IndexOptions options, boolean year) throws IOException {
        deleteTree(indexDir);
        Files.createDirectories(indexDir);
        FieldType contents = new FieldType();
        contents.setTokenized(true);
        contents.setIndexOptions(options);
        contents.setStored(false);
        contents.freeze();
        long docs = 0;
        try (FSDirectory dir = FSDirectory.open(indexDir)) {
            IndexWriterConfig cfg = new IndexWriterConfig(analyzer).setSimilarity(sim).setRAMBufferSizeMB(256)
                .setOpenMode(IndexWriterConfig.OpenMode.CREATE);
            try (IndexWriter w = new IndexWriter(dir, cfg); BufferedReader r = open(corpusDir, "corpus.jsonl")) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (line.isBlank()) continue;
                    Map<String, String> m = Json.parseFlat(line, year);
                    String id = m.getOrDefault("_id", ""), title = m.getOrDefault("title", ""), text = m.getOrDefault("text", "");
                    String indexed = title.isEmpty() ? text : text.isEmpty() ? title : title + " " + text;
                    Document d = new Document();
                    d.add(new StringField("id", id, Field.Store.YES));
                    d.add(new StoredField("title", title));
                    d.add(new StoredField("text", text));
                    d.add(new Field("contents", indexed, contents));
                    if (year) {
                        String y = m.get("year");
                        if (y == null) throw new IllegalArgumentException("line " + (docs + 1) + ": no \"year\"");
                        int v = Integer.parseInt(y);
                        d.add(new IntPoint("year", v));
                        d.add(new NumericDocValuesField("year", v));
                    }
                    w.addDocument(d);
                    docs++;
                }
                w.forceMerge(1);
                w.commit();
            }
        }
        return docs;
    }

    /** Anserini's bag of words: each distinct analysed term a SHOULD clause boosted by its count; null when no terms. */
    static Query bagOfWords(Analyzer analyzer, String text) throws IOException {
        LinkedHashMap<String, Integer> counts = new LinkedHashMap<>();
        try (TokenStream ts = analyzer.tokenStream("contents", text)) {
            CharTermAttribute term = ts.addAttribute(CharTermAttribute.class);
            ts.reset();
            while (ts.incrementToken()) counts.merge(term.toString(), 1, Integer::sum);
            ts.end();
        }
        if (counts.isEmpty()) return null;
        BooleanQuery.Builder q = new BooleanQuery.Builder();
        for (Map.Entry<String, Integer> e : counts.entrySet()) {
            Query tq = new TermQuery(new Term("contents", e.getKey()));
            if (e.getValue() != 1) tq = new BoostQuery(tq, e.getValue());
            q.add(tq, BooleanClause.Occur.SHOULD);
        }
        return q.build();
    }

    /** Reads a queries.jsonl into ids and Anserini bags of words, skipping queries that analyse to no terms. */
    static void readBagsOfWords(BufferedReader r, Analyzer analyzer, List<String> qids, List<Query> queries) throws IOException {
        String line;
        while ((line = r.readLine()) != null) {
            if (line.isBlank()) continue;
            Map<String, String> m = Json.parseFlat(line);
            Query q = bagOfWords(analyzer, m.getOrDefault("text", ""));
            if (q == null) continue;
            qids.add(m.get("_id"));
            queries.add(q);
        }
    }

    /** Per-query latency in milliseconds, one thread. */
    static double[] latencies(IndexSearcher s, List<Query> qs, int k) throws IOException {
        double[] ms = new double[qs.size()];
        for (int i = 0; i < qs.size(); i++) {
            long t = System.nanoTime();
            s.search(qs.get(i), k);
            ms[i] = (System.nanoTime() - t) / 1e6;
        }
        return ms;
    }

    static double[] min(double[] a, double[] b) { double[] r = new double[a.length]; for (int i = 0; i < a.length; i++) r[i] = Math.min(a[i], b[i]); return r; }
    static double mean(double[] a) { double s = 0; for (double x : a) s += x; return s / a.length; }
    static double pct(double[] a, int p) { double[] s = a.clone(); Arrays.sort(s); return s[Math.min(s.length - 1, (int) Math.ceil(p / 100.0 * s.length) - 1)]; }

    static BufferedReader open(Path dir, String name) throws IOException {
        Path p = dir.resolve(name);
        if (Files.exists(p)) return Files.newBufferedReader(p, StandardCharsets.UTF_8);
        return new BufferedReader(new InputStreamReader(new GZIPInputStream(Files.newInputStream(dir.resolve(name + ".gz"))), StandardCharsets.UTF_8));
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (var walk = Files.walk(p)) { walk.sorted(Comparator.reverseOrder()).forEach(x -> x.toFile().delete()); }
    }

    /** Just enough JSON for BEIR lines: the top-level string fields of one object (nested values skipped). */
    static final class Json {
        private final String s; private int i;
        private Json(String s) { this.s = s; }
        static Map<String, String> parseFlat(String line) { return parseFlat(line, false); }

        /** With <code>scalars</code>, numbers, booleans and null are kept too, as their JSON text. */
        static Map<String, String> parseFlat(String line, boolean scalars) {
            Json j = new Json(line); Map<String, String> m = new HashMap<>();
            j.ws(); j.expect('{'); j.ws();
            if (j.peek() == '}') return m;
            while (true) {
                j.ws(); String key = j.string(); j.ws(); j.expect(':'); j.ws();
                if (j.peek() == '"') m.put(key, j.string());
                else if (scalars && j.peek() != '{' && j.peek() != '[') { int at = j.i; j.skipValue(); m.put(key, j.s.substring(at, j.i)); }
                else j.skipValue();
                j.ws();
                char c = j.s.charAt(j.i++);
                if (c == '}') return m;
                if (c != ',') throw new IllegalArgumentException("bad JSON at " + j.i);
            }
        }
        char peek() { return s.charAt(i); }
        void ws() { while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++; }
        void expect(char c) { if (s.charAt(i++) != c) throw new IllegalArgumentException("expected " + c + " at " + (i - 1)); }
        String string() {
            expect('"'); StringBuilder sb = new StringBuilder();
            while (true) {
                char c = s.charAt(i++);
                if (c == '"') return sb.toString();
                if (c != '\\') { sb.append(c); continue; }
                char e = s.charAt(i++);
                switch (e) {
                    case 'n': sb.append('\n'); break; case 't': sb.append('\t'); break; case 'r': sb.append('\r'); break;
                    case 'b': sb.append('\b'); break; case 'f': sb.append('\f'); break;
                    case 'u': sb.append((char) Integer.parseInt(s.substring(i, i + 4), 16)); i += 4; break;
                    default: sb.append(e);
                }
            }
        }
        void skipValue() {
            char c = peek();
            if (c == '"') { string(); return; }
            if (c == '{' || c == '[') {
                int depth = 0;
                do {
                    c = s.charAt(i);
                    if (c == '"') { string(); continue; }
                    if (c == '{' || c == '[') depth++;
                    if (c == '}' || c == ']') depth--;
                    i++;
                } while (depth > 0);
                return;
            }
            while (i < s.length() && ",}] \t".indexOf(s.charAt(i)) < 0) i++;
        }
    }
}
