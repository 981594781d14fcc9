using Relevo.Dense;
using Relevo.Dense.Tokenization;

namespace Relevo.Tests.Dense;

/// <summary>The SPLADE encoder against a reference computed here in double arithmetic from the weights of a tiny
/// ONNX masked LM (<see cref="TinyMaskedLm"/>), with its own tokenizer: same terms, same order, same weights.</summary>
public sealed class SparseEncoderTests
{
    private static readonly string[] Texts =
    [
        "The quick brown fox jumped over the lazy dog.",
        "Running sparse search engines, quickly!",
        "",
        "xyzzy walks? DOG-index",
        string.Join(' ', Enumerable.Repeat("the fast dense vector model reads a query term weight", 60)), // 600 tokens
    ];

    // ---- the reference ----

    /// <summary>BERT tokenization for ASCII text, written independently of WordPieceTokenizer: lower-case, split on
    /// whitespace, each punctuation character a token, greedy longest-match WordPiece ("##" pieces), [UNK] for a
    /// word with a piece missing.</summary>
    private static List<string> ReferenceTokens(string text, string[] vocabulary)
    {
        var known = new HashSet<string>(vocabulary, StringComparer.Ordinal);
        var words = new List<string>();
        var current = new System.Text.StringBuilder();
        foreach (char c in text.ToLowerInvariant())
        {
            bool space = c is ' ' or '\t' or '\n', punctuation = c < 128 && !space && !char.IsAsciiLetterOrDigit(c);
            if (space || punctuation)
            {
                if (current.Length > 0) { words.Add(current.ToString()); current.Clear(); }
                if (punctuation) words.Add(c.ToString());
            }
            else current.Append(c);
        }
        if (current.Length > 0) words.Add(current.ToString());
        var tokens = new List<string>();
        foreach (string word in words)
        {
            var pieces = new List<string>();
            int start = 0;
            while (start < word.Length)
            {
                string? piece = null;
                for (int end = word.Length; end > start && piece is null; end--)
                {
                    string candidate = (start == 0 ? "" : "##") + word[start..end];
                    if (known.Contains(candidate)) { piece = candidate; start = end; }
                }
                if (piece is null) { pieces = ["[UNK]"]; break; }
                pieces.Add(piece);
            }
            tokens.AddRange(pieces);
        }
        return tokens;
    }

    private static int[] ReferenceIds(string text, string[] vocabulary, int maxTokens)
    {
        var tokens = ReferenceTokens(text, vocabulary);
        if (tokens.Count > maxTokens - 2) tokens.RemoveRange(maxTokens - 2, tokens.Count - (maxTokens - 2));
        tokens.Insert(0, "[CLS]");
        tokens.Add("[SEP]");
        return [.. tokens.Select(t => Array.IndexOf(vocabulary, t))];
    }

    /// <summary>Embedding lookup, x·W1 + b1, ReLU, h·W2 + b2, log(1 + max(0, logit)), max over the tokens; the
    /// positive weights in descending order, ties by id.</summary>
    private static List<(string Term, double Weight, int Id)> Reference(TinyMaskedLm lm, string text, int maxTokens)
    {
        int v = lm.VocabularySize, h = lm.Hidden;
        var max = new double[v];
        foreach (int id in ReferenceIds(text, lm.Vocabulary, maxTokens))
        {
            var hidden = new double[h];
            for (int j = 0; j < h; j++)
            {
                double s = lm.B1[j];
                for (int i = 0; i < h; i++) s += (double)lm.Embedding[id * h + i] * lm.W1[i * h + j];
                hidden[j] = Math.Max(0, s);
            }
            for (int t = 0; t < v; t++)
            {
                double logit = lm.B2[t];
                for (int j = 0; j < h; j++) logit += hidden[j] * lm.W2[j * v + t];
                max[t] = Math.Max(max[t], Math.Log(1 + Math.Max(0, logit)));
            }
        }
        var result = new List<(string, double, int)>();
        for (int t = 0; t < v; t++)
            if (max[t] > 0) result.Add((lm.Vocabulary[t], max[t], t));
        result.Sort((a, b) => a.Item2 != b.Item2 ? b.Item2.CompareTo(a.Item2) : a.Item3.CompareTo(b.Item3));
        return result;
    }

    private static void AssertMatchesReference(IReadOnlyList<(string Term, float Weight)> actual, List<(string Term, double Weight, int Id)> expected, string text)
    {
        Assert.True(expected.Count > 0, $"'{text}': the reference has no positive weights");
        Assert.Equal(expected.Select(e => e.Term), actual.Select(a => a.Term));
        for (int k = 0; k < expected.Count; k++)
        {
            double e = expected[k].Weight, a = actual[k].Weight;
            // 1e-4 relative; the 1e-6 absolute floor covers weights near 0, where the model's float logits (rounding
            // error about 1e-7) cannot be 1e-4 relative (up to 3.4e-7 seen in a sweep; 1000 seeds pass with the floor).
            Assert.True(Math.Abs(a - e) <= 1e-4 * Math.Abs(e) + 1e-6, $"'{text}' term {expected[k].Term}: {a} vs reference {e}");
        }
    }

    // ---- the tests ----

    [Fact]
    public void Reference_tokens_are_the_hand_written_pieces_and_agree_with_the_tokenizer()
    {
        const string text = "Running sparse search engines, quickly!";
        string[] expected = ["run", "##n", "##ing", "sparse", "search", "engine", "##s", ",", "quick", "##ly", "!"];
        var vocabulary = TinyMaskedLm.DefaultVocabulary;
        Assert.Equal(expected, ReferenceTokens(text, vocabulary));
        Assert.Equal(expected, new WordPieceTokenizer(vocabulary).Tokenize(text));
        foreach (string t in Texts)
            Assert.Equal(ReferenceIds(t, vocabulary, 512), new WordPieceTokenizer(vocabulary).Encode(t, 512));
    }

    [Fact]
    public void Weights_equal_the_reference()
    {
        using var dir = new TempDir();
        var lm = TinyMaskedLm.Write(dir.Path);
        using var encoder = SparseEncoder.Load(dir.Path, threads: 1);
        Assert.Equal(lm.Vocabulary.Length, encoder.VocabularySize);
        Assert.Equal(Path.GetFullPath(dir.Path), encoder.Folder);
        foreach (string text in Texts)
            AssertMatchesReference(encoder.Encode(text, topTerms: 1000), Reference(lm, text, 512), text);
    }

    [Fact]
    public void Max_tokens_from_relevo_model_json_truncates()
    {
        using var dir = new TempDir();
        var lm = TinyMaskedLm.Write(dir.Path, seed: 11, hidden: 6);
        File.WriteAllText(dir["relevo-model.json"], """{ "maxTokens": 6 }""");
        using var encoder = SparseEncoder.Load(dir.Path);
        foreach (string text in Texts)
            AssertMatchesReference(encoder.Encode(text, topTerms: 1000), Reference(lm, text, 6), text);
        // Only the first four tokens count: the long text encodes like its first four words.
        Assert.Equal(encoder.Encode("The quick brown fox", 1000), encoder.Encode("The quick brown fox jumped over the lazy dog.", 1000));
        Assert.NotEqual(Reference(lm, "The quick brown fox", 512).Select(r => r.Term),
            Reference(lm, "The quick brown fox jumped over the lazy dog.", 512).Select(r => r.Term));
    }

    [Fact]
    public void Top_terms_keep_the_largest_with_ties_by_id()
    {
        using var dir = new TempDir();
        var lm = TinyMaskedLm.Write(dir.Path, seed: 3);
        // Four entries with all-zero W2 columns and the same bias have logit exactly 0.5 at every token: a tie.
        int[] tied = [9, 17, 26, 38];
        foreach (int t in tied)
        {
            for (int j = 0; j < lm.Hidden; j++) lm.W2[j * lm.VocabularySize + t] = 0;
            lm.B2[t] = 0.5f;
        }
        lm.Save(dir.Path);
        using var encoder = SparseEncoder.Load(dir.Path);
        const string text = "Running sparse search engines, quickly!";
        var all = encoder.Encode(text, topTerms: encoder.VocabularySize);
        AssertMatchesReference(all, Reference(lm, text, 512), text);

        int first = all.Select(a => a.Term).ToList().IndexOf(lm.Vocabulary[tied[0]]);
        Assert.True(first > 0 && first + tied.Length < all.Count, "the tie should sit inside the ranking");
        for (int k = 0; k < tied.Length; k++)
        {
            Assert.Equal(lm.Vocabulary[tied[k]], all[first + k].Term);
            Assert.Equal((float)Math.Log(1.5), all[first + k].Weight);
        }
        for (int k = 0; k <= all.Count + 1; k++)
            Assert.Equal(all.Take(k), encoder.Encode(text, k));
        // Cut inside the tie: the smaller ids are kept.
        var cut = encoder.Encode(text, first + 2);
        Assert.Equal([lm.Vocabulary[tied[0]], lm.Vocabulary[tied[1]]], cut.Skip(first).Select(c => c.Term));
        Assert.Throws<ArgumentOutOfRangeException>(() => encoder.Encode(text, -1));
    }

    [Fact]
    public void Concurrent_encodes_equal_sequential_ones()
    {
        using var dir = new TempDir();
        TinyMaskedLm.Write(dir.Path);
        using var encoder = SparseEncoder.Load(dir.Path, threads: 2);
        var expected = Texts.Select(t => encoder.Encode(t)).ToArray();
        var results = new IReadOnlyList<(string, float)>[Texts.Length * 20];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => results[i] = encoder.Encode(Texts[i % Texts.Length]));
        for (int i = 0; i < results.Length; i++) Assert.Equal(expected[i % Texts.Length], results[i]);
    }

    [Fact]
    public void Fingerprint_follows_the_weights_and_settings()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        TinyMaskedLm.Write(a.Path);
        TinyMaskedLm.Write(b.Path);
        string fa, fb;
        using (var ea = SparseEncoder.Load(a.Path)) fa = ea.Fingerprint;
        using (var eb = SparseEncoder.Load(b.Path)) fb = eb.Fingerprint;
        Assert.Equal(fa, fb);
        TinyMaskedLm.Write(b.Path, seed: 8);
        using (var eb = SparseEncoder.Load(b.Path)) Assert.NotEqual(fa, eb.Fingerprint);
        File.WriteAllText(a["relevo-model.json"], """{ "maxTokens": 64 }""");
        using (var ea = SparseEncoder.Load(a.Path)) Assert.NotEqual(fa, ea.Fingerprint);
    }

    [Fact]
    public void Missing_files_are_named()
    {
        using var dir = new TempDir();
        var lm = TinyMaskedLm.Write(dir.Path);
        File.Delete(dir["model.onnx"]);
        var e = Assert.Throws<RelevoException>(() => SparseEncoder.Load(dir.Path));
        Assert.Contains(dir["model.onnx"], e.Message);
        Assert.Contains("missing", e.Message);

        lm.Save(dir.Path);
        File.Delete(dir["vocab.txt"]);
        e = Assert.Throws<RelevoException>(() => SparseEncoder.Load(dir.Path));
        Assert.Contains(dir["vocab.txt"], e.Message);

        e = Assert.Throws<RelevoException>(() => SparseEncoder.Load(dir["nowhere"]));
        Assert.Contains(dir["nowhere"], e.Message);
    }

    [Fact]
    public void Logits_wider_or_narrower_than_the_vocabulary_are_rejected()
    {
        using var dir = new TempDir();
        TinyMaskedLm.Write(dir.Path);
        File.AppendAllText(dir["vocab.txt"], "extra\n");
        var e = Assert.Throws<RelevoException>(() => SparseEncoder.Load(dir.Path));
        Assert.Contains(dir["model.onnx"], e.Message);
        Assert.Contains("vocab.txt", e.Message);
        Assert.Contains($"{TinyMaskedLm.DefaultVocabulary.Length + 1}", e.Message);

        // Narrower than the logits too.
        TinyMaskedLm.Write(dir.Path);
        var lines = File.ReadAllLines(dir["vocab.txt"]);
        File.WriteAllLines(dir["vocab.txt"], lines[..^1]);
        e = Assert.Throws<RelevoException>(() => SparseEncoder.Load(dir.Path));
        Assert.Contains(dir["model.onnx"], e.Message);
        Assert.Contains("vocab.txt", e.Message);
    }

    [Fact]
    public void A_file_that_is_not_a_model_is_named()
    {
        using var dir = new TempDir();
        TinyMaskedLm.Write(dir.Path);
        File.WriteAllBytes(dir["model.onnx"], [1, 2, 3]);
        var e = Assert.Throws<RelevoException>(() => SparseEncoder.Load(dir.Path));
        Assert.Contains(dir["model.onnx"], e.Message);
    }
}
