namespace Relevo.Search;

/// <summary>The cancellation of the search running on this thread (a client that left, a time budget), for scorers
/// whose work grows with the postings rather than with k: exhaustive matching of a query's tree checks it every block
/// of postings and every few thousand candidates. Searches run synchronously on the thread that enters the scope.</summary>
internal static class SearchCancellation
{
    [ThreadStatic] private static CancellationToken t_token;

    /// <summary>Makes <paramref name="token"/> the current search's until the scope is disposed (scopes nest).</summary>
    public static Scope Enter(CancellationToken token)
    {
        var previous = t_token;
        t_token = token;
        return new Scope(previous);
    }

    /// <summary>Throws <see cref="OperationCanceledException"/> when the current search was cancelled.</summary>
    public static void ThrowIfCancelled()
    {
        if (t_token.IsCancellationRequested) t_token.ThrowIfCancellationRequested();
    }

    public readonly struct Scope(CancellationToken previous) : IDisposable
    {
        public void Dispose() => t_token = previous;
    }
}
