using System.Buffers;
using System.IO.Hashing;
using System.Numerics.Tensors;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Relevo.Dense.Tokenization;

namespace Relevo.Dense;

/// <summary>A SPLADE-style sparse encoder: a BERT masked language model (e.g. an ONNX export of
/// naver/splade-cocondenser-ensembledistil) run in-process with ONNX Runtime, whose <c>logits</c> are max-pooled
/// over the tokens into one weight per vocabulary entry, <c>log(1 + max(0, logit))</c>. The model folder holds
/// <c>model.onnx</c> (or <c>onnx/model.onnx</c>), <c>vocab.txt</c> or a WordPiece <c>tokenizer.json</c>, and optionally
/// <c>relevo-model.json</c> (maxTokens, lowercase; tokenizer.json's normalizer gives the default lowercase). One inference
/// session is kept for the encoder's lifetime; <see cref="Encode"/> is thread-safe.</summary>
internal sealed class SparseEncoder : IDisposable
{
    private readonly InferenceSession _session;
    private readonly SessionOptions _sessionOptions;
    private readonly WordPieceTokenizer _tokenizer;
    private readonly string _onnx;
    private readonly string _vocabFile;
    private readonly string _outputName;
    private readonly bool _hasAttentionMask;
    private readonly bool _hasTokenTypes;
    private readonly int _maxTokens;

    /// <summary>The model folder (full path).</summary>
    public string Folder { get; }

    /// <summary>Identifies the exact weights, vocabulary and settings (a hash of model.onnx, the tokenizer file and the
    /// configuration), computed when first asked for: hashing the model file is not part of loading it.</summary>
    public string Fingerprint => _fingerprint.Value;

    private readonly Lazy<string> _fingerprint;

    /// <summary>The number of vocabulary entries (lines of vocab.txt, entries of tokenizer.json), which is also the model's logits width.</summary>
    public int VocabularySize { get; }

    private SparseEncoder(string folder, string onnx, TokenizerSource vocab, ModelConfig config, int threads)
    {
        Folder = folder;
        _maxTokens = config.MaxTokens;
        _onnx = onnx;
        _vocabFile = Path.GetFileName(vocab.Path);
        _tokenizer = vocab.Build(config.Lowercase);
        VocabularySize = _tokenizer.VocabularySize;
        (_session, _sessionOptions) = OnnxSessions.Open(_onnx, threads);
        try
        {
            (_hasAttentionMask, _hasTokenTypes) = CheckInputs();
            _outputName = CheckOutput();
        }
        catch
        {
            _session.Dispose();
            _sessionOptions.Dispose();
            throw;
        }
        _fingerprint = new Lazy<string>(() => ComputeFingerprint(onnx, vocab, config));
    }

    /// <summary>Loads a model folder: <c>model.onnx</c> (int64 inputs <c>input_ids</c>, <c>attention_mask</c> and
    /// optionally <c>token_type_ids</c>; float output <c>logits</c> [batch, tokens, vocabulary]), <c>vocab.txt</c> or <c>tokenizer.json</c> and
    /// optionally <c>relevo-model.json</c>.</summary>
    /// <param name="threads">ONNX Runtime intra-op threads; 0 = one per core.</param>
    public static SparseEncoder Load(string folder, int threads = 0)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!Directory.Exists(folder)) throw new RelevoException($"{folder}: sparse model folder does not exist");
        string full = Path.GetFullPath(folder);
        string onnx = ModelFolder.FindOnnx(full)
            ?? throw new RelevoException($"{full}: sparse model: {ModelFolder.OnnxMissing(full)} (the folder needs model.onnx and vocab.txt or tokenizer.json)");
        string tokenizer = ModelFolder.FindTokenizer(full)
            ?? throw new RelevoException($"{full}: sparse model: {ModelFolder.TokenizerMissing(full)} (the folder needs model.onnx and vocab.txt or tokenizer.json)");
        var vocab = ModelFolder.ReadTokenizer(tokenizer);
        string configPath = Path.Combine(full, ModelConfig.FileName);
        string folderName = Path.GetFileName(Path.TrimEndingDirectorySeparator(full));
        // The name does not matter here; a folder name that is not a valid model name must not fail the load.
        var defaults = new ModelConfig { Name = ModelConfig.IsValidName(folderName) ? folderName : "sparse", Lowercase = vocab.Lowercase ?? true };
        var config = File.Exists(configPath) ? ModelConfig.Read(configPath, defaults) : defaults;
        return new SparseEncoder(full, onnx, vocab, config, threads);
    }

    private (bool Mask, bool Types) CheckInputs()
    {
        var inputs = _session.InputMetadata;
        if (!inputs.ContainsKey("input_ids"))
            throw new RelevoException($"{_onnx}: the model has no 'input_ids' input (inputs: {string.Join(", ", inputs.Keys)})");
        foreach (var (name, meta) in inputs)
        {
            if (name is not ("input_ids" or "attention_mask" or "token_type_ids"))
                throw new RelevoException($"{_onnx}: input '{name}' is not one the sparse encoder feeds (input_ids, attention_mask, token_type_ids)");
            if (!meta.IsTensor || meta.ElementDataType != TensorElementType.Int64)
                throw new RelevoException($"{_onnx}: input '{name}' is {meta.ElementDataType}; int64 is expected");
        }
        return (inputs.ContainsKey("attention_mask"), inputs.ContainsKey("token_type_ids"));
    }

    private string CheckOutput()
    {
        var outputs = _session.OutputMetadata;
        string name = outputs.ContainsKey("logits") ? "logits" : outputs.Keys.FirstOrDefault()
            ?? throw new RelevoException($"{_onnx}: the model has no outputs");
        var meta = outputs[name];
        int[] dims = meta.Dimensions;
        if (!meta.IsTensor || meta.ElementDataType != TensorElementType.Float || dims.Length != 3)
            throw new RelevoException($"{_onnx}: output '{name}' is {meta.ElementDataType} [{string.Join(",", dims)}]; a masked language model gives float logits [batch, tokens, vocabulary]");
        // A symbolic last dimension (-1) is checked on every run instead.
        if (dims[2] > 0 && dims[2] != VocabularySize)
            throw new RelevoException($"{_onnx}: output '{name}' has {dims[2]} vocabulary entries but {_vocabFile} has {VocabularySize}");
        return name;
    }

    private static string ComputeFingerprint(string onnx, TokenizerSource vocab, ModelConfig config)
    {
        var hash = new XxHash64();
        hash.Append("sparse\n"u8);
        using (var f = new FileStream(onnx, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20))
            hash.Append(f);
        // vocab.txt as it always was; a tokenizer.json under its own label
        hash.Append(vocab.IsTokenizerJson ? "\ntokenizer.json\n"u8 : "\nvocab\n"u8);
        using (var f = new FileStream(vocab.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
            hash.Append(f);
        hash.Append(System.Text.Encoding.UTF8.GetBytes($"\nmaxTokens={config.MaxTokens}\nlowercase={config.Lowercase}"));
        return hash.GetCurrentHashAsUInt64().ToString("x16");
    }

    /// <summary>The sparse vector of a text: <c>[CLS] tokens [SEP]</c> (truncated to maxTokens) through the model,
    /// then for each vocabulary entry v, weight(v) = max over the tokens i of log(1 + max(0, logits[i, v])). Returns
    /// the <paramref name="topTerms"/> entries of largest positive weight, in descending weight order (ties by
    /// smaller vocabulary id), as vocabulary tokens (pieces keep their <c>##</c>).</summary>
    public IReadOnlyList<(string Term, float Weight)> Encode(string text, int topTerms = 256)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfNegative(topTerms);
        var tokens = new List<int>(Math.Min(_maxTokens, 64));
        _tokenizer.Encode(text, tokens, _maxTokens);
        int len = tokens.Count;
        long[] ids = new long[len], mask = new long[len], types = new long[len];
        for (int p = 0; p < len; p++)
        {
            ids[p] = tokens[p];
            mask[p] = 1;
        }

        int vocabulary = VocabularySize;
        float[] weights = ArrayPool<float>.Shared.Rent(vocabulary);
        int[] candidates = ArrayPool<int>.Shared.Rent(vocabulary);
        try
        {
            MaxLogits(ids, mask, types, weights.AsSpan(0, vocabulary));
            // log(1 + max(0, x)) is increasing in x, so the max over tokens can be taken on the logits first.
            int count = 0;
            for (int v = 0; v < vocabulary; v++)
            {
                float x = weights[v];
                if (!(x > 0)) continue;
                weights[v] = Log1P(x);
                if (weights[v] > 0) candidates[count++] = v;
            }
            var kept = candidates.AsSpan(0, count);
            kept.Sort((a, b) =>
            {
                int c = weights[b].CompareTo(weights[a]);
                return c != 0 ? c : a.CompareTo(b);
            });
            int n = Math.Min(count, topTerms);
            var result = new (string Term, float Weight)[n];
            for (int k = 0; k < n; k++) result[k] = (_tokenizer.IdToToken(kept[k]), weights[kept[k]]);
            return result;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(candidates);
            ArrayPool<float>.Shared.Return(weights);
        }
    }

    /// <summary>Runs one sequence and writes, for each vocabulary entry, the largest logit over the unmasked tokens.</summary>
    private void MaxLogits(long[] ids, long[] mask, long[] types, Span<float> max)
    {
        int len = ids.Length, vocabulary = max.Length;
        long[] shape = [1, len];
        using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, shape);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, shape);
        using var typesValue = OrtValue.CreateTensorValueFromMemory(types, shape);
        var names = new List<string>(3) { "input_ids" };
        var values = new List<OrtValue>(3) { idsValue };
        if (_hasAttentionMask) { names.Add("attention_mask"); values.Add(maskValue); }
        if (_hasTokenTypes) { names.Add("token_type_ids"); values.Add(typesValue); }
        using var runOptions = new Microsoft.ML.OnnxRuntime.RunOptions();
        using var outputs = _session.Run(runOptions, names, values, [_outputName]);
        long[] outShape = outputs[0].GetTensorTypeAndShape().Shape;
        if (outShape.Length != 3 || outShape[0] != 1 || outShape[1] != len || outShape[2] != vocabulary)
            throw new RelevoException($"{_onnx}: output '{_outputName}' came back [{string.Join(",", outShape)}] for one sequence of {len} tokens; expected [1,{len},{vocabulary}] ({_vocabFile} has {vocabulary} entries)");
        ReadOnlySpan<float> logits = outputs[0].GetTensorDataAsSpan<float>();
        max.Fill(float.NegativeInfinity);
        for (int p = 0; p < len; p++)
        {
            if (mask[p] == 0) continue;
            TensorPrimitives.Max(max, logits.Slice(p * vocabulary, vocabulary), max);
        }
    }

    /// <summary>log(1 + x), accurate for small x as well (float's 1 + x would round them away).</summary>
    private static float Log1P(float x)
    {
        double u = 1.0 + x;
        return (float)(u == 1.0 ? x : Math.Log(u) * x / (u - 1.0));
    }

    /// <summary>Releases the ONNX Runtime session.</summary>
    public void Dispose()
    {
        _session.Dispose();
        _sessionOptions.Dispose();
    }
}
