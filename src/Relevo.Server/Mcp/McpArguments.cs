using System.Text;
using System.Text.Json;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Relevo.Server.Mcp;

/// <summary>Checks a tool call's arguments against the tool's input schema before they are bound, so that an agent's
/// mistake (an unknown name, a missing required argument, a string where a number goes) comes back as a tool error
/// naming the argument and what was expected, which the agent can correct, instead of a generic failure.</summary>
internal static class McpArguments
{
    /// <summary>The call-tool filter.</summary>
    public static McpRequestHandler<CallToolRequestParams, CallToolResult> Filter(McpRequestHandler<CallToolRequestParams, CallToolResult> next) =>
        async (request, cancellation) =>
        {
            if (request.MatchedPrimitive is McpServerTool tool && request.Params is { } p
                && Problem(tool.ProtocolTool, p.Arguments) is { } problem)
                return Error(problem);
            try
            {
                return await next(request, cancellation);
            }
            catch (Exception e) when (e is ArgumentException or JsonException)
            {
                return Error($"{request.Params?.Name}: the arguments could not be read ({e.Message})");
            }
        };

    private static CallToolResult Error(string message) => new() { IsError = true, Content = [new TextContentBlock { Text = message }] };

    /// <summary>What is wrong with the arguments, or null.</summary>
    internal static string? Problem(Tool tool, IDictionary<string, JsonElement>? arguments)
    {
        var schema = tool.InputSchema;
        if (!schema.TryGetProperty("properties", out var properties) || properties.ValueKind != JsonValueKind.Object) return null;
        if (arguments is not null)
            foreach (var (name, value) in arguments)
            {
                if (!properties.TryGetProperty(name, out var property))
                    return $"{tool.Name}: unknown argument '{McpTools.Shown(name)}'; it takes {Names(properties)}";
                if (Expected(property, value) is { } expected)
                    return $"{name}: expected {expected}, found {Describe(value)}";
            }
        if (schema.TryGetProperty("required", out var required) && required.ValueKind == JsonValueKind.Array)
            foreach (var r in required.EnumerateArray())
                if (r.GetString() is { } name && (arguments is null || !arguments.ContainsKey(name)))
                    return $"{name}: required ({tool.Name} takes {Names(properties)})";
        return null;
    }

    /// <summary>The JSON type the schema wants when the value is not of it (top level only), or null when it fits.</summary>
    private static string? Expected(JsonElement property, JsonElement value)
    {
        if (!property.TryGetProperty("type", out var type)) return null;
        var types = new List<string>();
        if (type.ValueKind == JsonValueKind.String) types.Add(type.GetString()!);
        else if (type.ValueKind == JsonValueKind.Array)
            foreach (var t in type.EnumerateArray()) if (t.GetString() is { } s) types.Add(s);
        foreach (var t in types)
            if (Fits(t, value)) return null;
        return types.Count == 0 ? null : string.Join(" or ", types.ConvertAll(t => t switch
        {
            "integer" => "an integer",
            "array" => "an array",
            "object" => "an object",
            "null" => "null",
            _ => "a " + t,
        }));
    }

    private static bool Fits(string type, JsonElement value) => type switch
    {
        "string" => value.ValueKind == JsonValueKind.String,
        "integer" => value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out _),
        "number" => value.ValueKind == JsonValueKind.Number,
        "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "array" => value.ValueKind == JsonValueKind.Array,
        "object" => value.ValueKind == JsonValueKind.Object,
        "null" => value.ValueKind == JsonValueKind.Null,
        _ => true,
    };

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => value.TryGetInt32(out _) ? "an integer" : $"the number {value.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => "null",
    };

    private static string Names(JsonElement properties)
    {
        var b = new StringBuilder();
        foreach (var p in properties.EnumerateObject())
        {
            if (b.Length > 0) b.Append(", ");
            b.Append(p.Name);
        }
        return b.Length == 0 ? "no arguments" : b.ToString();
    }
}
