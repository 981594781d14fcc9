namespace Relevo.Server;

/// <summary>A request the server refuses, with the HTTP status to answer and a message the client can act on.
/// Plain <see cref="RelevoException"/>s thrown while serving a request answer 400.</summary>
internal sealed class ApiException(int statusCode, string message) : RelevoException(message)
{
    public int StatusCode { get; } = statusCode;

    /// <summary>Sent as the Retry-After header (whole seconds) when set: the request may succeed if sent again later.</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>Close the connection after the answer: the request body was not read to its end (it is too large, or
    /// too slow), so the connection cannot carry another request.</summary>
    public bool CloseConnection { get; init; }
}
