using System.ComponentModel;
using Spectre.Console.Cli;

namespace Relevo.Cli.Commands;

internal sealed class IndexCommand : Command<IndexCommand.Settings>
{
    public sealed class Settings : DatasetSettings
    {
        [CommandOption("--index <DIR>")]
        [Description("Index folder; created if absent, otherwise the documents are added to it.")]
        public string IndexDir { get; init; } = "";

        [CommandOption("--analyzer <NAME>")]
        [Description("english (Lucene's EnglishAnalyzer: stop words, Porter stemming) or lowercase. Only for a new index.")]
        [DefaultValue("english")]
        public string Analyzer { get; init; } = "english";

        [CommandOption("--replace")]
        [Description("A document whose _id is already indexed replaces it (otherwise a duplicate _id is an error).")]
        public bool Replace { get; init; }

        [CommandOption("--ram-mb <MB>")]
        [Description("Memory for buffered documents before a segment is written.")]
        [DefaultValue(256)]
        public int RamMb { get; init; } = 256;

        [CommandOption("--dense <MODEL>")]
        [Description("Also store vectors of this model (arctic-xs, minilm, or a model folder); only segments without them are encoded.")]
        public string? Dense { get; init; }

        [CommandOption("--hnsw-m <M>")]
        [Description(GraphFlags.MDescription)]
        [DefaultValue(Relevo.Dense.HnswParameters.DefaultM)]
        public int HnswM { get; init; } = Relevo.Dense.HnswParameters.DefaultM;

        [CommandOption("--hnsw-ef-construction <N>")]
        [Description(GraphFlags.EfDescription)]
        [DefaultValue(Relevo.Dense.HnswParameters.DefaultEfConstruction)]
        public int HnswEfConstruction { get; init; } = Relevo.Dense.HnswParameters.DefaultEfConstruction;

        [CommandOption("--shards <N>")]
        [Description("Create (or add to) a sharded index of N shards: one ordinary index folder per shard, documents routed by a stable hash of _id, and cluster.json naming each cluster-wide commit. Served by `relevo silo`/`relevo serve --cluster`, or searched in process by search/run.")]
        public int? Shards { get; init; }

        [CommandOption("--impacts <MODEL>")]
        [Description("bm25: also store each posting's BM25 score quantized to --bits (PISA-style impacts); `bm25` then scores by them (faster; bm25(impacts=false) stays exact). Rebuilt over the whole index (every shard) after the documents are added.")]
        public string? Impacts { get; init; }

        [CommandOption("--fields")]
        [Description("Also index title and text as fields of their own (postings and length norms per field, beside the concatenated field every index has), for multi-field BM25: bm25(fields=[[title,text]]). Without --dataset/--corpus: builds them for an existing index.")]
        public bool Fields { get; init; }

        [CommandOption("--positions")]
        [Description("Also keep term positions (for phrase queries, \"a b\" and \"a b\"~N) of the concatenated field, and of title and text with --fields, and of keys declared text. Without --dataset/--corpus: builds them for an existing index.")]
        public bool Positions { get; init; }

        [CommandOption("--positions-fields <FIELDS>")]
        [Description("With --positions: only these fields, comma-separated (contents for the concatenated field, title, text, keys declared text); default: every text field the index has. Positions cost about 15% of the index.")]
        public string? PositionsFields { get; init; }

        [CommandOption("--schema <FILE>")]
        [Description("Types of the documents' other keys (beside _id, title, text), for filters, sorting and facets: a JSON object {\"year\": \"integer\", \"lang\": \"keyword\"} (keyword, integer, float, date, boolean; arrays hold several values). Keys it does not name are typed by their first value. Without --dataset/--corpus: declares them for an existing index.")]
        public string? Schema { get; init; }

        [CommandOption("--bits <N>")]
        [Description("Bits of the quantized impacts (1 to 8).")]
        [DefaultValue(8)]
        public int Bits { get; init; } = 8;

        [CommandOption("--vectors <FILE>")]
        [Description("A pre-encoded learned sparse corpus (Anserini's JsonVectorCollection: {\"id\",\"contents\",\"vector\":{term: weight}} per line, .gz too) into a new impact index (whitespace analyzer); search it with `impact`, or `sparse(model=DIR)` for text queries.")]
        public string? Vectors { get; init; }

        [CommandOption("--merge <WHEN>")]
        [Description("final: the segments this run writes are merged into one when it commits (what was indexed before is not rewritten); log: Lucene's log merge policy at the commit (ten segments of one size become one); none: segments stay as written (`relevo optimize` merges them later).")]
        [DefaultValue("final")]
        public string Merge { get; init; } = "final";

        public override Spectre.Console.ValidationResult Validate() =>
            IndexDir.Length == 0 ? Spectre.Console.ValidationResult.Error("--index is required")
            : Merge is not ("final" or "log" or "none") ? Spectre.Console.ValidationResult.Error($"--merge: '{Merge}' is not one of final, log, none")
            : GraphFlags.Validate(HnswM, HnswEfConstruction) is { Successful: false } bad ? bad
            : Impacts is not (null or "bm25") ? Spectre.Console.ValidationResult.Error($"--impacts: '{Impacts}' is not a known model (bm25); pre-encoded weights come with --vectors")
            : Bits is < 1 or > 8 ? Spectre.Console.ValidationResult.Error($"--bits: {Bits} is outside 1..8")
            : Vectors is not null && (Dataset is not null || Corpus is not null) ? Spectre.Console.ValidationResult.Error("--vectors is the corpus: give it instead of --dataset/--corpus")
            : Vectors is not null && (Impacts is not null || Dense is not null || Fields || Positions) ? Spectre.Console.ValidationResult.Error("--vectors builds an index of pre-encoded weights: --impacts, --fields, --positions and --dense do not apply")
            : PositionsFields is not null && !Positions ? Spectre.Console.ValidationResult.Error("--positions-fields goes with --positions")
            : base.Validate();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        if (settings.Vectors is { } vectors) return IndexVectors(settings, vectors, cancellation);
        if ((settings.Impacts is not null || settings.Fields || settings.Positions || settings.Schema is not null) && settings.Dataset is null && settings.Corpus is null)
        {
            // no documents to add: (re)build the impacts or fields of the index as it is
            if (!Relevo.Index.Manifest.Exists(settings.IndexDir) && !Relevo.Sharding.ShardedManifest.Exists(settings.IndexDir))
                throw new RelevoException($"{settings.IndexDir}: no index here; give --dataset or --corpus to create one");
            using var existing = SearchIndex.OpenWriter(settings.IndexDir, new WriterOptions { CommitStage = CliHost.CommitStageHook() }, CliIndex.Extensions());
            if (settings.Schema is { } declared)
            {
                DeclareSchema(existing, declared);
                existing.Commit();
                PrintSchema(existing);
            }
            if (settings.Fields) BuildFields(existing, cancellation);
            if (settings.Positions) BuildPositions(existing, settings.PositionsFields, cancellation);
            if (settings.Impacts is not null) BuildImpacts(existing, Relevo.Index.Impacts.ImpactModel.Bm25, settings.Bits, 0, cancellation);
            return 0;
        }
        string corpus = settings.CorpusPath();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var writer = SearchIndex.OpenWriter(settings.IndexDir, Options(settings, settings.Analyzer, settings.Replace), CliIndex.Extensions());
        long added;
        try
        {
            if (settings.Schema is { } declared) DeclareSchema(writer, declared);
            added = ProgressReporter.Run("index", "docs", report =>
                writer.AddCorpus(corpus, (fraction, docs) => report(fraction, 1, docs)));
        }
        catch (RelevoException e) when (!e.Message.Contains("nothing was committed", StringComparison.Ordinal))
        {
            throw new RelevoException($"{e.Message}; nothing was committed (the index is as it was)", e);
        }
        long version = settings.Merge == "final" ? writer.CommitMerged() : writer.Commit();
        bool sharded = Relevo.Sharding.ShardedManifest.Exists(settings.IndexDir);
        Console.WriteLine($"indexed {added:N0} documents from {corpus} into {settings.IndexDir} " +
                          (sharded
                              ? $"({Relevo.Sharding.ShardedManifest.Read(settings.IndexDir).ShardCount} shards, {writer.LiveDocs:N0} live documents, cluster version {version}) "
                              : $"({writer.LiveDocs:N0} live documents) ") +
                          $"in {clock.Elapsed.TotalSeconds:N1} s");
        PrintSchema(writer);
        if (settings.Fields) BuildFields(writer, cancellation);
        if (settings.Positions) BuildPositions(writer, settings.PositionsFields, cancellation);
        if (settings.Impacts is not null) BuildImpacts(writer, Relevo.Index.Impacts.ImpactModel.Bm25, settings.Bits, 0, cancellation);
        if (settings.Dense is { } dense)
        {
            using var model = Relevo.Dense.EmbeddingModel.Load(dense);
            DenseCommand.Run(writer, model, GraphFlags.Parameters(settings.HnswM, settings.HnswEfConstruction));
        }
        return 0;
    }

    /// <summary>The writer the command's settings ask for, with this analyzer (for a new index) and duplicate-id rule.</summary>
    private static WriterOptions Options(Settings settings, string analyzer, bool replace) => new()
    {
        Analyzer = analyzer,
        Shards = settings.Shards,
        ReplaceExisting = replace,
        RamBudgetBytes = (long)settings.RamMb << 20,
        CommitStage = CliHost.CommitStageHook(),
        MergeSegments = settings.Merge == "log",
    };

    /// <summary>The index's writer, or each shard's.</summary>
    private static List<Relevo.Index.IndexWriter> IndexWriters(DocumentWriter writer)
    {
        var writers = new List<Relevo.Index.IndexWriter>();
        writer.ForEachIndexWriter((w, _) => writers.Add(w));
        return writers;
    }

    private static void DeclareSchema(DocumentWriter writer, string path) => writer.ForEachIndexWriter((w, _) => w.DeclareSchema(path));

    /// <summary>"typed fields: lang (keyword), year (integer)" when the index has any.</summary>
    private static void PrintSchema(DocumentWriter writer)
    {
        var types = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var text = new SortedSet<string>(StringComparer.Ordinal);
        writer.ForEachIndexWriter((w, _) =>
        {
            foreach (var (f, t) in w.Schema.Valued) types[f] = Relevo.Index.Values.Schema.Name(t);
            foreach (var f in w.Schema.TextFields) text.Add(f);
        });
        if (types.Count > 0) Console.WriteLine("typed fields: " + string.Join(", ", types.Select(t => $"{t.Key} ({t.Value})")));
        if (text.Count > 0) Console.WriteLine("text fields: title, text, " + string.Join(", ", text));
    }

    private static void BuildFields(DocumentWriter writer, CancellationToken cancellation)
    {
        var writers = IndexWriters(writer);
        var result = ProgressReporter.Run("fields", "docs", report =>
            Relevo.Index.Fields.FieldIndexer.Build(writers, (fraction, n) => report(fraction, 1, n), cancellation));
        if (result.SegmentsWritten > 0) writer.Commit();
        Console.WriteLine($"fields: title, text; {result.SegmentsWritten} segment(s) written, {result.SegmentsCurrent} already current, " +
                          $"{result.Documents:N0} documents in {result.Elapsed.TotalSeconds:N1} s");
    }

    private static void BuildPositions(DocumentWriter writer, string? fields, CancellationToken cancellation)
    {
        var writers = IndexWriters(writer);
        var only = fields?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (written, current) = ProgressReporter.Run("positions", "docs", report =>
            Relevo.Index.Positions.PositionsIndexer.Build(writers, (fraction, n) => report(fraction, 1, n), cancellation, only));
        if (written > 0) writer.Commit();
        Console.WriteLine($"positions: {written} segment(s) written, {current} already current, in {clock.Elapsed.TotalSeconds:N1} s");
    }

    private static void BuildImpacts(DocumentWriter writer, Relevo.Index.Impacts.ImpactModel model, int bits, double maximum, CancellationToken cancellation)
    {
        var writers = IndexWriters(writer);
        var result = ProgressReporter.Run("impacts", "postings", report =>
            Relevo.Search.Impacts.ImpactBuilder.Build(writers, model, bits, default, maximum, (fraction, n) => report(fraction, 1, n), cancellation));
        if (result.SegmentsWritten > 0) writer.Commit();
        Console.WriteLine($"impacts: {result.Settings}; {result.SegmentsWritten} segment(s) written, {result.SegmentsCurrent} already current, " +
                          $"{result.Postings:N0} postings in {result.Elapsed.TotalSeconds:N1} s");
    }

    /// <summary>--vectors: a new index of a pre-encoded corpus's quantized weights (whitespace analyzer).</summary>
    private static int IndexVectors(Settings settings, string vectors, CancellationToken cancellation)
    {
        if (Relevo.Index.Manifest.Exists(settings.IndexDir) || Relevo.Sharding.ShardedManifest.Exists(settings.IndexDir))
            throw new RelevoException($"{settings.IndexDir}: an index is there already; an index of pre-encoded vectors is built in one run " +
                                      "(the weights are quantized over the whole corpus), so give a new --index folder");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var scan = ProgressReporter.Run("check", "docs", report =>
            Relevo.Index.Impacts.VectorCorpus.Measure(vectors, (fraction, n) => report(fraction, 1, n)));
        using var writer = SearchIndex.OpenWriter(settings.IndexDir, Options(settings, "whitespace", replace: false), CliIndex.Extensions());
        var lines = new Queue<(int Line, double Fraction)>();
        long added = 0;
        try
        {
            ProgressReporter.Run("index", "docs", report =>
                writer.AddRange(Relevo.Index.Impacts.VectorCorpus.Documents(vectors, scan, settings.Bits, lines), n =>
                {
                    var (_, fraction) = lines.Dequeue();
                    added = n;
                    if ((n & 255) == 0) report(fraction, 1, n);
                }));
        }
        catch (Relevo.Index.DuplicateDocumentIdException e)
        {
            throw new RelevoException($"{vectors}:{lines.Peek().Line}: field id: {e.Message}; nothing was committed", e);
        }
        if (settings.Merge == "final") writer.CommitMerged(); else writer.Commit();
        Console.WriteLine($"indexed {added:N0} pre-encoded documents from {vectors} into {settings.IndexDir} in {clock.Elapsed.TotalSeconds:N1} s " +
                          $"(largest weight {scan.Maximum:0.####}, {(scan.Integers && scan.Maximum <= (1 << settings.Bits) - 1 ? "integer weights kept as they are" : $"weights quantized to {settings.Bits} bits")})");
        BuildImpacts(writer, Relevo.Index.Impacts.ImpactModel.Weights, settings.Bits, scan.Maximum, cancellation);
        return 0;
    }
}
