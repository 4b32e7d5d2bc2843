using System.Numerics;

namespace Nn.Simd.Layers.Activations;

/// <summary>
/// The Gaussian error linear unit, <c>x · Φ(x) = x · (1 + erf(x/√2)) / 2</c> (Hendrycks &amp; Gimpel, 2016).
/// With <c>approximate</c>, the tanh form <c>x/2 · (1 + tanh(√(2/π)(x + 0.044715x³)))</c>. Keras and PyTorch
/// both default to the exact form.
/// </summary>
public sealed class Gelu<T> : Activation<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const double InvSqrt2 = 0.70710678118654752440;
    private const double InvSqrt2Pi = 0.39894228040143267794;
    private const double SqrtTwoOverPi = 0.79788456080286535588;

    /// <summary>Creates the activation.</summary>
    /// <param name="approximate">Use the tanh approximation instead of erf.</param>
    public Gelu(bool approximate = false) => Approximate = approximate;

    /// <summary>Whether the tanh approximation is used.</summary>
    public bool Approximate { get; }

    /// <inheritdoc/>
    /// <remarks><c>gelu</c>, or <c>gelu:tanh</c> with the approximation, so that a saved model keeps it.</remarks>
    public override string Name => Approximate ? "gelu:tanh" : "gelu";

    /// <inheritdoc/>
    public override void Forward(ReadOnlySpan<T> x, Span<T> y, int features)
    {
        for (int i = 0; i < x.Length; i++)
        {
            double v = double.CreateChecked(x[i]);
            double r = Approximate
                ? 0.5 * v * (1 + Math.Tanh(SqrtTwoOverPi * (v + 0.044715 * v * v * v)))
                : 0.5 * v * (1 + SpecialFunctions.Erf(v * InvSqrt2));
            y[i] = T.CreateChecked(r);
        }
    }

    /// <inheritdoc/>
    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int features)
    {
        for (int i = 0; i < x.Length; i++)
        {
            double v = double.CreateChecked(x[i]);
            double d;
            if (Approximate)
            {
                double u = SqrtTwoOverPi * (v + 0.044715 * v * v * v);
                double t = Math.Tanh(u);
                d = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * SqrtTwoOverPi * (1 + 3 * 0.044715 * v * v);
            }
            else
            {
                d = 0.5 * (1 + SpecialFunctions.Erf(v * InvSqrt2)) + v * InvSqrt2Pi * Math.Exp(-0.5 * v * v);
            }
            dx[i] = T.CreateChecked(d) * dy[i];
        }
    }
}

/// <summary>Special functions the BCL lacks.</summary>
internal static class SpecialFunctions
{
    /// <summary>
    /// The error function to about 1e-15. For |x| &lt; 3 it sums the all-positive series
    /// <c>erf(x) = 2/√π · e^(−x²) · Σ (2x²)ⁿ x / (1·3·…·(2n+1))</c>, which has no cancellation; beyond, it
    /// evaluates erfc with its continued fraction (modified Lentz).
    /// </summary>
    public static double Erf(double x)
    {
        if (double.IsNaN(x)) return x;
        double ax = Math.Abs(x);
        double r;
        if (ax < 3)
        {
            double x2 = ax * ax, term = ax, sum = ax;
            for (int n = 1; n < 200; n++)
            {
                term *= 2 * x2 / (2 * n + 1);
                sum += term;
                if (term < 1e-17 * sum) break;
            }
            r = 2 / Math.Sqrt(Math.PI) * Math.Exp(-x2) * sum;
        }
        else if (ax > 27) r = 1;
        else
        {
            // erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …)))))
            const double tiny = 1e-300;
            double f = ax, c = ax, d = 0;
            for (int n = 1; n < 300; n++)
            {
                double an = n * 0.5;
                d = ax + an * d; d = Math.Abs(d) < tiny ? tiny : d; d = 1 / d;
                c = ax + an / c; c = Math.Abs(c) < tiny ? tiny : c;
                double delta = c * d;
                f *= delta;
                if (Math.Abs(delta - 1) < 1e-16) break;
            }
            r = 1 - Math.Exp(-ax * ax) / Math.Sqrt(Math.PI) / f;
        }
        return x < 0 ? -r : r;
    }
}
