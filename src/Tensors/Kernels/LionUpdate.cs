using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Nn.Simd.Tensors.Kernels.Common;

namespace Nn.Simd.Tensors.Kernels;

/// <summary>
/// The fused Lion step for one parameter (Chen et al., 2023, "Symbolic Discovery of Optimization Algorithms"), in
/// Keras 3's form (<c>keras/src/optimizers/lion.py</c>):
/// <code>
/// w −= lr·sign(β1·m + (1 − β1)·g)
/// m = β2·m + (1 − β2)·g
/// </code>
/// <c>sign</c> is −1, 0 or +1 (0 for ±0) and NaN for NaN, as <c>keras.ops.sign</c>.
/// </summary>
/// <remarks>Written once over <see cref="ISimd{TVector, T}"/>, so every width and the scalar tail give the bits of
/// <see cref="ApplyReference{T}"/>. The sign is built from two compares (<c>[c &gt; 0] − [c &lt; 0]</c>), then a NaN
/// <c>c</c> is passed through, so a NaN gradient reaches the weights rather than freezing them.</remarks>
public static class LionUpdate
{
    /// <summary>Applies one Lion step in place to <paramref name="m"/> and <paramref name="weights"/>.</summary>
    /// <param name="gradient">g, the gradient.</param>
    /// <param name="learningRate">lr, the size of every element's step.</param>
    /// <param name="beta1">β1, the interpolation that picks the step's sign.</param>
    /// <param name="beta2">β2, the decay of the momentum.</param>
    /// <param name="m">The momentum, updated in place.</param>
    /// <param name="weights">The weights, updated in place.</param>
    /// <exception cref="ArgumentException">A span's length differs from the gradient's.</exception>
    public static void Apply<T>(ReadOnlySpan<T> gradient, T learningRate, T beta1, T beta2, Span<T> m, Span<T> weights)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = gradient.Length;
        Check(n, m, weights);
        ref T g0 = ref MemoryMarshal.GetReference(gradient);
        ref T m0 = ref MemoryMarshal.GetReference(m);
        ref T w0 = ref MemoryMarshal.GetReference(weights);
        int i = 0;
        if (Simd512<T>.IsSupported) i = Loop<Simd512<T>, Vector512<T>, T>(ref g0, ref m0, ref w0, n, i, learningRate, beta1, beta2);
        else if (Simd256<T>.IsSupported) i = Loop<Simd256<T>, Vector256<T>, T>(ref g0, ref m0, ref w0, n, i, learningRate, beta1, beta2);
        Loop<SimdScalar<T>, T, T>(ref g0, ref m0, ref w0, n, i, learningRate, beta1, beta2);
    }

    /// <summary>The step for elements <c>[i, n)</c> in whole vectors of <typeparamref name="TS"/>; returns where it stopped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Loop<TS, TV, T>(ref T g0, ref T m0, ref T w0, int n, int i, T learningRate, T beta1, T beta2)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
    {
        TV vlr = TS.Broadcast(learningRate), vb1 = TS.Broadcast(beta1), vc1 = TS.Broadcast(T.One - beta1);
        TV vb2 = TS.Broadcast(beta2), vc2 = TS.Broadcast(T.One - beta2), negativeInfinity = TS.Broadcast(T.NegativeInfinity);
        for (; i <= n - TS.Count; i += TS.Count)
        {
            nuint k = (nuint)i;
            TV g = TS.Load(ref g0, k), mm = TS.Load(ref m0, k);
            TV c = TS.Add(TS.Multiply(mm, vb1), TS.Multiply(g, vc1));
            TV sign = TS.Subtract(TS.WherePositive(c, TS.One), TS.WherePositive(TS.Subtract(TS.Zero, c), TS.One));
            // −∞ < |c| holds for every c but NaN, which is kept as it is.
            sign = TS.WhereLess(negativeInfinity, TS.Abs(c), sign, c);
            TS.Store(TS.Subtract(TS.Load(ref w0, k), TS.Multiply(vlr, sign)), ref w0, k);
            TS.Store(TS.Add(TS.Multiply(mm, vb2), TS.Multiply(g, vc2)), ref m0, k);
        }
        return i;
    }

    /// <summary>The scalar reference for <see cref="Apply{T}"/>: the same operations, one element at a time.</summary>
    /// <exception cref="ArgumentException">A span's length differs from the gradient's.</exception>
    public static void ApplyReference<T>(ReadOnlySpan<T> gradient, T learningRate, T beta1, T beta2, Span<T> m, Span<T> weights)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(gradient.Length, m, weights);
        Loop<SimdScalar<T>, T, T>(ref MemoryMarshal.GetReference(gradient), ref MemoryMarshal.GetReference(m),
            ref MemoryMarshal.GetReference(weights), gradient.Length, 0, learningRate, beta1, beta2);
    }

    private static void Check<T>(int n, Span<T> m, Span<T> weights)
    {
        OptimizerChecks.Same(n, m.Length, nameof(m));
        OptimizerChecks.Same(n, weights.Length, nameof(weights));
    }
}
