using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Relevo.Collections;

namespace Relevo.Server;

/// <summary>Reads the body of POST /api/documents: a JSON array of objects, or JSON lines (one object per line),
/// each with "_id" and optional "title" and "text" strings; other keys are the document's typed fields (as in a corpus:
/// typed by the index's schema when written, null and empty values absent).
/// The rules are the corpus reader's: UTF-8 only (a byte order mark is skipped at the start of the body), no \u
/// escape that leaves a lone surrogate, each of "_id", "title" and "text" at most once per object, and an "_id" that
/// keeps <see cref="DocumentIds"/>' rule. All documents are checked before any is written; errors name the item or
/// line and the field.</summary>
internal static class DocumentParser
{
    private static readonly string[] Fields = ["_id", "title", "text"];

    public static List<Document> Parse(ReadOnlySpan<byte> body)
    {
        if (body.StartsWith("\uFEFF"u8)) body = body[3..];
        var docs = new List<Document>();
        int first = 0;
        while (first < body.Length && IsSpace(body[first])) first++;
        if (first == body.Length) throw new RelevoException("request body: empty; send a JSON array or JSON lines of {\"_id\", \"title\", \"text\"}");
        if (body[first] == (byte)'[')
        {
            JsonDocument json;
            try
            {
                json = JsonDocument.Parse(body.ToArray());
            }
            catch (JsonException e)
            {
                throw new RelevoException($"request body: invalid JSON array (line {e.LineNumber + 1}): {Short(e.Message)}");
            }
            using (json)
            {
                int i = 0;
                foreach (var item in json.RootElement.EnumerateArray())
                    docs.Add(ToDocument(item, $"item {i++}"));
            }
            // Bytes that are not UTF-8 in a field that is not read (the fields that are read were checked above).
            if (!Utf8.IsValid(body))
                throw new RelevoException($"request body: invalid UTF-8 at byte {JsonlReader.ValidUtf8Prefix(body) + 1}");
        }
        else
        {
            int line = 0;
            while (body.Length > 0)
            {
                line++;
                int nl = body.IndexOf((byte)'\n');
                var text = nl < 0 ? body : body[..nl];
                body = nl < 0 ? [] : body[(nl + 1)..];
                if (text.Trim(" \t\r"u8).IsEmpty) continue;
                if (!Utf8.IsValid(text))
                {
                    int valid = JsonlReader.ValidUtf8Prefix(text);
                    string field = JsonlReader.FieldNameAt(text, valid) is { } name ? $"field \"{name}\": " : "";
                    throw new RelevoException($"request body line {line}: {field}invalid UTF-8 at byte {valid + 1} of the line");
                }
                JsonDocument json;
                try
                {
                    json = JsonDocument.Parse(text.ToArray());
                }
                catch (JsonException e)
                {
                    throw new RelevoException($"request body line {line}: invalid JSON: {Short(e.Message)}");
                }
                using (json) docs.Add(ToDocument(json.RootElement, $"line {line}"));
            }
        }
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var d in docs)
            if (!ids.Add(d.Id)) throw new RelevoException($"request body: _id '{d.Id}' occurs twice");
        return docs;
    }

    private static Document ToDocument(JsonElement e, string where)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new RelevoException($"request body {where}: expected an object, found {e.ValueKind}");
        // JSON allows a key twice and a reader would keep one of the values silently: refuse it for the keys read here.
        int seen = 0;
        HashSet<string>? others = null;
        System.Buffers.ArrayBufferWriter<byte>? extra = null;
        Utf8JsonWriter? writer = null;
        try
        {
            foreach (var property in e.EnumerateObject())
            {
                bool known = false;
                for (int f = 0; f < Fields.Length; f++)
                    if (property.NameEquals(Fields[f]))
                    {
                        known = true;
                        if ((seen & (1 << f)) != 0)
                            throw new RelevoException($"request body {where}: field \"{Fields[f]}\": the key appears twice in one object");
                        seen |= 1 << f;
                    }
                if (known) continue;
                if (!(others ??= new HashSet<string>(StringComparer.Ordinal)).Add(property.Name))
                    throw new RelevoException($"request body {where}: field \"{property.Name}\": the key appears twice in one object");
                var v = property.Value;
                if (v.ValueKind == JsonValueKind.Null || v.ValueKind == JsonValueKind.Object && !v.EnumerateObject().Any()
                    || v.ValueKind == JsonValueKind.Array && v.GetArrayLength() == 0) continue;
                if (writer is null)
                {
                    extra = new System.Buffers.ArrayBufferWriter<byte>();
                    writer = new Utf8JsonWriter(extra);
                    writer.WriteStartObject();
                }
                property.WriteTo(writer);
            }
        }
        catch (InvalidOperationException)
        {
            throw new RelevoException($"request body {where}: a key has a \\u escape that gives a lone surrogate (half of a UTF-16 pair), which is not valid Unicode");
        }
        string id = String(e, "_id", where) ?? throw new RelevoException($"request body {where}: missing field \"_id\"");
        if (DocumentIds.Problem(id) is { } problem) throw new RelevoException($"request body {where}: field \"_id\": {problem}");
        string? fields = null;
        if (writer is not null)
        {
            writer.WriteEndObject();
            writer.Flush();
            fields = Encoding.UTF8.GetString(extra!.WrittenSpan);
        }
        return new Document(id, String(e, "title", where) ?? "", String(e, "text", where) ?? "") { Fields = fields };
    }

    private static string? String(JsonElement e, string field, string where)
    {
        if (!e.TryGetProperty(field, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.String) throw new RelevoException($"request body {where}: field \"{field}\" must be a string, found {v.ValueKind}");
        try
        {
            return v.GetString();
        }
        catch (InvalidOperationException ex)
        {
            // GetString refuses bytes that are not UTF-8 and \u escapes that leave half of a surrogate pair.
            throw new RelevoException(ex.InnerException is DecoderFallbackException
                ? $"request body {where}: field \"{field}\": invalid UTF-8"
                : $"request body {where}: field \"{field}\": a \\u escape gives a lone surrogate (half of a UTF-16 pair), which is not valid Unicode");
        }
    }

    private static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n';

    private static string Short(string s)
    {
        int cut = s.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? s[..cut] : s;
    }
}
