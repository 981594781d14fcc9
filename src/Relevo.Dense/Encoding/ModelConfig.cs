using System.Text.Json;
using System.Text.Json.Serialization;

namespace Relevo.Dense;

/// <summary>How a sentence embedding is read off <c>last_hidden_state</c>.</summary>
internal enum Pooling
{
    /// <summary>The hidden state of the first token, [CLS] (arctic-embed, bge).</summary>
    Cls,
    /// <summary>The mean of the hidden states over the attention mask (all-MiniLM, e5).</summary>
    Mean,
}

/// <summary>How to embed text the way a model was trained, besides its weights and vocabulary: what a model folder's
/// <c>relevo-model.json</c> says, over what its Sentence-Transformers files say (see <see cref="ModelFolder"/>).</summary>
internal sealed record ModelConfig
{
    public const string FileName = "relevo-model.json";

    /// <summary>Name used in file names and the manifest (letters, digits, '-', '_', '.').</summary>
    public string Name { get; init; } = "";
    public Pooling Pooling { get; init; } = Pooling.Cls;
    public int MaxTokens { get; init; } = 512;
    public string QueryPrefix { get; init; } = "";
    public string PassagePrefix { get; init; } = "";
    /// <summary>Uncased vocabulary: strip accents and lower-case before WordPiece.</summary>
    public bool Lowercase { get; init; } = true;
    /// <summary>L2-normalize embeddings so that dot product is cosine.</summary>
    public bool Normalize { get; init; } = true;
    /// <summary>The graph's attention has no mask (<see cref="AttentionFusion"/>): every position attends to every
    /// other, so sequences must not be padded and run one per call.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool Unpadded { get; init; }

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        WriteIndented = true,
    };

    public static ModelConfig Read(string path, string defaultName) => Read(path, new ModelConfig { Name = defaultName });

    /// <summary>Reads <paramref name="path"/> over <paramref name="defaults"/>: what the file sets wins, what it leaves
    /// out (or an empty name) keeps the default.</summary>
    public static ModelConfig Read(string path, ModelConfig defaults) => ReadOverrides(path).ApplyTo(defaults, path);

    /// <summary>The fields <paramref name="path"/> sets (a JSON error names the file, line and field).</summary>
    internal static Overrides ReadOverrides(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<Overrides>(File.ReadAllText(path), Json)
                ?? throw new RelevoException($"{path}: empty model configuration");
        }
        catch (JsonException e)
        {
            string where = e.LineNumber is { } l ? $":{l + 1}" : "";
            throw new RelevoException($"{path}{where}: field {e.Path ?? "?"}: {e.Message}");
        }
    }

    /// <summary>The fields of relevo-model.json, null where the file leaves them out.</summary>
    internal sealed record Overrides(string? Name, Pooling? Pooling, int? MaxTokens, string? QueryPrefix, string? PassagePrefix,
        bool? Lowercase, bool? Normalize, bool? Unpadded)
    {
        /// <summary><paramref name="defaults"/> with what this file sets (an empty name keeps the default), validated.</summary>
        public ModelConfig ApplyTo(ModelConfig defaults, string path)
        {
            var c = defaults with
            {
                Name = string.IsNullOrEmpty(Name) ? defaults.Name : Name,
                Pooling = Pooling ?? defaults.Pooling,
                MaxTokens = MaxTokens ?? defaults.MaxTokens,
                QueryPrefix = QueryPrefix ?? defaults.QueryPrefix,
                PassagePrefix = PassagePrefix ?? defaults.PassagePrefix,
                Lowercase = Lowercase ?? defaults.Lowercase,
                Normalize = Normalize ?? defaults.Normalize,
                Unpadded = Unpadded ?? defaults.Unpadded,
            };
            c.Validate(path);
            return c;
        }
    }

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    internal void Validate(string source)
    {
        if (!IsValidName(Name))
            throw new RelevoException($"{source}: field name: '{Name}' must be letters, digits, '-', '_' or '.'");
        if (MaxTokens < 2 || MaxTokens > 8192)
            throw new RelevoException($"{source}: field maxTokens: {MaxTokens} is outside 2..8192");
    }

    internal static bool IsValidName(string name)
    {
        if (name.Length == 0 || name.Length > 64 || name[0] == '.') return false;
        foreach (char c in name)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')) return false;
        return true;
    }

    /// <summary>snowflake-arctic-embed-xs: CLS pooling, 512 tokens, the retrieval prefix on queries only.</summary>
    public static readonly ModelConfig ArcticXs = new()
    {
        Name = "arctic-xs", Pooling = Pooling.Cls, MaxTokens = 512,
        QueryPrefix = "Represent this sentence for searching relevant passages: ",
    };

    /// <summary>all-MiniLM-L6-v2: mean pooling, 256 tokens (sentence-transformers' max_seq_length), no prefixes.</summary>
    public static readonly ModelConfig MiniLM = new() { Name = "minilm", Pooling = Pooling.Mean, MaxTokens = 256 };
}
