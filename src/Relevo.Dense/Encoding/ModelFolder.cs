using System.IO.Hashing;
using System.Text.Json;
using System.Text.Json.Serialization;
using Relevo.Dense.Tokenization;

namespace Relevo.Dense;

/// <summary>A WordPiece vocabulary and its settings as a tokenizer file gives them (<c>tokenizer.json</c> or
/// <c>vocab.txt</c>), before the effective lower-casing is known.</summary>
/// <param name="Lowercase">What the file says about lower-casing (tokenizer.json's normalizer); null for vocab.txt.</param>
internal sealed record TokenizerSource(string Path, IReadOnlyList<string> Vocabulary, bool? Lowercase, string UnknownToken,
    int MaxInputCharsPerWord)
{
    /// <summary>Whether this is a Hugging Face tokenizer.json (rather than a vocab.txt).</summary>
    public bool IsTokenizerJson => System.IO.Path.GetFileName(Path) == ModelFolder.TokenizerJson;

    public WordPieceTokenizer Build(bool lowercase) => new(Vocabulary, lowercase, Path, UnknownToken, MaxInputCharsPerWord);

    /// <summary>Adds the tokenizer file to a fingerprint: vocab.txt as it always was (so existing caches stay valid),
    /// tokenizer.json by its bytes.</summary>
    public void AppendTo(XxHash64 hash)
    {
        if (IsTokenizerJson)
        {
            hash.Append("tokenizer.json\n"u8);
            using var f = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            hash.Append(f);
        }
        else
        {
            hash.Append(System.Text.Encoding.UTF8.GetBytes(string.Join('\n', "vocab", File.ReadAllText(Path))));
        }
    }
}

/// <summary>What a loaded embedding-model folder amounts to.</summary>
/// <param name="Onnx">The model file (model.onnx or onnx/model.onnx).</param>
/// <param name="Config">The effective settings: relevo-model.json over the Sentence-Transformers files over defaults.</param>
/// <param name="Dimensions">Embedding widths the folder's files state (file and field, width), checked against the
/// model's output.</param>
internal sealed record ModelFolderContents(string Folder, string Onnx, ModelConfig Config, TokenizerSource TokenizerSource,
    WordPieceTokenizer Tokenizer, IReadOnlyList<(string Source, int Width)> Dimensions)
{
    /// <summary>The embedding cache key's model part: a hash of the weights, the effective settings and the tokenizer
    /// file.</summary>
    public string ComputeFingerprint()
    {
        var hash = new XxHash64();
        using (var f = new FileStream(Onnx, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20))
            hash.Append(f);
        hash.Append(System.Text.Encoding.UTF8.GetBytes(Config.ToJson()));
        TokenizerSource.AppendTo(hash);
        return hash.GetCurrentHashAsUInt64().ToString("x16");
    }
}

/// <summary>Turns a model folder into what <see cref="EmbeddingModel"/> runs. Two layouts are accepted, and mixed:
/// Relevo's (<c>model.onnx</c>, <c>vocab.txt</c>, optionally <c>relevo-model.json</c>) and a Sentence-Transformers /
/// Hugging Face export (<c>tokenizer.json</c> with a WordPiece model, <c>config.json</c>, <c>modules.json</c>,
/// <c>1_Pooling/config.json</c>, <c>sentence_bert_config.json</c>, <c>config_sentence_transformers.json</c>, and
/// <c>onnx/model.onnx</c> or <c>model.onnx</c>). tokenizer.json is preferred to vocab.txt when both are present;
/// relevo-model.json wins for every field it sets. What Relevo cannot run the same way as Python would (another
/// tokenizer type, pooling other than CLS or mean, extra modules such as Dense) is refused with a
/// <see cref="RelevoException"/> naming the file and field.</summary>
internal static class ModelFolder
{
    public const string TokenizerJson = "tokenizer.json";
    public const string VocabTxt = "vocab.txt";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>The model's name without loading it: relevo-model.json's name, else the folder's name.</summary>
    public static string Name(string folder)
    {
        string full = Path.GetFullPath(folder);
        string defaultName = Path.GetFileName(Path.TrimEndingDirectorySeparator(full));
        string configPath = Path.Combine(full, ModelConfig.FileName);
        return File.Exists(configPath) ? ModelConfig.Read(configPath, defaultName).Name : defaultName;
    }

    /// <summary>The ONNX file: <c>model.onnx</c> at the root, else <c>onnx/model.onnx</c> (Hugging Face Optimum's
    /// place); null when neither exists.</summary>
    public static string? FindOnnx(string folder)
    {
        string root = Path.Combine(folder, "model.onnx"), optimum = Path.Combine(folder, "onnx", "model.onnx");
        return File.Exists(root) ? root : File.Exists(optimum) ? optimum : null;
    }

    /// <summary>The sentence naming both places <see cref="FindOnnx"/> looked at.</summary>
    public static string OnnxMissing(string folder) =>
        $"model.onnx is missing (looked for {Path.Combine(folder, "model.onnx")} and {Path.Combine(folder, "onnx", "model.onnx")})";

    /// <summary>tokenizer.json if present, else vocab.txt if present, else null.</summary>
    public static string? FindTokenizer(string folder)
    {
        string json = Path.Combine(folder, TokenizerJson), vocab = Path.Combine(folder, VocabTxt);
        return File.Exists(json) ? json : File.Exists(vocab) ? vocab : null;
    }

    /// <summary>The sentence naming both places <see cref="FindTokenizer"/> looked at.</summary>
    public static string TokenizerMissing(string folder) =>
        $"the tokenizer is missing (looked for {Path.Combine(folder, TokenizerJson)} and {Path.Combine(folder, VocabTxt)})";

    /// <summary>Opens a folder. With <paramref name="config"/> given (a built-in model) its files' settings are not
    /// read.</summary>
    public static ModelFolderContents Open(string folder, ModelConfig? config = null)
    {
        folder = Path.GetFullPath(folder);
        string? onnx = FindOnnx(folder), tokenizerPath = FindTokenizer(folder);
        if (onnx is null || tokenizerPath is null)
        {
            var missing = new List<string>(2);
            if (onnx is null) missing.Add(OnnxMissing(folder));
            if (tokenizerPath is null) missing.Add(TokenizerMissing(folder));
            throw new RelevoException($"{folder}: not a model folder: {string.Join("; ", missing)}. A model folder holds model.onnx " +
                "and vocab.txt (and optionally relevo-model.json), or a Sentence-Transformers / Hugging Face export (tokenizer.json, " +
                "config.json, modules.json, 1_Pooling/config.json, onnx/model.onnx)");
        }
        var source = ReadTokenizer(tokenizerPath);
        // Built first so that a vocabulary without its special tokens is reported before the settings are read.
        var tokenizer = source.Build(config?.Lowercase ?? source.Lowercase ?? true);
        var dims = new List<(string, int)>();
        config ??= ReadConfig(folder, source, dims);
        if (config.Lowercase != tokenizer.Lowercase) tokenizer = source.Build(config.Lowercase);
        return new ModelFolderContents(folder, onnx, config, source, tokenizer, dims);
    }

    /// <summary>The effective settings: defaults, then what the Sentence-Transformers files say, then relevo-model.json.</summary>
    private static ModelConfig ReadConfig(string folder, TokenizerSource source, List<(string, int)> dims)
    {
        string relevoPath = Path.Combine(folder, ModelConfig.FileName);
        var relevo = File.Exists(relevoPath) ? ModelConfig.ReadOverrides(relevoPath) : null;
        var config = new ModelConfig { Name = Path.GetFileName(Path.TrimEndingDirectorySeparator(folder)) };
        if (source.Lowercase is { } lowercase) config = config with { Lowercase = lowercase };

        // config.json: the transformer's own limits.
        string hfConfigPath = Path.Combine(folder, "config.json");
        int? maxPositions = null;
        if (File.Exists(hfConfigPath))
        {
            var hf = Read<TransformerConfig>(hfConfigPath);
            maxPositions = hf.MaxPositionEmbeddings;
            if (hf.HiddenSize is { } hidden) dims.Add(($"{hfConfigPath} (field hidden_size)", hidden));
        }

        // modules.json: which modules run after the transformer; Normalize present means unit vectors.
        string modulesPath = Path.Combine(folder, "modules.json");
        string poolingPath = Path.Combine(folder, "1_Pooling", "config.json");
        bool poolingDeclared = false;
        if (File.Exists(modulesPath))
        {
            var modules = Read<List<Module>>(modulesPath);
            bool normalize = false;
            for (int i = 0; i < modules.Count; i++)
            {
                var m = modules[i];
                switch (m.Type)
                {
                    case "sentence_transformers.models.Transformer":
                        break;
                    case "sentence_transformers.models.Pooling":
                        poolingDeclared = true;
                        poolingPath = Path.Combine(folder, m.Path ?? "", "config.json");
                        break;
                    case "sentence_transformers.models.Normalize":
                        normalize = true;
                        break;
                    default:
                        throw new RelevoException($"{modulesPath}: field [{i}].type: module '{m.Type}' is not supported (Relevo runs " +
                            "Transformer, Pooling and Normalize modules)");
                }
            }
            config = config with { Normalize = normalize };
        }

        // 1_Pooling/config.json (or where modules.json puts it): CLS or mean.
        bool poolingKnown = false, excludesPrompt = false;
        if (File.Exists(poolingPath))
        {
            var p = Read<PoolingConfig>(poolingPath);
            config = config with { Pooling = p.Mode(poolingPath) };
            poolingKnown = true;
            excludesPrompt = p.IncludePrompt == false;
            if (p.WordEmbeddingDimension is { } width) dims.Add(($"{poolingPath} (field word_embedding_dimension)", width));
        }
        else if (poolingDeclared)
        {
            throw new RelevoException($"{poolingPath}: the pooling configuration modules.json names is missing");
        }

        // sentence_bert_config.json: the sequence length sentence-transformers truncates to; do_lower_case lower-cases
        // the text before the tokenizer.
        string sbertPath = Path.Combine(folder, "sentence_bert_config.json");
        if (File.Exists(sbertPath))
        {
            var sbert = Read<SentenceBertConfig>(sbertPath);
            if (sbert.MaxSeqLength is { } max) config = config with { MaxTokens = max };
            if (sbert.DoLowerCase == true)
            {
                if (!config.Lowercase)
                    throw new RelevoException($"{sbertPath}: field do_lower_case: lower-casing in front of a cased tokenizer ({source.Path}) " +
                        "is not supported (Relevo lower-cases only together with stripping accents, as uncased BERT does)");
            }
        }
        if (maxPositions is { } limit && config.MaxTokens > limit) config = config with { MaxTokens = limit };

        // config_sentence_transformers.json: the prompts are the prefixes.
        string promptsPath = Path.Combine(folder, "config_sentence_transformers.json");
        if (File.Exists(promptsPath) && Read<SentenceTransformersConfig>(promptsPath).Prompts is { } prompts)
        {
            if (prompts.TryGetValue("query", out var query) && query is not null) config = config with { QueryPrefix = query };
            if (prompts.TryGetValue("document", out var document) && document is not null) config = config with { PassagePrefix = document };
            else if (prompts.TryGetValue("passage", out var passage) && passage is not null) config = config with { PassagePrefix = passage };
        }

        if (relevo is not null)
        {
            config = relevo.ApplyTo(config, relevoPath);
            poolingKnown = true; // Relevo's own layout: relevo-model.json's default (CLS) applies, as it always did
            if (relevo.MaxTokens is { } set && maxPositions is { } positions && set > positions)
                throw new RelevoException($"{relevoPath}: field maxTokens: {set} is more than the model's {positions} positions " +
                    $"({hfConfigPath}, field max_position_embeddings)");
        }
        else
        {
            config.Validate(folder);
        }
        // A Hugging Face folder without relevo-model.json must say how to pool; Relevo's own layout keeps its CLS default.
        if (!poolingKnown && (source.IsTokenizerJson || File.Exists(hfConfigPath) || File.Exists(modulesPath)))
            throw new RelevoException($"{folder}: how to pool is not known: add {poolingPath} (a Sentence-Transformers pooling " +
                $"configuration) or set \"pooling\" (cls or mean) in {relevoPath}");
        if (excludesPrompt && config.Pooling == Pooling.Mean && (config.QueryPrefix.Length > 0 || config.PassagePrefix.Length > 0))
            throw new RelevoException($"{poolingPath}: field include_prompt: mean pooling that leaves the prompt out is not supported");
        return config;
    }

    /// <summary>Reads a tokenizer file: tokenizer.json (a Hugging Face WordPiece tokenizer) or vocab.txt.</summary>
    public static TokenizerSource ReadTokenizer(string path)
    {
        if (Path.GetFileName(path) != TokenizerJson)
            return new TokenizerSource(path, WordPieceTokenizer.ReadVocabulary(path), null, "[UNK]", WordPieceTokenizer.DefaultMaxInputCharsPerWord);

        var file = Read<TokenizerFile>(path);
        var model = file.Model ?? throw new RelevoException($"{path}: field model is missing");
        // Old files leave the type out; WordPiece is the model with max_input_chars_per_word.
        string? type = model.Type ?? (model.MaxInputCharsPerWord is not null ? "WordPiece" : null);
        if (type != "WordPiece")
            throw new RelevoException($"{path}: tokenizer model type '{type ?? "(none)"}' is not supported (Relevo runs WordPiece (BERT-style) tokenizers)");
        string prefix = model.ContinuingSubwordPrefix ?? "##";
        if (prefix != "##")
            throw new RelevoException($"{path}: field model.continuing_subword_prefix: '{prefix}' is not supported (Relevo's WordPiece uses '##')");

        // The normalizer decides lower-casing; Relevo's normalizer is BERT's, with accents stripped exactly when lower-casing.
        var n = file.Normalizer ?? throw new RelevoException($"{path}: field normalizer: a tokenizer without a normalizer is not supported (Relevo runs BertNormalizer)");
        if (n.Type != "BertNormalizer")
            throw new RelevoException($"{path}: field normalizer.type: '{n.Type}' is not supported (Relevo runs BertNormalizer)");
        bool lowercase = n.Lowercase ?? true;
        if ((n.StripAccents ?? lowercase) != lowercase)
            throw new RelevoException($"{path}: field normalizer.strip_accents: {(n.StripAccents == true ? "true" : "false")} with lowercase " +
                $"{(lowercase ? "true" : "false")} is not supported (Relevo strips accents exactly when it lower-cases)");
        if (n.CleanText == false || n.HandleChineseChars == false)
            throw new RelevoException($"{path}: field normalizer: clean_text and handle_chinese_chars must be true (Relevo always does both)");
        if (file.PreTokenizer is { } pre && pre.Type != "BertPreTokenizer")
            throw new RelevoException($"{path}: field pre_tokenizer.type: '{pre.Type}' is not supported (Relevo runs BertPreTokenizer)");

        // The vocabulary: token → id, the ids exactly 0..n-1.
        if (model.Vocab is not { ValueKind: JsonValueKind.Object } vocab)
            throw new RelevoException($"{path}: field model.vocab: a WordPiece vocabulary is an object of token → id");
        var tokens = new string?[CountProperties(vocab)];
        foreach (var entry in vocab.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id))
                throw new RelevoException($"{path}: field model.vocab: the id of '{entry.Name}' is not an integer");
            if (id < 0 || id >= tokens.Length || tokens[id] is not null)
                throw new RelevoException($"{path}: field model.vocab: the ids are not 0..{tokens.Length - 1}, each once " +
                    $"('{entry.Name}' has {id}{(id >= 0 && id < tokens.Length ? $", as '{tokens[id]}' does" : "")})");
            tokens[id] = entry.Name;
        }
        return new TokenizerSource(path, tokens!, lowercase, model.UnkToken ?? "[UNK]",
            model.MaxInputCharsPerWord ?? WordPieceTokenizer.DefaultMaxInputCharsPerWord);
    }

    private static int CountProperties(JsonElement o)
    {
        int n = 0;
        foreach (var _ in o.EnumerateObject()) n++;
        return n;
    }

    /// <summary>Reads a JSON file; malformed JSON (or a field of the wrong kind) names the file, line and field.</summary>
    private static T Read<T>(string path) where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(File.ReadAllText(path), Json) ?? throw new RelevoException($"{path}: the file is empty (null)");
        }
        catch (JsonException e)
        {
            string where = e.LineNumber is { } l ? $":{l + 1}" : "";
            // System.Text.Json's message repeats the place and, for a value of the wrong kind, names our internal type.
            string detail = e.Message.Contains("could not be converted", StringComparison.Ordinal) ? "the value is not of the expected kind"
                : e.Message.Split(" Path: ")[0];
            throw new RelevoException($"{path}{where}: field {e.Path ?? "?"}: {detail}");
        }
    }

    // The parts of the Hugging Face / Sentence-Transformers files Relevo reads (snake_case in the files).
    private sealed record TokenizerFile(TokenizerModel? Model, NormalizerConfig? Normalizer, TypeOnly? PreTokenizer);
    private sealed record TokenizerModel(string? Type, JsonElement? Vocab, string? UnkToken, string? ContinuingSubwordPrefix, int? MaxInputCharsPerWord);
    private sealed record NormalizerConfig(string? Type, bool? Lowercase, bool? StripAccents, bool? CleanText, bool? HandleChineseChars);
    private sealed record TypeOnly(string? Type);
    private sealed record TransformerConfig(int? MaxPositionEmbeddings, int? HiddenSize);
    private sealed record Module(string? Path, string? Type);
    private sealed record SentenceBertConfig(int? MaxSeqLength, bool? DoLowerCase);
    private sealed record SentenceTransformersConfig(Dictionary<string, string?>? Prompts);

    private sealed record PoolingConfig(int? WordEmbeddingDimension, string? PoolingMode, bool? PoolingModeClsToken,
        bool? PoolingModeMeanTokens, bool? PoolingModeMaxTokens, bool? PoolingModeMeanSqrtLenTokens,
        bool? PoolingModeWeightedmeanTokens, bool? PoolingModeLasttoken, bool? IncludePrompt)
    {
        /// <summary>CLS or mean, exactly one of them; any other mode (or several at once) is refused.</summary>
        public Pooling Mode(string path)
        {
            if (PoolingMode is { } named)
            {
                return named switch
                {
                    "cls" => Pooling.Cls,
                    "mean" => Pooling.Mean,
                    _ => throw new RelevoException($"{path}: field pooling_mode: '{named}' pooling is not supported (Relevo pools by CLS or mean)"),
                };
            }
            (bool? On, string Field)[] others =
            [
                (PoolingModeMaxTokens, "pooling_mode_max_tokens"), (PoolingModeMeanSqrtLenTokens, "pooling_mode_mean_sqrt_len_tokens"),
                (PoolingModeWeightedmeanTokens, "pooling_mode_weightedmean_tokens"), (PoolingModeLasttoken, "pooling_mode_lasttoken"),
            ];
            foreach (var (on, field) in others)
                if (on == true)
                    throw new RelevoException($"{path}: field {field}: this pooling is not supported (Relevo pools by CLS or mean)");
            bool cls = PoolingModeClsToken == true, mean = PoolingModeMeanTokens == true;
            if (cls && mean)
                throw new RelevoException($"{path}: pooling_mode_cls_token and pooling_mode_mean_tokens are both true; concatenated poolings are not supported");
            if (!cls && !mean)
                throw new RelevoException($"{path}: no pooling mode is true (Relevo pools by CLS, pooling_mode_cls_token, or mean, pooling_mode_mean_tokens)");
            return cls ? Pooling.Cls : Pooling.Mean;
        }
    }
}
