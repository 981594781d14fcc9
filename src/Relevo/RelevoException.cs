namespace Relevo;

/// <summary>An error a user can act on: bad input, a damaged file, a missing dataset. The message names the
/// file (and where it applies the line and field) so the CLI prints it as is, without a stack trace.</summary>
public class RelevoException : Exception
{
    /// <summary>An error with a message a user can act on.</summary>
    public RelevoException(string message) : base(message) { }

    /// <summary>An error with a message a user can act on, caused by <paramref name="inner"/>.</summary>
    public RelevoException(string message, Exception inner) : base(message, inner) { }
}
