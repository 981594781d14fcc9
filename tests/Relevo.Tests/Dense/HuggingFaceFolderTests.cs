using System.Numerics.Tensors;
using System.Text.Json;
using Relevo.Dense;

namespace Relevo.Tests.Dense;

/// <summary>The two built-in models, loaded once for <see cref="HuggingFaceFolderTests"/>.</summary>
public sealed class BuiltInModels : IDisposable
{
    internal EmbeddingModel Arctic { get; } = EmbeddingModel.Load("arctic-xs", new EncoderOptions { UseCache = false });
    internal EmbeddingModel MiniLM { get; } = EmbeddingModel.Load("minilm", new EncoderOptions { UseCache = false });

    public void Dispose()
    {
        Arctic.Dispose();
        MiniLM.Dispose();
    }
}

/// <summary>A model folder in the Sentence-Transformers / Hugging Face export layout (tokenizer.json, config.json,
/// modules.json, 1_Pooling/config.json, sentence_bert_config.json, config_sentence_transformers.json, model.onnx or
/// onnx/model.onnx), assembled from the shipped models' files, embeds exactly as the built-in model does; what
/// Relevo cannot run the same way is refused naming the file.</summary>
public sealed class HuggingFaceFolderTests(BuiltInModels builtIn) : IClassFixture<BuiltInModels>
{
    private const string ArcticQueryPrompt = "Represent this sentence for searching relevant passages: ";

    private static readonly string[] Texts =
    [
        "Microstructural development of human newborn cerebral white matter assessed in vivo by diffusion tensor magnetic resonance imaging. " +
            "Alterations of the architecture of cerebral white matter in the developing human brain can affect cortical development.",
        "Induction of myelodysplasia by myeloid-derived suppressor cells. Myelodysplastic syndromes (MDS) are age-dependent stem cell malignancies.",
        "Histone deacetylase 5 interacts with Krüppel-like factor 2 and inhibits its transcriptional activity in endothelium (TGF-β, CD33’s ITIM).",
        "0-dimensional biomaterials show inductive properties.",
        // longer than 512 tokens: truncated by both models
        string.Concat(Enumerable.Repeat("RNase H and postreplication repair protect cells from ribonucleotides incorporated in DNA; ", 60)),
    ];

    private static readonly string[] Queries = ["vitamin D and cancer", "Café naïve résumé: 1/2000 in UK have abnormal PrP positivity."];

    private static EncoderOptions NoCache => new() { UseCache = false };

    /// <summary>Writes an HF folder for a built-in model into <paramref name="dir"/> (tokenizer.json from its vocab.txt,
    /// model.onnx linked), with the given Sentence-Transformers settings.</summary>
    private static void WriteFolder(string dir, string model, string pooling = "", bool normalize = true, bool onnxUnderOnnx = false,
        string? queryPrompt = null, int? maxSeqLength = null)
    {
        string source = EmbeddingModel.BuiltInFolder(model);
        bool arctic = model == "arctic-xs";
        if (pooling.Length == 0) pooling = arctic ? "pooling_mode_cls_token" : "pooling_mode_mean_tokens";
        queryPrompt ??= arctic ? ArcticQueryPrompt : "";
        Directory.CreateDirectory(dir);
        string onnxDir = onnxUnderOnnx ? Directory.CreateDirectory(Path.Combine(dir, "onnx")).FullName : dir;
        File.CreateSymbolicLink(Path.Combine(onnxDir, "model.onnx"), Path.Combine(source, "model.onnx"));
        WriteTokenizerJson(Path.Combine(dir, "tokenizer.json"), File.ReadAllLines(Path.Combine(source, "vocab.txt")));
        File.WriteAllText(Path.Combine(dir, "config.json"), """
            {
              "architectures": ["BertModel"],
              "hidden_size": 384,
              "max_position_embeddings": 512,
              "model_type": "bert",
              "num_attention_heads": 12,
              "num_hidden_layers": 6,
              "vocab_size": 30522
            }
            """);
        string normalizeModule = normalize ? """, {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}""" : "";
        File.WriteAllText(Path.Combine(dir, "modules.json"), $$"""
            [
              {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
              {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}{{normalizeModule}}
            ]
            """);
        WritePooling(dir, pooling);
        File.WriteAllText(Path.Combine(dir, "sentence_bert_config.json"),
            $$"""{"max_seq_length": {{maxSeqLength ?? (arctic ? 512 : 256)}}, "do_lower_case": false}""");
        if (queryPrompt.Length > 0)
            File.WriteAllText(Path.Combine(dir, "config_sentence_transformers.json"), $$"""
                {
                  "__version__": {"sentence_transformers": "2.7.0", "transformers": "4.39.3", "pytorch": "2.1.0"},
                  "prompts": {"query": {{JsonSerializer.Serialize(queryPrompt)}}},
                  "default_prompt_name": null,
                  "similarity_fn_name": "cosine"
                }
                """);
    }

    private static void WritePooling(string dir, string mode)
    {
        Directory.CreateDirectory(Path.Combine(dir, "1_Pooling"));
        var flags = new[] { "pooling_mode_cls_token", "pooling_mode_mean_tokens", "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
            "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken" };
        string body = string.Join(",\n", flags.Select(f => $"  \"{f}\": {(f == mode ? "true" : "false")}"));
        File.WriteAllText(Path.Combine(dir, "1_Pooling", "config.json"),
            $"{{\n  \"word_embedding_dimension\": 384,\n{body},\n  \"include_prompt\": true\n}}\n");
    }

    /// <summary>A tokenizer.json as Hugging Face's BertTokenizerFast saves it, over <paramref name="vocabulary"/>.</summary>
    private static void WriteTokenizerJson(string path, IReadOnlyList<string> vocabulary, string type = "WordPiece", Action<Utf8JsonWriter>? normalizer = null,
        string unk = "[UNK]", int maxChars = 100, string prefix = "##")
    {
        using var stream = File.Create(path);
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        w.WriteStartObject();
        w.WriteString("version", "1.0");
        w.WriteNull("truncation");
        w.WriteNull("padding");
        w.WriteStartArray("added_tokens");
        foreach (string special in new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" })
        {
            int id = IndexOf(vocabulary, special);
            if (id < 0) continue;
            w.WriteStartObject();
            w.WriteNumber("id", id);
            w.WriteString("content", special);
            w.WriteBoolean("single_word", false);
            w.WriteBoolean("lstrip", false);
            w.WriteBoolean("rstrip", false);
            w.WriteBoolean("normalized", false);
            w.WriteBoolean("special", true);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WritePropertyName("normalizer");
        if (normalizer is not null) normalizer(w);
        else
        {
            w.WriteStartObject();
            w.WriteString("type", "BertNormalizer");
            w.WriteBoolean("clean_text", true);
            w.WriteBoolean("handle_chinese_chars", true);
            w.WriteNull("strip_accents");
            w.WriteBoolean("lowercase", true);
            w.WriteEndObject();
        }
        w.WriteStartObject("pre_tokenizer");
        w.WriteString("type", "BertPreTokenizer");
        w.WriteEndObject();
        w.WriteStartObject("post_processor");
        w.WriteString("type", "TemplateProcessing");
        w.WriteEndObject();
        w.WriteStartObject("decoder");
        w.WriteString("type", "WordPiece");
        w.WriteString("prefix", "##");
        w.WriteBoolean("cleanup", true);
        w.WriteEndObject();
        w.WriteStartObject("model");
        w.WriteString("type", type);
        w.WriteString("unk_token", unk);
        w.WriteString("continuing_subword_prefix", prefix);
        w.WriteNumber("max_input_chars_per_word", maxChars);
        w.WriteStartObject("vocab");
        for (int i = 0; i < vocabulary.Count; i++) w.WriteNumber(vocabulary[i], i);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static int IndexOf(IReadOnlyList<string> list, string item)
    {
        for (int i = 0; i < list.Count; i++) if (list[i] == item) return i;
        return -1;
    }

    private static float[][] Rows(EmbeddingModel model, IReadOnlyList<string> texts, bool passages)
    {
        var flat = new float[texts.Count * model.Dimensions];
        if (passages) model.EmbedPassages(texts, flat);
        else model.EmbedQueries(texts, flat);
        var rows = new float[texts.Count][];
        for (int i = 0; i < rows.Length; i++) rows[i] = flat.AsSpan(i * model.Dimensions, model.Dimensions).ToArray();
        return rows;
    }

    private static void AssertSameVectors(EmbeddingModel expected, EmbeddingModel actual)
    {
        foreach (bool passages in new[] { true, false })
        {
            var texts = passages ? Texts : Queries;
            var a = Rows(expected, texts, passages);
            var b = Rows(actual, texts, passages);
            for (int i = 0; i < a.Length; i++)
                for (int d = 0; d < a[i].Length; d++)
                    Assert.True(Math.Abs(a[i][d] - b[i][d]) <= 1e-6f, $"{actual.Name}: text {i} dim {d}: {a[i][d]} vs {b[i][d]}");
        }
        Assert.Equal(expected.EmbedQuery(Queries[0]), actual.EmbedQuery(Queries[0]), (x, y) => Math.Abs(x - y) <= 1e-6f);
    }

    [Fact]
    public void Arctic_folder_embeds_as_the_built_in_model()
    {
        using var tmp = new TempDir();
        string dir = tmp["snowflake-arctic-embed-xs"];
        WriteFolder(dir, "arctic-xs");
        var contents = ModelFolder.Open(dir);
        Assert.Equal(ModelConfig.ArcticXs with { Name = "snowflake-arctic-embed-xs" }, contents.Config);
        Assert.Equal("snowflake-arctic-embed-xs", EmbeddingModel.ResolveName(dir));

        using var model = EmbeddingModel.Load(dir, NoCache);
        Assert.Equal(384, model.Dimensions);
        Assert.Equal(dir, model.Folder);
        Assert.True(model.Tokenizer.Encode(Texts[^1], 512).Length == 512);
        AssertSameVectors(builtIn.Arctic, model);
        Assert.NotEqual(builtIn.Arctic.Fingerprint, model.Fingerprint);
    }

    [Fact]
    public void MiniLM_folder_with_the_onnx_file_under_onnx_embeds_as_the_built_in_model()
    {
        using var tmp = new TempDir();
        string dir = tmp["all-MiniLM-L6-v2"];
        WriteFolder(dir, "minilm", onnxUnderOnnx: true);
        Assert.False(File.Exists(Path.Combine(dir, "model.onnx")));
        var contents = ModelFolder.Open(dir);
        Assert.Equal(Path.Combine(dir, "onnx", "model.onnx"), contents.Onnx);
        Assert.Equal(ModelConfig.MiniLM with { Name = "all-MiniLM-L6-v2" }, contents.Config);

        using var model = EmbeddingModel.Load(dir, NoCache);
        AssertSameVectors(builtIn.MiniLM, model);
    }

    [Fact]
    public void The_pooling_flag_is_read()
    {
        using var tmp = new TempDir();
        WriteFolder(tmp.Path, "arctic-xs", pooling: "pooling_mode_mean_tokens");
        using var model = EmbeddingModel.Load(tmp.Path, NoCache);
        Assert.Equal(Pooling.Mean, model.Config.Pooling);
        var mean = Rows(model, Texts, passages: true);
        var cls = Rows(builtIn.Arctic, Texts, passages: true);
        for (int i = 0; i < Texts.Length; i++)
            Assert.True(TensorPrimitives.CosineSimilarity(mean[i], cls[i]) < 0.99f, $"text {i}: mean pooling gave the CLS vector");
    }

    [Fact]
    public void Without_a_normalize_module_vectors_are_not_unit_length()
    {
        using var tmp = new TempDir();
        WriteFolder(tmp.Path, "minilm", normalize: false);
        using var model = EmbeddingModel.Load(tmp.Path, NoCache);
        Assert.False(model.Config.Normalize);
        var raw = Rows(model, Texts, passages: true);
        var unit = Rows(builtIn.MiniLM, Texts, passages: true);
        for (int i = 0; i < Texts.Length; i++)
        {
            Assert.True(Math.Abs(TensorPrimitives.Norm(raw[i]) - 1f) > 0.01f, $"text {i}: norm {TensorPrimitives.Norm(raw[i])}");
            Assert.True(TensorPrimitives.CosineSimilarity(raw[i], unit[i]) > 0.99999f); // same direction
        }
    }

    [Fact]
    public void Relevo_model_json_wins_for_what_it_sets()
    {
        using var tmp = new TempDir();
        WriteFolder(tmp.Path, "arctic-xs");
        File.WriteAllText(tmp["relevo-model.json"], """{ "name": "mine", "maxTokens": 128, "passagePrefix": "passage: " }""");
        var c = ModelFolder.Open(tmp.Path).Config;
        Assert.Equal(ModelConfig.ArcticXs with { Name = "mine", MaxTokens = 128, PassagePrefix = "passage: " }, c);
        Assert.Equal("mine", EmbeddingModel.ResolveName(tmp.Path));

        // relevo-model.json may not go past the transformer's positions; sentence_bert_config.json is capped by them.
        File.WriteAllText(tmp["relevo-model.json"], """{ "maxTokens": 1024 }""");
        var e = Assert.Throws<RelevoException>(() => ModelFolder.Open(tmp.Path));
        Assert.Contains(tmp["relevo-model.json"], e.Message);
        Assert.Contains("max_position_embeddings", e.Message);
        File.Delete(tmp["relevo-model.json"]);
        File.WriteAllText(tmp["sentence_bert_config.json"], """{"max_seq_length": 1024}""");
        Assert.Equal(512, ModelFolder.Open(tmp.Path).Config.MaxTokens);

        // The prompts give both prefixes ("document", else "passage").
        File.WriteAllText(tmp["config_sentence_transformers.json"], """{"prompts": {"query": "query: ", "passage": "passage: "}}""");
        c = ModelFolder.Open(tmp.Path).Config;
        Assert.Equal(("query: ", "passage: "), (c.QueryPrefix, c.PassagePrefix));
        File.WriteAllText(tmp["config_sentence_transformers.json"], """{"prompts": {"query": "q: ", "document": "d: ", "passage": "p: "}}""");
        c = ModelFolder.Open(tmp.Path).Config;
        Assert.Equal(("q: ", "d: "), (c.QueryPrefix, c.PassagePrefix));
    }

    [Fact]
    public void The_fingerprint_follows_the_tokenizer_file_and_the_settings()
    {
        using var tmp = new TempDir();
        WriteFolder(tmp.Path, "minilm");
        string before = ModelFolder.Open(tmp.Path).ComputeFingerprint();
        Assert.Equal(before, ModelFolder.Open(tmp.Path).ComputeFingerprint());

        // tokenizer.json is what is hashed (vocab.txt, if also there, is not read)
        var vocabulary = File.ReadAllLines(Path.Combine(EmbeddingModel.BuiltInFolder("minilm"), "vocab.txt"));
        WriteTokenizerJson(tmp["tokenizer.json"], vocabulary, maxChars: 50);
        string changed = ModelFolder.Open(tmp.Path).ComputeFingerprint();
        Assert.NotEqual(before, changed);
        File.WriteAllText(tmp["vocab.txt"], "[PAD]\n[UNK]\n[CLS]\n[SEP]\n");
        Assert.Equal(changed, ModelFolder.Open(tmp.Path).ComputeFingerprint());
        Assert.Equal(vocabulary.Length, ModelFolder.Open(tmp.Path).Tokenizer.VocabularySize);

        File.WriteAllText(tmp["sentence_bert_config.json"], """{"max_seq_length": 128}""");
        Assert.NotEqual(changed, ModelFolder.Open(tmp.Path).ComputeFingerprint());

        // The built-in folder (vocab.txt) keeps the fingerprint it always had.
        using var arctic = new TempDir();
        foreach (string f in new[] { "model.onnx", "vocab.txt" })
            File.CreateSymbolicLink(arctic[f], Path.Combine(EmbeddingModel.BuiltInFolder("arctic-xs"), f));
        File.WriteAllText(arctic["relevo-model.json"], ModelConfig.ArcticXs.ToJson());
        Assert.Equal(builtIn.Arctic.Fingerprint, ModelFolder.Open(arctic.Path).ComputeFingerprint());
    }

    [Fact]
    public void The_tokenizer_settings_are_honoured()
    {
        using var tmp = new TempDir();
        WriteFolder(tmp.Path, "minilm");
        var vocabulary = File.ReadAllLines(Path.Combine(EmbeddingModel.BuiltInFolder("minilm"), "vocab.txt"));
        int unused0 = IndexOf(vocabulary, "[unused0]");
        WriteTokenizerJson(tmp["tokenizer.json"], vocabulary, unk: "[unused0]", maxChars: 10);
        var tokenizer = ModelFolder.Open(tmp.Path).Tokenizer;
        Assert.Equal(unused0, tokenizer.UnkId);
        Assert.Equal([tokenizer.ClsId, unused0, tokenizer.SepId], tokenizer.Encode("internationalization"));
        Assert.Equal([tokenizer.ClsId, unused0, tokenizer.SepId], tokenizer.Encode("international")); // 13 characters > 10
        Assert.Equal(3, tokenizer.Encode("vitamin").Length);

        // lowercase false (strip_accents null follows it): a cased tokenizer
        WriteTokenizerJson(tmp["tokenizer.json"], vocabulary, normalizer: w =>
        {
            w.WriteStartObject();
            w.WriteString("type", "BertNormalizer");
            w.WriteNull("strip_accents");
            w.WriteBoolean("lowercase", false);
            w.WriteEndObject();
        });
        var cased = ModelFolder.Open(tmp.Path);
        Assert.False(cased.Config.Lowercase);
        Assert.False(cased.Tokenizer.Lowercase);
        // relevo-model.json still wins
        File.WriteAllText(tmp["relevo-model.json"], """{ "lowercase": true }""");
        Assert.True(ModelFolder.Open(tmp.Path).Tokenizer.Lowercase);
        File.Delete(tmp["relevo-model.json"]);

        // do_lower_case in front of a cased tokenizer would lower-case without stripping accents: refused.
        File.WriteAllText(tmp["sentence_bert_config.json"], """{"max_seq_length": 256, "do_lower_case": true}""");
        var e = Assert.Throws<RelevoException>(() => ModelFolder.Open(tmp.Path));
        Assert.Contains(tmp["sentence_bert_config.json"], e.Message);
        Assert.Contains("do_lower_case", e.Message);

        // lower-casing without stripping accents: refused
        WriteTokenizerJson(tmp["tokenizer.json"], vocabulary, normalizer: w =>
        {
            w.WriteStartObject();
            w.WriteString("type", "BertNormalizer");
            w.WriteBoolean("strip_accents", false);
            w.WriteBoolean("lowercase", true);
            w.WriteEndObject();
        });
        e = Assert.Throws<RelevoException>(() => ModelFolder.Open(tmp.Path));
        Assert.Contains(tmp["tokenizer.json"], e.Message);
        Assert.Contains("strip_accents", e.Message);
    }

    [Fact]
    public void Other_tokenizer_types_and_prefixes_are_refused_naming_the_file()
    {
        using var tmp = new TempDir();
        WriteFolder(tmp.Path, "minilm");
        var vocabulary = File.ReadAllLines(Path.Combine(EmbeddingModel.BuiltInFolder("minilm"), "vocab.txt"));
        WriteTokenizerJson(tmp["tokenizer.json"], vocabulary, type: "BPE");
        var e = Assert.Throws<RelevoException>(() => EmbeddingModel.Load(tmp.Path, NoCache));
        Assert.Contains(tmp["tokenizer.json"], e.Message);
        Assert.Contains("'BPE'", e.Message);
        Assert.Contains("WordPiece", e.Message);

        // A Unigram vocabulary is a list of [piece, score]: refused for its type, not for its shape.
        File.WriteAllText(tmp["tokenizer.json"], """{"normalizer": null, "model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["▁a", -1.5]]}}""");
        e = Assert.Throws<RelevoException>(() => EmbeddingModel.Load(tmp.Path, NoCache));
        Assert.Contains(tmp["tokenizer.json"], e.Message);
        Assert.Contains("'Unigram'", e.Message);

        WriteTokenizerJson(tmp["tokenizer.json"], vocabulary, prefix: "@@");
        e = Assert.Throws<RelevoException>(() => EmbeddingModel.Load(tmp.Path, NoCache));
        Assert.Contains(tmp["tokenizer.json"], e.Message);
        Assert.Contains("continuing_subword_prefix", e.Message);

        // A special token missing from the vocabulary.
        var noSep = vocabulary.Select(t => t == "[SEP]" ? "[SEPARATOR]" : t).ToArray();
        WriteTokenizerJson(tmp["tokenizer.json"], noSep);
        e = Assert.Throws<RelevoException>(() => EmbeddingModel.Load(tmp.Path, NoCache));
        Assert.Contains(tmp["tokenizer.json"], e.Message);
        Assert.Contains("[SEP]", e.Message);
    }

    [Fact]
    public void Ids_that_are_not_contiguous_are_refused()
    {
        using var tmp = new TempDir();
        WriteFolder(tmp.Path, "minilm");
        string good = File.ReadAllText(tmp["tokenizer.json"]);
        foreach (var (from, to) in new[] { ("\"[unused0]\": 1,", "\"[unused0]\": 40000,"), ("\"[unused0]\": 1,", "\"[unused0]\": 0,"), ("\"[unused0]\": 1,", "\"[unused0]\": -1,") })
        {
            Assert.Contains(from, good);
            File.WriteAllText(tmp["tokenizer.json"], good.Replace(from, to));
            var e = Assert.Throws<RelevoException>(() => EmbeddingModel.Load(tmp.Path, NoCache));
            Assert.Contains(tmp["tokenizer.json"], e.Message);
            Assert.Contains("model.vocab", e.Message);
            Assert.Contains("0..30521", e.Message);
        }
        File.WriteAllText(tmp["tokenizer.json"], good.Replace("\"[unused0]\": 1,", "\"[unused0]\": \"one\","));
        Assert.Contains("not an integer", Assert.Throws<RelevoException>(() => EmbeddingModel.Load(tmp.Path, NoCache)).Message);
    }

    [Fact]
    public void Malformed_json_names_the_file_line_and_field()
    {
        using var tmp = new TempDir();
        WriteFolder(tmp.Path, "minilm");
        File.WriteAllText(tmp["tokenizer.json"], "{\n  \"version\": \"1.0\",\n  \"model\": {\n    \"type\": \"WordPiece\",\n    \"vocab\": { \"[PAD]\": 0,, }\n  }\n}\n");
        var e = Assert.Throws<RelevoException>(() => EmbeddingModel.Load(tmp.Path, NoCache));
        Assert.StartsWith(tmp["tokenizer.json"] + ":5:", e.Message);
        Assert.Contains("model", e.Message);

        File.WriteAllText(tmp["tokenizer.json"], "{\n  \"normalizer\": {\n    \"type\": \"BertNormalizer\",\n    \"lowercase\": \"yes\"\n  }\n}\n");
        e = Assert.Throws<RelevoException>(() => EmbeddingModel.Load(tmp.Path, NoCache));
        Assert.StartsWith(tmp["tokenizer.json"] + ":4:", e.Message);
        Assert.Contains("normalizer.lowercase", e.Message);

        WriteFolder(tmp["b"], "minilm");
        File.WriteAllText(Path.Combine(tmp["b"], "1_Pooling", "config.json"), "{\n  \"pooling_mode_cls_token\": tru\n}");
        e = Assert.Throws<RelevoException>(() => EmbeddingModel.Load(tmp["b"], NoCache));
        Assert.StartsWith(Path.Combine(tmp["b"], "1_Pooling", "config.json") + ":2:", e.Message);
    }

    [Fact]
    public void Pooling_other_than_cls_or_mean_is_refused_naming_the_pooling_config()
    {
        using var tmp = new TempDir();
        WriteFolder(tmp.Path, "arctic-xs");
        string pooling = Path.Combine(tmp.Path, "1_Pooling", "config.json");
        foreach (string mode in new[] { "pooling_mode_max_tokens", "pooling_mode_lasttoken", "pooling_mode_weightedmean_tokens", "pooling_mode_mean_sqrt_len_tokens" })
        {
            WritePooling(tmp.Path, mode);
            var e = Assert.Throws<RelevoException>(() => EmbeddingModel.Load(tmp.Path, NoCache));
            Assert.Contains(pooling, e.Message);
            Assert.Contains(mode, e.Message);
            Assert.Contains("not supported", e.Message);
        }
        WritePooling(tmp.Path, "none");
        Assert.Contains(pooling, Assert.Throws<RelevoException>(() => EmbeddingModel.Load(tmp.Path, NoCache)).Message);
        File.WriteAllText(pooling, """{"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": true}""");
        Assert.Contains("both", Assert.Throws<RelevoException>(() => EmbeddingModel.Load(tmp.Path, NoCache)).Message);
        File.WriteAllText(pooling, """{"pooling_mode": "max"}""");
        Assert.Contains("'max'", Assert.Throws<RelevoException>(() => EmbeddingModel.Load(tmp.Path, NoCache)).Message);
        File.WriteAllText(pooling, """{"pooling_mode": "mean"}""");
        Assert.Equal(Pooling.Mean, ModelFolder.Open(tmp.Path).Config.Pooling);

        // The Pooling module's path comes from modules.json.
        Directory.Move(Path.Combine(tmp.Path, "1_Pooling"), Path.Combine(tmp.Path, "pool"));
        var missing = Assert.Throws<RelevoException>(() => EmbeddingModel.Load(tmp.Path, NoCache));
        Assert.Contains(pooling, missing.Message);
        File.WriteAllText(tmp["modules.json"], File.ReadAllText(tmp["modules.json"]).Replace("1_Pooling", "pool"));
        Assert.Equal(Pooling.Mean, ModelFolder.Open(tmp.Path).Config.Pooling);

        // An HF folder with no pooling at all is refused unless relevo-model.json says how to pool.
        Directory.Delete(Path.Combine(tmp.Path, "pool"), recursive: true);
        File.Delete(tmp["modules.json"]);
        var e2 = Assert.Throws<RelevoException>(() => EmbeddingModel.Load(tmp.Path, NoCache));
        Assert.Contains("1_Pooling", e2.Message);
        Assert.Contains("relevo-model.json", e2.Message);
        File.WriteAllText(tmp["relevo-model.json"], """{"pooling": "mean"}""");
        Assert.Equal(Pooling.Mean, ModelFolder.Open(tmp.Path).Config.Pooling);
    }

    [Fact]
    public void Modules_other_than_transformer_pooling_and_normalize_are_refused()
    {
        using var tmp = new TempDir();
        WriteFolder(tmp.Path, "minilm");
        File.WriteAllText(tmp["modules.json"], File.ReadAllText(tmp["modules.json"])
            .Replace("\"2_Normalize\", \"type\": \"sentence_transformers.models.Normalize\"", "\"2_Dense\", \"type\": \"sentence_transformers.models.Dense\""));
        var e = Assert.Throws<RelevoException>(() => EmbeddingModel.Load(tmp.Path, NoCache));
        Assert.Contains(tmp["modules.json"], e.Message);
        Assert.Contains("sentence_transformers.models.Dense", e.Message);
    }

    [Fact]
    public void A_width_the_files_state_must_match_the_model()
    {
        using var tmp = new TempDir();
        WriteFolder(tmp.Path, "minilm");
        File.WriteAllText(tmp["config.json"], File.ReadAllText(tmp["config.json"]).Replace("\"hidden_size\": 384", "\"hidden_size\": 768"));
        var e = Assert.Throws<RelevoException>(() => EmbeddingModel.Load(tmp.Path, NoCache));
        Assert.Contains(tmp["config.json"], e.Message);
        Assert.Contains("hidden_size", e.Message);
        Assert.Contains("768", e.Message);
    }

    [Fact]
    public void A_folder_without_a_model_names_what_is_missing()
    {
        using var tmp = new TempDir();
        var e = Assert.Throws<RelevoException>(() => EmbeddingModel.Load(tmp.Path, NoCache));
        foreach (string place in new[] { tmp["model.onnx"], Path.Combine(tmp.Path, "onnx", "model.onnx"), tmp["tokenizer.json"], tmp["vocab.txt"] })
            Assert.Contains(place, e.Message);
        Assert.Contains("not a model folder", e.Message);

        // Only the model file is missing: only it is named.
        WriteFolder(tmp.Path, "minilm");
        File.Delete(tmp["model.onnx"]);
        e = Assert.Throws<RelevoException>(() => EmbeddingModel.Load(tmp.Path, NoCache));
        Assert.Contains(tmp["model.onnx"], e.Message);
        Assert.Contains(Path.Combine(tmp.Path, "onnx", "model.onnx"), e.Message);
        Assert.DoesNotContain(tmp["vocab.txt"], e.Message);
    }
    [Fact]
    public void Mean_pooling_without_the_prompt_is_refused_when_there_is_a_prompt()
    {
        using var tmp = new TempDir();
        WriteFolder(tmp.Path, "minilm");
        string pooling = Path.Combine(tmp.Path, "1_Pooling", "config.json");
        File.WriteAllText(pooling, File.ReadAllText(pooling).Replace("\"include_prompt\": true", "\"include_prompt\": false"));
        Assert.Equal(Pooling.Mean, ModelFolder.Open(tmp.Path).Config.Pooling); // no prompt: nothing is left out
        File.WriteAllText(tmp["config_sentence_transformers.json"], """{"prompts": {"query": "query: "}}""");
        var e = Assert.Throws<RelevoException>(() => ModelFolder.Open(tmp.Path));
        Assert.Contains(pooling, e.Message);
        Assert.Contains("include_prompt", e.Message);
    }

    [Fact]
    public void Sparse_and_cross_encoder_folders_accept_tokenizer_json_and_onnx_under_onnx()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        var lm = TinyMaskedLm.Write(a.Path);
        lm.Save(b.Path);
        Directory.CreateDirectory(b["onnx"]);
        File.Move(b["model.onnx"], Path.Combine(b.Path, "onnx", "model.onnx"));
        WriteTokenizerJson(b["tokenizer.json"], lm.Vocabulary);
        File.Delete(b["vocab.txt"]);
        using (var va = SparseEncoder.Load(a.Path))
        using (var vb = SparseEncoder.Load(b.Path))
        {
            foreach (string text in new[] { "The quick brown fox jumped over the lazy dog.", "xyzzy walks? DOG-index", "" })
                Assert.Equal(va.Encode(text), vb.Encode(text));
            Assert.NotEqual(va.Fingerprint, vb.Fingerprint);
        }

        // The cross-encoder finds both files and gets as far as the model's output (a bi-encoder's is refused).
        using var c = new TempDir();
        WriteFolder(c.Path, "minilm", onnxUnderOnnx: true);
        Assert.Contains("[batch, labels] logits", Assert.Throws<RelevoException>(() => CrossEncoder.Load(c.Path)).Message);
    }
}
