using System.Collections.Concurrent;
using Microsoft.ML.OnnxRuntime;
using Relevo.Dense.Tokenization;

namespace Relevo.Dense;

/// <summary>A BERT-style cross-encoder from a folder holding <c>model.onnx</c> (or <c>onnx/model.onnx</c>) and
/// <c>vocab.txt</c> or a WordPiece <c>tokenizer.json</c> (e.g. an ONNX export of cross-encoder/ms-marco-MiniLM-L-6-v2): <c>[CLS] query [SEP] passage [SEP]</c> with token types 0/1, at most
/// 512 tokens (the passage is cut first), and the relevance logit as the score (the last label when there are
/// two or more). Loaded once per folder per process; thread-safe.</summary>
internal sealed class CrossEncoder
{
    private static readonly ConcurrentDictionary<string, Lazy<CrossEncoder>> Loaded = new(StringComparer.Ordinal);
    private readonly InferenceSession _session;
    private readonly WordPieceTokenizer _tokenizer;
    private readonly bool _hasTokenTypes;
    private readonly string _output;
    private readonly int _labels;
    public const int MaxTokens = 512;

    public static CrossEncoder Load(string folder)
    {
        string full = Path.GetFullPath(folder);
        var lazy = Loaded.GetOrAdd(full, f => new Lazy<CrossEncoder>(() => new CrossEncoder(f)));
        try { return lazy.Value; }
        catch (RelevoException) { Loaded.TryRemove(full, out _); throw; }
    }

    private CrossEncoder(string folder)
    {
        string onnx = ModelFolder.FindOnnx(folder)
            ?? throw new RelevoException($"{folder}: cross-encoder: {ModelFolder.OnnxMissing(folder)} (the folder needs model.onnx and vocab.txt or tokenizer.json)");
        string tokenizer = ModelFolder.FindTokenizer(folder)
            ?? throw new RelevoException($"{folder}: cross-encoder: {ModelFolder.TokenizerMissing(folder)} (the folder needs model.onnx and vocab.txt or tokenizer.json)");
        var source = ModelFolder.ReadTokenizer(tokenizer);
        _tokenizer = source.Build(source.Lowercase ?? true);
        try { _session = new InferenceSession(onnx); }
        catch (OnnxRuntimeException e) { throw new RelevoException($"{onnx}: ONNX Runtime cannot load the model: {e.Message}"); }
        var inputs = _session.InputMetadata;
        foreach (string required in new[] { "input_ids", "attention_mask" })
            if (!inputs.ContainsKey(required))
                throw new RelevoException($"{onnx}: the model has no '{required}' input (inputs: {string.Join(", ", inputs.Keys)})");
        _hasTokenTypes = inputs.ContainsKey("token_type_ids");
        _output = _session.OutputMetadata.ContainsKey("logits") ? "logits" : _session.OutputMetadata.Keys.First();
        int[] dims = _session.OutputMetadata[_output].Dimensions;
        if (dims.Length != 2 || dims[1] < 1)
        {
            _session.Dispose();
            throw new RelevoException($"{onnx}: output '{_output}' has shape [{string.Join(",", dims)}]; a cross-encoder gives [batch, labels] logits");
        }
        _labels = dims[1];
    }

    /// <summary>The score of each passage for the query.</summary>
    public float[] Score(string query, IReadOnlyList<string> passages, int batch = 16)
    {
        var scores = new float[passages.Count];
        var q = new List<int>();
        _tokenizer.Tokenize(query, q, MaxTokens / 2);
        for (int b0 = 0; b0 < passages.Count; b0 += batch)
        {
            int count = Math.Min(batch, passages.Count - b0);
            var rows = new List<int>[count];
            int len = 0;
            for (int j = 0; j < count; j++)
            {
                var row = new List<int>(MaxTokens) { _tokenizer.ClsId };
                row.AddRange(q);
                row.Add(_tokenizer.SepId);
                _tokenizer.Tokenize(passages[b0 + j], row, MaxTokens - row.Count - 1);
                row.Add(_tokenizer.SepId);
                rows[j] = row;
                len = Math.Max(len, row.Count);
            }
            long[] ids = new long[count * len], mask = new long[count * len], types = new long[count * len];
            for (int j = 0; j < count; j++)
                for (int p = 0; p < rows[j].Count; p++)
                {
                    ids[j * len + p] = rows[j][p];
                    mask[j * len + p] = 1;
                    types[j * len + p] = p > q.Count + 1 ? 1 : 0;
                }
            long[] shape = [count, len];
            using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, shape);
            using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, shape);
            using var typesValue = OrtValue.CreateTensorValueFromMemory(types, shape);
            string[] names = _hasTokenTypes ? ["input_ids", "attention_mask", "token_type_ids"] : ["input_ids", "attention_mask"];
            OrtValue[] values = _hasTokenTypes ? [idsValue, maskValue, typesValue] : [idsValue, maskValue];
            using var runOptions = new Microsoft.ML.OnnxRuntime.RunOptions();
            using var outputs = _session.Run(runOptions, names, values, [_output]);
            var logits = outputs[0].GetTensorDataAsSpan<float>();
            for (int j = 0; j < count; j++) scores[b0 + j] = logits[j * _labels + _labels - 1];
        }
        return scores;
    }
}
