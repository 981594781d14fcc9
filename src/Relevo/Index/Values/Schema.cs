using System.Globalization;
using System.Text.Json;

namespace Relevo.Index.Values;

/// <summary>The type of a document field: analysed text (title and text), or a typed value kept as doc values for
/// filters, sorting and facets.</summary>
internal enum FieldType { Text, Keyword, Integer, Float, Date, Boolean }

/// <summary>What each key of a document is: <c>title</c> and <c>text</c> are text; every other key (nested objects
/// flattened with dots, <c>meta.lang</c>) is typed, as a schema file declares (<c>relevo index --schema F</c>:
/// <c>{"year": "integer", "lang": "keyword", "abstract": "text"}</c>) or as the first document that has the key shows
/// (a JSON number without a fraction: integer; with one: float; true/false: boolean; a string that is an ISO date:
/// date; any other string: keyword), as Elasticsearch's dynamic mapping infers. Text is never inferred: a key is
/// analysed text only when declared so. Arrays hold several values of the key's type. A type never changes once the
/// index has it; a value that does not fit is an error naming the file, line and field. The schema is committed in
/// the manifest.</summary>
internal sealed class Schema
{
    private readonly SortedDictionary<string, FieldType> _types = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _inferredAt = new(StringComparer.Ordinal);

    /// <summary>Keyword values longer than this (UTF-8 bytes) are refused, as Lucene refuses such terms.</summary>
    public const int MaxKeywordBytes = 32766;
    /// <summary>At most this many typed fields (keys are data; an index is not a key-value store).</summary>
    public const int MaxFields = 1000;

    public bool IsEmpty => _types.Count == 0;
    public int Count => _types.Count;

    /// <summary>Whether a key was added since the schema was read (the next commit records it).</summary>
    public bool Changed { get; private set; }

    /// <summary>Whether <paramref name="field"/> is declared text (a key other than title and text: analysed, with
    /// postings, norms and statistics of its own, searched as <c>field:word</c> or in <c>bm25(fields=…)</c>).</summary>
    public bool IsText(string field) => _types.TryGetValue(field, out var t) && t == FieldType.Text;

    /// <summary>The keys declared text, in name order (title and text are text without being declared).</summary>
    public IEnumerable<string> TextFields
    {
        get { foreach (var (f, t) in _types) if (t == FieldType.Text) yield return f; }
    }

    /// <summary>The fields with doc values (every key but those declared text), in name order.</summary>
    public IEnumerable<(string Field, FieldType Type)> Valued
    {
        get { foreach (var (f, t) in _types) if (t != FieldType.Text) yield return (f, t); }
    }


    public FieldType? TypeOf(string field) => _types.TryGetValue(field, out var t) ? t : null;

    /// <summary>The type of a field with doc values (filters, facets, sorting); null for one declared text or unknown.</summary>
    public FieldType? ValueTypeOf(string field) => _types.TryGetValue(field, out var t) && t != FieldType.Text ? t : null;

    /// <summary>Why <paramref name="field"/> has no doc values to <paramref name="use"/> ("filter on", "count or sort
    /// by"): it is text, or the index does not have it (naming the fields it has).</summary>
    public string NoValuesReason(string field, string use)
    {
        if (field is "title" or "text" or "contents" || IsText(field))
            return $"'{field}' is a text field; only typed fields (keyword, integer, float, date, boolean) have values to {use} — search text in the query";
        return Valued.Any()
            ? $"the index has no field '{field}' (its typed fields: {string.Join(", ", Valued.Select(f => f.Field))})"
            : $"the index has no typed fields, so it has no '{field}' to {use} (index documents with other keys than title and text, or declare them with --schema)";
    }

    public static string Name(FieldType t) => t.ToString().ToLowerInvariant();

    public static FieldType Parse(string type, string where) => type switch
    {
        "keyword" => FieldType.Keyword,
        "integer" or "long" => FieldType.Integer,
        "float" or "double" => FieldType.Float,
        "date" => FieldType.Date,
        "boolean" => FieldType.Boolean,
        "text" => FieldType.Text,
        _ => throw new RelevoException($"{where}: unknown type '{type}' (the types are keyword, integer, float, date, boolean, text)"),
    };

    /// <summary>The schema a manifest recorded (null: none).</summary>
    public static Schema FromManifest(IReadOnlyDictionary<string, string>? recorded)
    {
        var s = new Schema();
        if (recorded is null) return s;
        foreach (var (f, t) in recorded) s._types[f] = Parse(t, "manifest: schema field " + f);
        return s;
    }

    /// <summary>What the manifest records (null when no key is typed).</summary>
    public IReadOnlyDictionary<string, string>? ToManifest()
    {
        if (_types.Count == 0) return null;
        var d = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (f, t) in _types) d[f] = Name(t);
        return d;
    }

    /// <summary>Adds the declarations of a schema file: a JSON object of field → type, or Elasticsearch's
    /// <c>{"properties": {"year": {"type": "integer"}}}</c>. A field the index already has with another type is an
    /// error (types never change). A key declared <c>text</c> is analysed as title and text are (never inferred: a
    /// string is a keyword unless declared text).</summary>
    public void Declare(string path)
    {
        if (!File.Exists(path)) throw new RelevoException($"{path}: file not found");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new RelevoException($"{path}: malformed JSON: {Collections.JsonlReader.TrimJsonMessage(e.Message)}"); }
        using var _ = doc;
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new RelevoException($"{path}: a schema is one JSON object of field names to types");
        if (root.TryGetProperty("properties", out var props) && props.ValueKind == JsonValueKind.Object) root = props;
        foreach (var p in root.EnumerateObject())
        {
            string where = $"{path}: field {p.Name}";
            string type = p.Value.ValueKind switch
            {
                JsonValueKind.String => p.Value.GetString()!,
                JsonValueKind.Object when p.Value.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String => t.GetString()!,
                _ => throw new RelevoException($"{where}: expected a type name (\"keyword\") or {{\"type\": \"keyword\"}}"),
            };
            var ft = Parse(type, where);
            if (p.Name is "_id") throw new RelevoException($"{where}: _id is the document's id, not a field");
            if (p.Name is "title" or "text")
            {
                if (ft != FieldType.Text) throw new RelevoException($"{where}: title and text are always text");
                continue;
            }
            if (p.Name == "contents")
                throw new RelevoException($"{where}: 'contents' names the concatenated title and text, which every index has; give the key another name");
            if (ft == FieldType.Text && (p.Name.Length == 0 || p.Name.Length > MaxTextFieldName || Fields.TextFields.FileToken(p.Name).Length > 2 * MaxTextFieldName))
                throw new RelevoException($"{where}: a text field's name is at most {MaxTextFieldName} characters, fewer outside a-z and 0-9 (it names the field's files)");
            Add(p.Name, ft, where);
        }
    }

    /// <summary>The longest name a text field may have (its files are named by it, <see cref="Fields.TextFields.FileToken"/>).</summary>
    public const int MaxTextFieldName = 48;

    /// <summary>Adds types decided elsewhere (the manifest's form); a conflict is an error.</summary>
    public void DeclareTypes(IReadOnlyDictionary<string, string> types)
    {
        foreach (var (f, t) in types) Add(f, Parse(t, "schema field " + f), "schema field " + f);
    }

    private void Add(string field, FieldType type, string where)
    {
        if (_types.TryGetValue(field, out var had))
        {
            if (had != type) throw new RelevoException($"{where}: the index has it as {Name(had)}, and a field's type never changes");
            return;
        }
        if (_types.Count >= MaxFields) throw new RelevoException($"{where}: more than {MaxFields} typed fields");
        _types[field] = type;
        Changed = true;
    }

    /// <summary>Checks a document's other keys (<see cref="Document.Fields"/>) against the schema, typing keys it has
    /// not seen by their values; errors name <paramref name="where"/> ("file:line") and the field.</summary>
    public void Check(string? fieldsJson, string where, int line = 0)
    {
        if (fieldsJson is null) return;
        ForEachValue(fieldsJson, where, (field, value) =>
        {
            if (!_types.TryGetValue(field, out var type))
            {
                for (int dot = field.IndexOf('.'); dot > 0; dot = field.IndexOf('.', dot + 1))
                    if (IsText(field[..dot]))
                        throw new RelevoException($"{where}: field {field[..dot]}: expected text (a string, or an array of them), found an object");
                type = Infer(value);
                Add(field, type, $"{where}: field {field}");
                _inferredAt[field] = line;
            }
            try
            {
                Convert(type, value, field, where);
            }
            catch (RelevoException e) when (_inferredAt.TryGetValue(field, out int at) && at > 0 && at != line)
            {
                throw new RelevoException($"{e.Message} (the type was inferred from line {at}; declare it with --schema to choose another)", e);
            }
        });
    }

    /// <summary>Every (flattened field, scalar value) of a document's other keys, arrays unrolled.</summary>
    public static void ForEachValue(string fieldsJson, string where, Action<string, JsonElement> visit)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(fieldsJson); }
        catch (JsonException e) { throw new RelevoException($"{where}: malformed fields JSON: {Collections.JsonlReader.TrimJsonMessage(e.Message)}"); }
        using var _ = doc;
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new RelevoException($"{where}: fields must be one JSON object");
        string? current = null;
        try
        {
            Walk("", doc.RootElement, where, (field, value) =>
            {
                current = field;
                visit(field, value);
            });
        }
        catch (InvalidOperationException)
        {
            // what reading a string whose \u escape leaves half of a surrogate pair throws
            throw new RelevoException($"{where}: {(current is null ? "" : $"field {current}: ")}" +
                                      "a \\u escape gives a lone surrogate (half of a UTF-16 pair), which is not valid Unicode");
        }
    }

    private static void Walk(string prefix, JsonElement e, string where, Action<string, JsonElement> visit)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var p in e.EnumerateObject())
                {
                    string name = prefix.Length == 0 ? p.Name : prefix + "." + p.Name;
                    if (prefix.Length == 0 && name is "_id" or "title" or "text")
                        throw new RelevoException($"{where}: field {name}: given twice");
                    Walk(name, p.Value, where, visit);
                }
                break;
            case JsonValueKind.Array:
                foreach (var v in e.EnumerateArray())
                {
                    if (v.ValueKind == JsonValueKind.Array) throw new RelevoException($"{where}: field {prefix}: arrays inside arrays are not supported");
                    Walk(prefix, v, where, visit);
                }
                break;
            case JsonValueKind.Null:
                break;
            default:
                if (prefix.Length == 0) throw new RelevoException($"{where}: fields must be one JSON object");
                visit(prefix, e);
                break;
        }
    }

    private static FieldType Infer(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.True or JsonValueKind.False => FieldType.Boolean,
        JsonValueKind.Number => v.TryGetInt64(out _) ? FieldType.Integer : FieldType.Float,
        JsonValueKind.String => TryDate(v.GetString()!, out _) ? FieldType.Date : FieldType.Keyword,
        _ => FieldType.Keyword,
    };

    /// <summary>A value as the long doc values keep: integers as they are, floats as order-preserving bits, dates as
    /// milliseconds since 1970 (UTC), booleans as 0 and 1; keywords are not numbers (<see cref="KeywordOf"/>).</summary>
    public static long Convert(FieldType type, JsonElement v, string field, string where)
    {
        switch (type)
        {
            case FieldType.Integer:
                if (v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long l)) return l;
                if (v.ValueKind == JsonValueKind.String && long.TryParse(v.GetString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out l)) return l;
                throw Mismatch(type, v, field, where);
            case FieldType.Float:
                if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) && double.IsFinite(d)) return SortableBits(d);
                if (v.ValueKind == JsonValueKind.String && double.TryParse(v.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out d) && double.IsFinite(d))
                    return SortableBits(d);
                throw Mismatch(type, v, field, where);
            case FieldType.Date:
                if (v.ValueKind == JsonValueKind.String && TryDate(v.GetString()!, out long ms)) return ms;
                if (v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out ms) && ms >= MinMillis && ms <= MaxMillis) return ms;
                throw Mismatch(type, v, field, where);
            case FieldType.Boolean:
                if (v.ValueKind == JsonValueKind.True || v.ValueKind == JsonValueKind.String && v.GetString() == "true") return 1;
                if (v.ValueKind == JsonValueKind.False || v.ValueKind == JsonValueKind.String && v.GetString() == "false") return 0;
                throw Mismatch(type, v, field, where);
            case FieldType.Keyword:
                KeywordOf(v, field, where);
                return 0;
            default:
                TextOf(v, field, where);
                return 0;
        }
    }

    /// <summary>A text field's value: a string as it is; a number or boolean as its JSON text (Elasticsearch coerces so).</summary>
    public static string TextOf(JsonElement v, string field, string where) => ScalarText(FieldType.Text, v, field, where);

    private static string ScalarText(FieldType type, JsonElement v, string field, string where) => v.ValueKind switch
    {
        JsonValueKind.String => v.GetString()!,
        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => v.GetRawText(),
        _ => throw Mismatch(type, v, field, where),
    };

    /// <summary>A keyword value: a string as it is; a number or boolean as its JSON text (Elasticsearch coerces so).</summary>
    public static string KeywordOf(JsonElement v, string field, string where)
    {
        string s = ScalarText(FieldType.Keyword, v, field, where);
        if (System.Text.Encoding.UTF8.GetByteCount(s) > MaxKeywordBytes)
            throw new RelevoException($"{where}: field {field}: a keyword value is longer than {MaxKeywordBytes} bytes");
        return s;
    }

    private static RelevoException Mismatch(FieldType type, JsonElement v, string field, string where)
    {
        string shown = v.GetRawText();
        if (shown.Length > 60) shown = shown[..60] + "…";
        string article = type is FieldType.Integer ? "an" : "a";
        return new RelevoException($"{where}: field {field}: expected {article} {Name(type)}, found {shown}");
    }

    /// <summary>Order-preserving long bits of a double (Lucene's NumericUtils.doubleToSortableLong).</summary>
    public static long SortableBits(double d)
    {
        long bits = BitConverter.DoubleToInt64Bits(d == 0 ? 0.0 : d); // -0 and 0 are one value
        return bits ^ ((bits >> 63) & 0x7fffffffffffffffL);
    }

    public static double FromSortableBits(long bits) => BitConverter.Int64BitsToDouble(bits ^ ((bits >> 63) & 0x7fffffffffffffffL));

    /// <summary>Milliseconds of 0001-01-01 and of the last millisecond of 9999 (UTC): the dates a date field holds.</summary>
    public const long MinMillis = -62135596800000, MaxMillis = 253402300799999;

    private static readonly string[] DateFormats =
    [
        "yyyy-MM-dd", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF",
        "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", "yyyy-MM-dd'T'HH:mmK",
    ];

    /// <summary>An ISO-8601 date or date-time (strict: yyyy-MM-dd, optionally 'T' and a time, optionally a zone;
    /// without one, UTC) as milliseconds since 1970-01-01 UTC.</summary>
    public static bool TryDate(string s, out long millis)
    {
        millis = 0;
        if (s.Length < 10 || s.Length > 40 || s[4] != '-' || s[7] != '-') return false;
        if (!DateTimeOffset.TryParseExact(s, DateFormats, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t)) return false;
        millis = t.ToUnixTimeMilliseconds();
        return true;
    }

    /// <summary>A value as a person reads it back (facets, sorting): dates as ISO dates, floats as numbers.</summary>
    public static string Display(FieldType type, long value) => type switch
    {
        FieldType.Float => FromSortableBits(value).ToString("R", CultureInfo.InvariantCulture),
        FieldType.Date => DateTimeOffset.FromUnixTimeMilliseconds(value).UtcDateTime is var t && t.TimeOfDay == TimeSpan.Zero
            ? t.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) : t.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
        FieldType.Boolean => value != 0 ? "true" : "false",
        _ => value.ToString(CultureInfo.InvariantCulture),
    };
}
