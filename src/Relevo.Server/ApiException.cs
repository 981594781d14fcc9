namespace Relevo.Server;

/// <summary>A request the server refuses, with the HTTP status to answer and a message the client can act on.
/// Plain <see cref="RelevoException"/>s thrown while serving a request answer 400.</summary>
internal sealed class ApiException(int statusCode, string message) : RelevoException(message)
{
    public int StatusCode { get; } = statusCode;
}
