using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Relevo.Collections;

/// <summary>Reads Anserini's JsonVectorCollection, the shape Pyserini's pre-encoded learned sparse corpora and queries
/// come in (SPLADE, uniCOIL, DeepImpact): one JSON object per line, <c>{"id": ..., "contents": ..., "vector":
/// {"term": weight, ...}}</c> (also "_id" or "docid" for the id, "text" for the contents). Weights are numbers, floats
/// or integers. Strictly: a non-numeric, negative, infinite or NaN weight, an empty vector, a term that is empty or
/// holds white space, a term given twice, or a missing or bad id is an error naming the file, line and field.
/// Terms with weight 0 are dropped (they cannot score).</summary>
internal static class JsonVectorReader
{
    /// <summary>One line: the id, the contents (stored, "" if absent) and the terms with their weights in file order.</summary>
    public sealed record VectorRecord(string Id, string Contents, (string Term, float Weight)[] Vector, int Line);

    public static IEnumerable<VectorRecord> Read(string path, JsonlReader.Position? position = null, bool isQuery = false) =>
        JsonlReader.ReadLines(path, position, (p, line, bytes) => Parse(p, line, bytes, isQuery));

    /// <summary>Whether the first non-blank line of a JSON-lines file is an object with a "vector" key (a pre-encoded
    /// query or corpus file rather than BEIR's).</summary>
    public static bool HasVectors(string path)
    {
        foreach (bool has in JsonlReader.ReadLines(path, null, (_, _, bytes) => FirstLineHasVector(bytes))) return has;
        return false;
    }

    private static bool FirstLineHasVector(ReadOnlySpan<byte> bytes)
    {
        try
        {
            var reader = new Utf8JsonReader(bytes);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("vector"u8)) return true;
                reader.Read();
                reader.Skip();
            }
        }
        catch (JsonException) { }
        catch (InvalidOperationException) { }
        return false;
    }

    /// <summary>Pre-encoded queries: a JSON-lines file of vectors (the query's text is its terms as "term^weight"), or
    /// Anserini's TSV <c>qid&lt;TAB&gt;term term term</c> (a repeated term weighs its count), or BEIR's queries.jsonl.</summary>
    public static List<(string Id, string Text)> ReadQueries(string path)
    {
        string name = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? path[..^3] : path;
        if (name.EndsWith(".tsv", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".txt", StringComparison.OrdinalIgnoreCase))
            return ReadTsvQueries(path);
        if (!HasVectors(path)) return JsonlReader.ReadQueries(path);
        var list = new List<(string, string)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var r in Read(path, null, isQuery: true))
        {
            if (!seen.Add(r.Id)) throw new RelevoException($"{path}:{r.Line}: field id: duplicate query id '{r.Id}'");
            list.Add((r.Id, QueryText(r.Vector)));
        }
        return list;
    }

    /// <summary>A weighted query as the text <see cref="Search.Query.ParseWeighted"/> reads: "term^weight ...".</summary>
    public static string QueryText(IReadOnlyList<(string Term, float Weight)> vector)
    {
        var sb = new StringBuilder();
        foreach (var (term, weight) in vector)
        {
            if (sb.Length > 0) sb.Append(' ');
            sb.Append(term);
            if (weight != 1) sb.Append('^').Append(weight.ToString("R", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    private static List<(string Id, string Text)> ReadTsvQueries(string path)
    {
        var list = new List<(string, string)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (id, text) in JsonlReader.ReadLines(path, null, (p, line, bytes) => ParseTsv(p, line, bytes)))
        {
            if (!seen.Add(id)) throw new RelevoException($"{path}: duplicate query id '{id}'");
            list.Add((id, text));
        }
        return list;
    }

    private static (string, string) ParseTsv(string path, int line, ReadOnlySpan<byte> bytes)
    {
        if (!Utf8.IsValid(bytes))
            throw new RelevoException($"{path}:{line}: invalid UTF-8 at byte {JsonlReader.ValidUtf8Prefix(bytes) + 1} of the line");
        string s = Encoding.UTF8.GetString(bytes);
        int tab = s.IndexOf('\t');
        if (tab <= 0) throw new RelevoException($"{path}:{line}: field id: expected 'qid<TAB>query text'");
        string id = s[..tab].Trim(), text = s[(tab + 1)..].Trim();
        if (id.Length == 0 || id.Any(char.IsWhiteSpace)) throw new RelevoException($"{path}:{line}: field id: '{id}' is empty or holds white space");
        if (text.Length == 0) throw new RelevoException($"{path}:{line}: field text: empty query");
        return (id, text);
    }

    private static VectorRecord Parse(string path, int line, ReadOnlySpan<byte> bytes, bool isQuery)
    {
        string where = $"{path}:{line}";
        if (!Utf8.IsValid(bytes))
            throw new RelevoException($"{where}: invalid UTF-8 at byte {JsonlReader.ValidUtf8Prefix(bytes) + 1} of the line");
        string? id = null, contents = null;
        List<(string, float)>? vector = null;
        string field = "";
        try
        {
            var reader = new Utf8JsonReader(bytes);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw new RelevoException($"{where}: malformed JSON: a line must be one JSON object");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                field = reader.GetString() ?? "";
                reader.Read();
                switch (field)
                {
                    case "id" or "_id" or "docid":
                        if (id is not null) throw new RelevoException($"{where}: field {field}: the document id is given twice");
                        id = reader.TokenType switch
                        {
                            JsonTokenType.String => reader.GetString(),
                            JsonTokenType.Number => Encoding.UTF8.GetString(reader.ValueSpan),
                            _ => throw new RelevoException($"{where}: field {field}: expected a string, found {reader.TokenType}"),
                        };
                        break;
                    case "contents" or "text":
                        if (contents is not null) throw new RelevoException($"{where}: field {field}: the contents are given twice");
                        contents = reader.TokenType switch
                        {
                            JsonTokenType.String => reader.GetString(),
                            JsonTokenType.Null => "",
                            _ => throw new RelevoException($"{where}: field {field}: expected a string, found {reader.TokenType}"),
                        };
                        break;
                    case "vector":
                        if (vector is not null) throw new RelevoException($"{where}: field vector: given twice");
                        vector = ReadVector(where, ref reader);
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
                throw new RelevoException($"{where}: malformed JSON: trailing content after the object");
        }
        catch (JsonException e)
        {
            throw new RelevoException($"{where}: malformed JSON{(field.Length > 0 ? $" (at field {field})" : "")}: {JsonlReader.TrimJsonMessage(e.Message)}");
        }
        catch (InvalidOperationException)
        {
            throw new RelevoException($"{where}: {(field.Length > 0 ? $"field {field}: " : "")}a \\u escape gives a lone surrogate, which is not valid Unicode");
        }
        if (id is null) throw new RelevoException($"{where}: field id: missing");
        if (isQuery ? id.Length == 0 || id.Any(char.IsWhiteSpace) : DocumentIds.Problem(id) is not null)
            throw new RelevoException($"{where}: field id: {(isQuery ? $"'{id}' is empty or holds white space" : DocumentIds.Problem(id))}");
        if (vector is null) throw new RelevoException($"{where}: field vector: missing");
        int kept = 0;
        foreach (var (_, w) in vector) if (w > 0) kept++;
        if (kept == 0) throw new RelevoException($"{where}: field vector: empty (no term has a positive weight)");
        var terms = new (string, float)[kept];
        kept = 0;
        foreach (var t in vector) if (t.Item2 > 0) terms[kept++] = t;
        return new VectorRecord(id, contents ?? "", terms, line);
    }

    private static List<(string, float)> ReadVector(string where, ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new RelevoException($"{where}: field vector: expected an object of term: weight pairs, found {reader.TokenType}");
        var list = new List<(string, float)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string term = reader.GetString() ?? "";
            string f = $"vector.{term}";
            if (term.Length == 0) throw new RelevoException($"{where}: field vector: a term is empty");
            foreach (char c in term)
                if (char.IsWhiteSpace(c))
                    throw new RelevoException($"{where}: field {f}: a term cannot hold white space (queries separate terms by it)");
            if (!seen.Add(term)) throw new RelevoException($"{where}: field {f}: the term is given twice");
            reader.Read();
            if (reader.TokenType != JsonTokenType.Number)
                throw new RelevoException($"{where}: field {f}: the weight must be a number, found {reader.TokenType}");
            if (!double.TryParse(Encoding.UTF8.GetString(reader.ValueSpan), NumberStyles.Float, CultureInfo.InvariantCulture, out double w) ||
                double.IsNaN(w) || double.IsInfinity(w) || w > float.MaxValue)
                throw new RelevoException($"{where}: field {f}: the weight {Encoding.UTF8.GetString(reader.ValueSpan)} is not a finite number");
            if (w < 0) throw new RelevoException($"{where}: field {f}: the weight {w.ToString(CultureInfo.InvariantCulture)} is negative");
            list.Add((term, (float)w));
        }
        return list;
    }
}
