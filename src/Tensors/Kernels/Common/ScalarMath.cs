namespace Nn.Simd.Tensors.Kernels.Common;

/// <summary>
/// Double-precision <c>e^x − 1</c> and <c>ln(1 + x)</c> accurate near 0, for the scalar (double) path of the
/// activations. The BCL's <c>double.ExpM1</c> and <c>double.LogP1</c> are computed as <c>Math.Exp(x) − 1</c> and
/// <c>Math.Log(x + 1)</c>, which lose every digit for tiny <c>x</c>.
/// </summary>
/// <remarks>Both use Kahan's correction (Goldberg, "What every computer scientist should know about floating-point
/// arithmetic", 1991, theorem 4): the rounding error of <c>u = fl(e^x)</c> or <c>u = fl(1 + x)</c> is divided out
/// by the exact <c>u − 1</c>, leaving a few ulp of error.</remarks>
internal static class ScalarMath
{
    /// <summary><c>e^x − 1</c>: <c>(u − 1) · x / ln u</c> with <c>u = e^x</c>; x where u rounds to 1, −1 where u − 1 does.</summary>
    public static double ExpM1(double x)
    {
        double u = Math.Exp(x);
        if (u == 1.0) return x;
        double um1 = u - 1.0;
        if (um1 == -1.0) return -1.0;
        if (double.IsPositiveInfinity(u)) return u;
        return um1 * x / Math.Log(u);
    }

    /// <summary><c>ln(1 + x)</c>: <c>ln u · x / (u − 1)</c> with <c>u = 1 + x</c>; x where u rounds to 1.</summary>
    public static double Log1P(double x)
    {
        double u = 1.0 + x;
        if (u == 1.0) return x;
        if (double.IsPositiveInfinity(u)) return u;
        return Math.Log(u) * x / (u - 1.0);
    }
}
