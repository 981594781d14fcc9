using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Relevo.Collections;

/// <summary>Reads BEIR JSON-lines files (corpus.jsonl[.gz], queries.jsonl) strictly: invalid UTF-8, a \u escape that
/// leaves a lone surrogate, malformed JSON, a key that Relevo reads (_id, title, text) given twice in one object, a
/// field of the wrong type, a missing `_id` or (in a corpus) an `_id` that breaks <see cref="DocumentIds"/>' rule is an
/// error naming the file, line and field. A UTF-8 byte order mark is skipped at the start of the file only. A
/// `.gz` file is read through <see cref="CheckedGZipStream"/>, so a truncated or damaged one is an error too.</summary>
internal static class JsonlReader
{
    /// <summary>A parsed line: id, title (corpus only) and text.</summary>
    public readonly record struct Record(string Id, string Title, string Text, int Line, string? Fields = null);

    /// <summary>Fraction of the underlying file consumed (for progress bars): bytes read of the (compressed) file.</summary>
    public sealed class Position
    {
        public long BytesRead => _stream?.Position ?? 0;
        public long TotalBytes { get; internal set; }
        internal FileStream? _stream;
    }

    public static IEnumerable<Document> ReadCorpus(string path, Position? position = null)
    {
        foreach (var r in Read(path, requireText: false, position))
            yield return new Document(r.Id, r.Title, r.Text) { Fields = r.Fields };
    }

    /// <summary>Queries in file order; an empty query text is an error.</summary>
    public static List<(string Id, string Text)> ReadQueries(string path)
    {
        var list = new List<(string, string)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var r in Read(path, requireText: true, null))
        {
            if (!seen.Add(r.Id)) throw new RelevoException($"{path}:{r.Line}: field _id: duplicate query id '{r.Id}'");
            foreach (char c in r.Id)
                if (char.IsWhiteSpace(c))
                    throw new RelevoException($"{path}:{r.Line}: field _id: a query id cannot hold white space (TREC run and qrels lines separate fields by it)");
            list.Add((r.Id, r.Text));
        }
        return list;
    }

    public static IEnumerable<Record> Read(string path, bool requireText, Position? position) =>
        ReadLines(path, position, (p, line, bytes) => Parse(p, line, bytes, requireText));

    /// <summary>Parses one non-blank line (its bytes without the line end) of <paramref name="path"/>.</summary>
    internal delegate T LineParser<T>(string path, int line, ReadOnlySpan<byte> bytes);

    /// <summary>The file's non-blank lines (UTF-8 BOM skipped at the start, `.gz` decompressed and checked), each
    /// handed to <paramref name="parse"/> with its 1-based line number.</summary>
    internal static IEnumerable<T> ReadLines<T>(string path, Position? position, LineParser<T> parse)
    {
        if (Directory.Exists(path)) throw new RelevoException($"{path}: is a directory, not a JSON-lines file");
        if (!File.Exists(path)) throw new RelevoException($"{path}: file not found");
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        if (position is not null) { position._stream = file; position.TotalBytes = file.Length; }
        Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new CheckedGZipStream(file) : file;
        using var _ = stream;
        var buffer = new byte[1 << 16];
        int start = 0, end = 0, line = 0;
        bool eof = false;
        while (true)
        {
            int nl = Array.IndexOf(buffer, (byte)'\n', start, end - start);
            if (nl < 0 && !eof)
            {
                // Compact, grow if one line fills the buffer, then read more.
                if (start > 0) { Buffer.BlockCopy(buffer, start, buffer, 0, end - start); end -= start; start = 0; }
                if (end == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);
                int n;
                try { n = stream.Read(buffer, end, buffer.Length - end); }
                catch (InvalidDataException e) { throw new RelevoException($"{path}: {e.Message}"); }
                if (n == 0) eof = true;
                end += n;
                continue;
            }
            int lineEnd = nl < 0 ? end : nl;
            if (nl < 0 && start == end) yield break;
            line++;
            var bytes = buffer.AsSpan(start, lineEnd - start);
            if (bytes.Length > 0 && bytes[^1] == '\r') bytes = bytes[..^1];
            // A byte order mark is allowed (and skipped) at the start of the file only.
            if (line == 1 && bytes.StartsWith(Utf8Bom)) bytes = bytes[Utf8Bom.Length..];
            start = nl < 0 ? end : nl + 1;
            if (IsBlank(bytes)) continue;
            yield return parse(path, line, bytes);
        }
    }

    internal static ReadOnlySpan<byte> Utf8Bom => [0xEF, 0xBB, 0xBF];

    /// <summary>The fields a line is read for; each may appear once per object.</summary>
    private static readonly string[] Fields = ["_id", "title", "text"];

    /// <summary>Whether raw JSON is <c>{}</c> or <c>[]</c> (white space allowed inside).</summary>
    private static bool IsEmptyContainer(ReadOnlySpan<byte> raw) =>
        raw.Length >= 2 && (raw[0] == '{' && raw[^1] == '}' || raw[0] == '[' && raw[^1] == ']') && IsBlank(raw[1..^1], newlines: true);

    private static bool IsBlank(ReadOnlySpan<byte> b, bool newlines = false)
    {
        foreach (byte c in b) if (c != ' ' && c != '\t' && !(newlines && c is (byte)'\r' or (byte)'\n')) return false;
        return true;
    }

    private static Record Parse(string path, int line, ReadOnlySpan<byte> bytes, bool requireText)
    {
        if (!Utf8.IsValid(bytes))
        {
            int valid = ValidUtf8Prefix(bytes);
            throw new RelevoException($"{path}:{line}: {FieldAt(bytes, valid)}invalid UTF-8 at byte {valid + 1} of the line");
        }
        if (bytes.StartsWith(Utf8Bom))
            throw new RelevoException($"{path}:{line}: a byte order mark (EF BB BF) is allowed only at the start of the file");
        string? id = null, title = null, text = null;
        int seen = 0, field = -1;
        ArrayBufferWriter<byte>? extra = null;
        Utf8JsonWriter? extraWriter = null;
        HashSet<string>? extraKeys = null;
        string? key = null;
        try
        {
            var reader = new Utf8JsonReader(bytes);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw new RelevoException($"{path}:{line}: malformed JSON: a line must be one JSON object");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                field = reader.ValueTextEquals("_id"u8) ? 0 : reader.ValueTextEquals("title"u8) ? 1 : reader.ValueTextEquals("text"u8) ? 2 : -1;
                key = field < 0 && !requireText ? reader.GetString() : null;
                if (field >= 0)
                {
                    if ((seen & (1 << field)) != 0)
                        throw new RelevoException($"{path}:{line}: field {Fields[field]}: the key \"{Fields[field]}\" appears twice in one object");
                    seen |= 1 << field;
                }
                reader.Read();
                switch (field)
                {
                    case 0:
                        id = reader.TokenType switch
                        {
                            JsonTokenType.String => reader.GetString(),
                            JsonTokenType.Number => Encoding.UTF8.GetString(reader.ValueSpan),
                            _ => throw new RelevoException($"{path}:{line}: field _id: expected a string, found {reader.TokenType}"),
                        };
                        break;
                    case 1:
                        title = ReadString(path, line, ref reader, "title");
                        break;
                    case 2:
                        text = ReadString(path, line, ref reader, "text");
                        break;
                    default:
                        if (key is null) { reader.Skip(); break; }
                        // A corpus keeps its other keys (typed by the index's schema); null and empty values are absent.
                        int start = (int)reader.TokenStartIndex;
                        if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray) reader.Skip();
                        var raw = bytes[start..(int)reader.BytesConsumed];
                        bool empty = raw.SequenceEqual("null"u8) || IsEmptyContainer(raw);
                        if (!(extraKeys ??= new HashSet<string>(StringComparer.Ordinal)).Add(key))
                            throw new RelevoException($"{path}:{line}: field {key}: the key \"{key}\" appears twice in one object");
                        if (empty) break;
                        if (extraWriter is null)
                        {
                            extra = new ArrayBufferWriter<byte>();
                            extraWriter = new Utf8JsonWriter(extra);
                            extraWriter.WriteStartObject();
                        }
                        extraWriter.WritePropertyName(key);
                        extraWriter.WriteRawValue(raw, skipInputValidation: true);
                        break;
                }
                field = -1;
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
                throw new RelevoException($"{path}:{line}: malformed JSON: trailing content after the object");
        }
        catch (JsonException e)
        {
            throw new RelevoException($"{path}:{line}: malformed JSON: {TrimJsonMessage(e.Message)}");
        }
        catch (InvalidOperationException)
        {
            // What Utf8JsonReader throws when a \u escape leaves half of a surrogate pair, which no string can hold
            // as text (it could not be written as UTF-8).
            throw new RelevoException($"{path}:{line}: {(field >= 0 ? $"field {Fields[field]}: " : "")}" +
                                      "a \\u escape gives a lone surrogate (half of a UTF-16 pair), which is not valid Unicode");
        }
        if (id is null) throw new RelevoException($"{path}:{line}: field _id: missing");
        if (requireText)
        {
            if (id.Length == 0) throw new RelevoException($"{path}:{line}: field _id: empty");
            if (string.IsNullOrWhiteSpace(text))
                throw new RelevoException($"{path}:{line}: field text: {(text is null ? "missing" : "empty query")}");
        }
        else if (DocumentIds.Problem(id) is { } problem)
        {
            throw new RelevoException($"{path}:{line}: field _id: {problem}");
        }
        string? fields = null;
        if (extraWriter is not null)
        {
            extraWriter.WriteEndObject();
            extraWriter.Flush();
            fields = Encoding.UTF8.GetString(extra!.WrittenSpan);
        }
        return new Record(id, title ?? "", text ?? "", line, fields);
    }

    /// <summary>How many bytes at the start of <paramref name="bytes"/> are valid UTF-8.</summary>
    internal static int ValidUtf8Prefix(ReadOnlySpan<byte> bytes)
    {
        var scratch = new char[bytes.Length];
        Utf8.ToUtf16(bytes, scratch, out int valid, out _, replaceInvalidSequences: false);
        return valid;
    }

    /// <summary>"field NAME: " for the JSON field whose value holds byte <paramref name="offset"/>, or "" if none.</summary>
    private static string FieldAt(ReadOnlySpan<byte> bytes, int offset) =>
        FieldNameAt(bytes, offset) is { } name ? $"field {name}: " : "";

    /// <summary>The name of the JSON field whose value holds byte <paramref name="offset"/> of a line with invalid
    /// UTF-8, or null if none. Invalid bytes are masked with '?' (same length) so the line can be parsed to find it.</summary>
    internal static string? FieldNameAt(ReadOnlySpan<byte> bytes, int offset)
    {
        var masked = bytes.ToArray();
        var scratch = new char[masked.Length];
        int at = 0;
        while (at < masked.Length)
        {
            if (Utf8.ToUtf16(masked.AsSpan(at), scratch, out int ok, out _, replaceInvalidSequences: false) == OperationStatus.Done) break;
            at += ok;
            masked[at++] = (byte)'?';
        }
        try
        {
            var reader = new Utf8JsonReader(masked);
            string? name = null;
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName) { name = reader.GetString(); continue; }
                long start = reader.TokenStartIndex, end = start + reader.ValueSpan.Length + 2;
                if (name is not null && offset >= start && offset < end) return name;
            }
        }
        catch (JsonException) { }
        catch (InvalidOperationException) { } // a key with a lone surrogate escape
        return null;
    }

    private static string? ReadString(string path, int line, ref Utf8JsonReader reader, string field) => reader.TokenType switch
    {
        JsonTokenType.String => reader.GetString(),
        JsonTokenType.Null => null,
        _ => throw new RelevoException($"{path}:{line}: field {field}: expected a string, found {reader.TokenType}"),
    };

    internal static string TrimJsonMessage(string m)
    {
        int i = m.IndexOf(" LineNumber", StringComparison.Ordinal);
        return i > 0 ? m[..i] : m;
    }
}
