using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Nn.Simd.Tensors.Kernels.Common;

namespace Nn.Simd.Tensors.Kernels;

/// <summary>
/// The fused Adagrad step for one parameter (Duchi, Hazan and Singer, 2011), in Keras' form with ε <em>inside</em>
/// the square root:
/// <code>
/// a += g²
/// w −= lr·g / √(a + ε)
/// </code>
/// Keras starts <c>a</c> at 0.1 with ε = 1e-7; PyTorch starts it at 0 and puts ε = 1e-10 outside the root,
/// <c>lr·g / (√a + ε)</c>; the nnfs book also puts ε outside.
/// </summary>
/// <remarks>Written once over <see cref="ISimd{TVector, T}"/>, so every width and the scalar tail give the bits of
/// <see cref="ApplyReference{T}"/>.</remarks>
public static class AdagradUpdate
{
    /// <summary>Applies one Adagrad step in place.</summary>
    /// <param name="gradient">g, the gradient.</param>
    /// <param name="learningRate">lr.</param>
    /// <param name="epsilon">ε, added to the accumulator inside the square root.</param>
    /// <param name="accumulator">a, the sum of squared gradients, updated in place.</param>
    /// <param name="weights">The weights, updated in place.</param>
    /// <exception cref="ArgumentException">A span's length differs from the gradient's.</exception>
    public static void Apply<T>(ReadOnlySpan<T> gradient, T learningRate, T epsilon, Span<T> accumulator, Span<T> weights)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = gradient.Length;
        Check(n, accumulator, weights);
        ref T g0 = ref MemoryMarshal.GetReference(gradient);
        ref T a0 = ref MemoryMarshal.GetReference(accumulator);
        ref T w0 = ref MemoryMarshal.GetReference(weights);
        int i = 0;
        if (Simd512<T>.IsSupported) i = Loop<Simd512<T>, Vector512<T>, T>(ref g0, ref a0, ref w0, n, i, learningRate, epsilon);
        else if (Simd256<T>.IsSupported) i = Loop<Simd256<T>, Vector256<T>, T>(ref g0, ref a0, ref w0, n, i, learningRate, epsilon);
        Loop<SimdScalar<T>, T, T>(ref g0, ref a0, ref w0, n, i, learningRate, epsilon);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Loop<TS, TV, T>(ref T g0, ref T a0, ref T w0, int n, int i, T learningRate, T epsilon)
        where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
    {
        TV vlr = TS.Broadcast(learningRate), ve = TS.Broadcast(epsilon);
        for (; i <= n - TS.Count; i += TS.Count)
        {
            nuint k = (nuint)i;
            TV g = TS.Load(ref g0, k);
            TV a = TS.Add(TS.Load(ref a0, k), TS.Multiply(g, g));
            TS.Store(a, ref a0, k);
            TV u = TS.Divide(TS.Multiply(vlr, g), TS.Sqrt(TS.Add(a, ve)));
            TS.Store(TS.Subtract(TS.Load(ref w0, k), u), ref w0, k);
        }
        return i;
    }

    /// <summary>The scalar reference for <see cref="Apply{T}"/>.</summary>
    /// <exception cref="ArgumentException">A span's length differs from the gradient's.</exception>
    public static void ApplyReference<T>(ReadOnlySpan<T> gradient, T learningRate, T epsilon, Span<T> accumulator, Span<T> weights)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(gradient.Length, accumulator, weights);
        Loop<SimdScalar<T>, T, T>(ref MemoryMarshal.GetReference(gradient), ref MemoryMarshal.GetReference(accumulator),
            ref MemoryMarshal.GetReference(weights), gradient.Length, 0, learningRate, epsilon);
    }

    private static void Check<T>(int n, Span<T> accumulator, Span<T> weights)
    {
        OptimizerChecks.Same(n, accumulator.Length, nameof(accumulator));
        OptimizerChecks.Same(n, weights.Length, nameof(weights));
    }
}
