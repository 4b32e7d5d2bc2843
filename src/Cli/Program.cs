namespace Nn.Simd.Cli;

/// <summary>The <c>nnsimd</c> command line.</summary>
public static class Program
{
    /// <summary>Entry point; see <see cref="CliApp"/> for the commands and exit codes.</summary>
    public static int Main(string[] args) => CliApp.Run(args, Console.Out, Console.Error);
}
