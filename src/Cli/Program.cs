namespace Nn.Simd.Cli;

/// <summary>The <c>nnsimd</c> command line.</summary>
public static class Program
{
    /// <summary>Entry point.</summary>
    public static int Main(string[] args)
    {
        Console.WriteLine("nnsimd: experiments are not wired yet.");
        return 0;
    }
}
