using System.Text.Json;
using Relevo.Index;

namespace Relevo.Server;

/// <summary>Reads the body of POST /api/documents: a JSON array of objects, or JSON lines (one object per line),
/// each with "_id" and optional "title" and "text" strings (other fields are ignored, as in BEIR corpora).
/// All documents are checked before any is written; errors name the item or line and the field.</summary>
internal static class DocumentParser
{
    public static List<Document> Parse(ReadOnlySpan<byte> body)
    {
        var docs = new List<Document>();
        int first = 0;
        while (first < body.Length && IsSpace(body[first])) first++;
        if (first == body.Length) throw new RelevoException("request body: empty; send a JSON array or JSON lines of {\"_id\", \"title\", \"text\"}");
        if (body.Length - first >= 3 && body[first] == 0xEF && body[first + 1] == 0xBB && body[first + 2] == 0xBF) first += 3;
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
        string id = String(e, "_id", where) ?? throw new RelevoException($"request body {where}: missing field \"_id\"");
        if (id.Length == 0) throw new RelevoException($"request body {where}: field \"_id\" is empty");
        if (id.Length > 512) throw new RelevoException($"request body {where}: field \"_id\" is longer than 512 characters");
        return new Document(id, String(e, "title", where) ?? "", String(e, "text", where) ?? "");
    }

    private static string? String(JsonElement e, string field, string where)
    {
        if (!e.TryGetProperty(field, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.String) throw new RelevoException($"request body {where}: field \"{field}\" must be a string, found {v.ValueKind}");
        return v.GetString();
    }

    private static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n';

    private static string Short(string s)
    {
        int cut = s.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? s[..cut] : s;
    }
}
