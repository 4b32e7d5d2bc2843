namespace Nn.Simd.Cli.Data;

/// <summary>
/// A data set is missing, malformed or fails verification. The message is meant for the user as is: it names
/// the file and says what is wrong, so the command line prints it without a stack trace (exit code 1).
/// </summary>
public sealed class DataException : Exception
{
    /// <summary>Creates the exception with a user-facing message.</summary>
    public DataException(string message) : base(message) { }

    /// <summary>Creates the exception with a user-facing message and the low-level cause.</summary>
    public DataException(string message, Exception innerException) : base(message, innerException) { }
}
