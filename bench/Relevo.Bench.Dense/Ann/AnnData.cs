using System.Diagnostics;
using System.Globalization;
using System.IO.Hashing;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Relevo.Collections;
using Relevo.Dense;
using Relevo.Evaluation;
using Relevo.Search;

namespace Relevo.Bench.Dense.Ann;

/// <summary>The vectors an ANN benchmark runs on: unit-length rows to index, unit-length queries, and each query's
/// exact float32 top <see cref="TruthK"/> over all rows (ties to the smaller row number) as the ground truth. Made by
/// <see cref="Synthetic"/> (clustered Gaussian data, deterministic) or <see cref="SciFact"/> (the real arctic-xs
/// embeddings of SciFact's passages and test queries). The ground truth is cached under
/// <c>{temp}/relevo-ann-cache</c>, keyed by the data's parameters and checked against a hash of the vectors.</summary>
internal sealed class AnnData
{
    /// <summary>How many true neighbours each query has (recall@10).</summary>
    public const int TruthK = 10;

    /// <summary>Noise length relative to the unit centre when none is given (see <see cref="Synthetic"/>): 1.0, a
    /// cosine of 0.71 to the own centre and about 0.5 between two vectors of the same centre. Chosen on 100,000
    /// vectors (2,000 centres, m 16, ef_construction 100), sigma 0.5 / 0.75 / 1.0 / 1.25 gave USearch recall@10 at
    /// ef 10 of 0.92 / 0.90 / 0.83 / 0.76 and at ef 20 of 0.99 / 0.98 / 0.96 / 0.92, with every true neighbour in
    /// the query's own cluster for all four: 1.0 is the largest noise that keeps the cosine to the centre in 0.7–0.85,
    /// its neighbours are still defined by the clusters (not noise), and it is far from trivial at ef 10 — closer to
    /// the real SciFact arctic-xs vectors, where USearch reaches recall@10 0.77 at ef 10.</summary>
    public const float DefaultSigma = 1.0f;

    /// <summary>Where ground truths are cached.</summary>
    public static string CacheFolder => Path.Combine(Path.GetTempPath(), "relevo-ann-cache");

    /// <summary>A name that identifies the data and its parameters (the cache file's name).</summary>
    public required string Name { get; init; }

    public required float[] Rows { get; init; }
    public required int Count { get; init; }
    public required int Dims { get; init; }
    public required float[] Queries { get; init; }
    public required int QueryCount { get; init; }

    /// <summary>QueryCount × <see cref="TruthK"/> row numbers, each query's best first.</summary>
    public int[] Truth { get; private set; } = [];

    /// <summary>What was measured about the data while it was made (one line each), for the report.</summary>
    public List<string> Facts { get; } = [];

    public ReadOnlySpan<float> Query(int q) => Queries.AsSpan(q * Dims, Dims);

    public ReadOnlySpan<int> TruthOf(int q) => Truth.AsSpan(q * TruthK, TruthK);

    // ---- synthetic ----

    /// <summary>Clustered data: <paramref name="centres"/> centres drawn as Gaussian vectors and normalised; each row
    /// is normalise(centre[c] + noise) with c uniform and each noise component N(0, sigma² / dims), so the noise's
    /// expected length is <paramref name="sigma"/> times the centre's and a vector's cosine to its own centre is
    /// about 1/√(1 + sigma²). Queries are drawn the same way from a different random stream.
    /// <para>Deterministic: the rows are made in fixed ranges of 4,096, each range with its own
    /// <see cref="Random"/>(seed derived from the seed, the stream and the range number), and Gaussians come from
    /// Box–Muller; the arithmetic is scalar double in a fixed order, so the result does not depend on the thread
    /// count. (Math.Log, Sin and Cos come from the platform's C library; a last-bit difference there between
    /// platforms would almost always vanish in the rounding to float.)</para></summary>
    public static AnnData Synthetic(int count, int queries, int dims, int centres, float sigma, int seed)
    {
        if (count <= 0 || queries <= 0 || dims <= 0 || centres <= 0) throw new ArgumentException("count, queries, dims and centres must be positive");
        if (count < TruthK) throw new ArgumentException($"at least {TruthK} rows are needed");
        if ((long)count * dims > Array.MaxLength) throw new ArgumentException($"{count} × {dims} floats do not fit one array");
        var clock = Stopwatch.StartNew();
        var centreVectors = new float[centres * dims];
        var gaussian = new Gaussian(new Random(DeriveSeed(seed, 0, 0)));
        var tmp = new double[dims];
        for (int c = 0; c < centres; c++)
        {
            for (int j = 0; j < dims; j++) tmp[j] = gaussian.Next();
            double inv = 1.0 / NormOf(tmp);
            var centre = centreVectors.AsSpan(c * dims, dims);
            for (int j = 0; j < dims; j++) centre[j] = (float)(tmp[j] * inv);
        }
        double noise = sigma / Math.Sqrt(dims);
        var rows = new float[(long)count * dims];
        var rowLabels = new int[count];
        double rowCosine = Generate(rows, rowLabels, count, dims, centreVectors, centres, noise, seed, stream: 1);
        var queryVectors = new float[(long)queries * dims];
        var queryLabels = new int[queries];
        double queryCosine = Generate(queryVectors, queryLabels, queries, dims, centreVectors, centres, noise, seed, stream: 2);
        double seconds = clock.Elapsed.TotalSeconds;

        string name = Fmt($"synthetic-n{count}-q{queries}-d{dims}-c{centres}-s{sigma:R}-seed{seed}");
        var data = new AnnData { Name = name, Rows = rows, Count = count, Dims = dims, Queries = queryVectors, QueryCount = queries };
        data.Facts.Add(Fmt($"synthetic: {count:N0} rows × {dims} dims, {queries:N0} queries, {centres:N0} centres, sigma {sigma:R}, seed {seed}; generated in {seconds:F1} s"));
        data.Facts.Add(Fmt($"mean cosine to own centre: rows {rowCosine:F4}, queries {queryCosine:F4} (1/√(1+sigma²) = {1 / Math.Sqrt(1 + (double)sigma * sigma):F4})"));
        data.LoadOrComputeTruth();

        // how meaningful the neighbours are: how many of a query's true top 10 share its centre
        long sameCentre = 0;
        for (int q = 0; q < queries; q++)
            foreach (int row in data.TruthOf(q))
                if (rowLabels[row] == queryLabels[q]) sameCentre++;
        data.Facts.Add(Fmt($"true top-10 neighbours sharing the query's centre: {100.0 * sameCentre / ((long)queries * TruthK):F1}% (rows per centre: {(double)count / centres:F0})"));
        return data;
    }

    /// <summary>Rows (or queries) of one stream into <paramref name="output"/> and their centres into
    /// <paramref name="labels"/>; returns the mean cosine to the own centre.</summary>
    private static double Generate(float[] output, int[] labels, int n, int dims, float[] centres, int centreCount, double noise, int seed, int stream)
    {
        const int RangeRows = 4096;
        int ranges = (n + RangeRows - 1) / RangeRows;
        var cosineSums = new double[ranges];
        Parallel.For(0, ranges, r =>
        {
            var random = new Random(DeriveSeed(seed, stream, r));
            var gaussian = new Gaussian(random);
            var tmp = new double[dims];
            double cosineSum = 0;
            int end = Math.Min(n, (r + 1) * RangeRows);
            for (int i = r * RangeRows; i < end; i++)
            {
                int c = random.Next(centreCount);
                labels[i] = c;
                var centre = centres.AsSpan(c * dims, dims);
                for (int j = 0; j < dims; j++) tmp[j] = centre[j] + noise * gaussian.Next();
                double inv = 1.0 / NormOf(tmp);
                var row = output.AsSpan(i * dims, dims);
                double cosine = 0;
                for (int j = 0; j < dims; j++)
                {
                    double v = tmp[j] * inv;
                    row[j] = (float)v;
                    cosine += v * centre[j];
                }
                cosineSum += cosine;
            }
            cosineSums[r] = cosineSum;
        });
        double total = 0;
        foreach (double s in cosineSums) total += s; // range order: independent of the thread count
        return total / n;
    }

    private static double NormOf(double[] v)
    {
        double sum = 0;
        for (int j = 0; j < v.Length; j++) sum += v[j] * v[j];
        return Math.Sqrt(sum);
    }

    /// <summary>A seed for range <paramref name="range"/> of stream <paramref name="stream"/> (0 centres, 1 rows,
    /// 2 queries): SplitMix64 of the three, folded to a non-negative int.</summary>
    private static int DeriveSeed(int seed, int stream, int range)
    {
        ulong z = (ulong)(uint)seed << 32 ^ (ulong)(uint)stream << 24 ^ (uint)range;
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (int)(z & 0x7FFF_FFFF);
    }

    /// <summary>Standard normal numbers by Box–Muller from one <see cref="Random"/>, the second of each pair kept for
    /// the next call.</summary>
    private sealed class Gaussian(Random random)
    {
        private double _spare;
        private bool _hasSpare;

        public double Next()
        {
            if (_hasSpare)
            {
                _hasSpare = false;
                return _spare;
            }
            double u1 = 1.0 - random.NextDouble(); // (0, 1]: the log is finite
            double u2 = random.NextDouble();
            double radius = Math.Sqrt(-2.0 * Math.Log(u1));
            double angle = 2.0 * Math.PI * u2;
            _spare = radius * Math.Sin(angle);
            _hasSpare = true;
            return radius * Math.Cos(angle);
        }
    }

    // ---- SciFact ----

    /// <summary>SciFact's passages (rows) and judged test queries as arctic-xs embeds them, exactly as the
    /// <c>search</c> command does (<see cref="EmbeddingModel.EmbedPassages"/> / <see cref="EmbeddingModel.EmbedQueries"/>,
    /// served from the on-disk embedding cache after the first run). At most <paramref name="maxQueries"/> queries,
    /// in file order.</summary>
    public static AnnData SciFact(BeirDataset dataset, int maxQueries, string modelName = "arctic-xs")
    {
        var clock = Stopwatch.StartNew();
        using var model = EmbeddingModel.Load(modelName);
        var docs = new List<string>();
        foreach (var d in JsonlReader.ReadCorpus(dataset.CorpusPath)) docs.Add(DenseIndexer.PassageText(d));
        int dims = model.Dimensions;
        Console.Error.WriteLine($"embedding {docs.Count} SciFact passages (cached after the first run)...");
        var rows = new float[(long)docs.Count * dims];
        model.EmbedPassages(docs, rows);
        var qrels = Qrels.Load(dataset.QrelsPath);
        var judged = new HashSet<string>(qrels.QueryIds);
        var queries = JsonlReader.ReadQueries(dataset.QueriesPath).FindAll(q => judged.Contains(q.Id));
        if (queries.Count > maxQueries) queries.RemoveRange(maxQueries, queries.Count - maxQueries);
        var queryVectors = new float[(long)queries.Count * dims];
        model.EmbedQueries(queries.ConvertAll(q => q.Text), queryVectors);
        double seconds = clock.Elapsed.TotalSeconds;

        double worst = Math.Max(MaxNormError(rows, dims), MaxNormError(queryVectors, dims));
        if (worst > 1e-3)
        {
            Normalise(rows, dims);
            Normalise(queryVectors, dims);
        }
        string safeModel = string.Concat(model.Name.Select(ch => char.IsAsciiLetterOrDigit(ch) ? ch : '-'));
        var data = new AnnData
        {
            Name = $"scifact-{safeModel}-n{docs.Count}-q{queries.Count}",
            Rows = rows, Count = docs.Count, Dims = dims, Queries = queryVectors, QueryCount = queries.Count,
        };
        data.Facts.Add(Fmt($"SciFact {model.Name}: {docs.Count:N0} passages × {dims} dims, {queries.Count} judged test queries; embedded in {seconds:F1} s; max |norm − 1| {worst:G3}{(worst > 1e-3 ? " (re-normalised)" : "")}"));
        data.LoadOrComputeTruth();
        return data;
    }

    private static double MaxNormError(float[] v, int dims)
    {
        double worst = 0;
        for (int i = 0; i + dims <= v.Length; i += dims) worst = Math.Max(worst, Math.Abs(TensorPrimitives.Norm(v.AsSpan(i, dims)) - 1));
        return worst;
    }

    private static void Normalise(float[] v, int dims)
    {
        for (int i = 0; i + dims <= v.Length; i += dims)
        {
            var row = v.AsSpan(i, dims);
            TensorPrimitives.Divide(row, TensorPrimitives.Norm(row), row);
        }
    }

    // ---- ground truth ----

    private const string TruthMagic = "RLVANNGT";
    private const int TruthVersion = 1;

    /// <summary>Sets <see cref="Truth"/> from the cache file of this data's name if its header and vector hash match,
    /// otherwise computes it (<see cref="ExactTopK"/>) and writes the cache.</summary>
    private void LoadOrComputeTruth()
    {
        var clock = Stopwatch.StartNew();
        ulong hash = HashVectors();
        string path = Path.Combine(CacheFolder, Name + ".gt");
        if (TryReadTruth(path, hash) is { } cached)
        {
            Truth = cached;
            Facts.Add(Fmt($"ground truth: exact float32 top-{TruthK}, read from {path} ({clock.Elapsed.TotalSeconds:F1} s)"));
        }
        else
        {
            Truth = ExactTopK(Rows, Count, Dims, Queries, QueryCount, TruthK);
            Directory.CreateDirectory(CacheFolder);
            string temp = path + "." + Environment.ProcessId + ".tmp";
            using (var w = new BinaryWriter(File.Create(temp)))
            {
                w.Write(TruthMagic.ToCharArray());
                w.Write(TruthVersion);
                w.Write(Count);
                w.Write(Dims);
                w.Write(QueryCount);
                w.Write(TruthK);
                w.Write(hash);
                w.Write(MemoryMarshal.AsBytes(Truth.AsSpan()));
            }
            File.Move(temp, path, overwrite: true);
            Facts.Add(Fmt($"ground truth: exact float32 top-{TruthK} computed in {clock.Elapsed.TotalSeconds:F1} s ({Environment.ProcessorCount} threads), cached in {path}"));
        }

        double first = 0, last = 0;
        for (int q = 0; q < QueryCount; q++)
        {
            var truth = TruthOf(q);
            first += TensorPrimitives.Dot(Query(q), Rows.AsSpan(truth[0] * Dims, Dims));
            last += TensorPrimitives.Dot(Query(q), Rows.AsSpan(truth[TruthK - 1] * Dims, Dims));
        }
        Facts.Add(Fmt($"mean cosine of a query to its true 1st / 10th neighbour: {first / QueryCount:F4} / {last / QueryCount:F4}"));
    }

    private int[]? TryReadTruth(string path, ulong hash)
    {
        if (!File.Exists(path)) return null;
        using var r = new BinaryReader(File.OpenRead(path));
        long expected = TruthMagic.Length + 5 * sizeof(int) + sizeof(ulong) + (long)QueryCount * TruthK * sizeof(int);
        if (r.BaseStream.Length != expected) return null;
        if (new string(r.ReadChars(TruthMagic.Length)) != TruthMagic || r.ReadInt32() != TruthVersion
            || r.ReadInt32() != Count || r.ReadInt32() != Dims || r.ReadInt32() != QueryCount || r.ReadInt32() != TruthK
            || r.ReadUInt64() != hash)
            return null;
        var truth = new int[QueryCount * TruthK];
        r.BaseStream.ReadExactly(MemoryMarshal.AsBytes(truth.AsSpan()));
        return truth;
    }

    /// <summary>XxHash3 of the rows and the queries: a cache file made from other vectors is not used.</summary>
    private ulong HashVectors()
    {
        var h = new XxHash3();
        foreach (var v in new[] { Rows, Queries })
        {
            const int Chunk = 1 << 24; // floats per append: spans of bytes stay far below 2 GB
            for (int i = 0; i < v.Length; i += Chunk)
                h.Append(MemoryMarshal.AsBytes(v.AsSpan(i, Math.Min(Chunk, v.Length - i))));
        }
        return h.GetCurrentHashAsUInt64();
    }

    /// <summary>Each query's exact top k by float32 dot product (<see cref="TensorPrimitives.Dot(ReadOnlySpan{float}, ReadOnlySpan{float})"/>),
    /// ties to the smaller row number (<see cref="TopKCollector"/>). Parallel over blocks of 16 queries; each block
    /// scans the rows once, so a row is read from memory once per block rather than once per query.</summary>
    public static int[] ExactTopK(float[] rows, int count, int dims, float[] queries, int queryCount, int k)
    {
        const int Block = 16;
        var truth = new int[queryCount * k];
        int blocks = (queryCount + Block - 1) / Block;
        int done = 0;
        var clock = Stopwatch.StartNew();
        Parallel.For(0, blocks, b =>
        {
            int q0 = b * Block, qn = Math.Min(Block, queryCount - q0);
            var tops = new TopKCollector[qn];
            for (int i = 0; i < qn; i++) tops[i] = new TopKCollector(k);
            for (int d = 0; d < count; d++)
            {
                var row = rows.AsSpan(d * dims, dims);
                for (int i = 0; i < qn; i++)
                {
                    float score = TensorPrimitives.Dot(row, queries.AsSpan((q0 + i) * dims, dims));
                    if (score >= tops[i].Threshold) tops[i].Collect(d, score);
                }
            }
            var scores = new float[k];
            for (int i = 0; i < qn; i++)
            {
                int n = tops[i].DrainInto(truth.AsSpan((q0 + i) * k, k), scores);
                if (n < k) truth.AsSpan((q0 + i) * k + n, k - n).Fill(-1);
            }
            int finished = Interlocked.Increment(ref done);
            if (blocks >= 10 && finished % Math.Max(1, blocks / 10) == 0)
                Console.Error.WriteLine(Fmt($"ground truth: {finished}/{blocks} query blocks, {clock.Elapsed.TotalSeconds:F0} s"));
        });
        return truth;
    }

    private static string Fmt(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
