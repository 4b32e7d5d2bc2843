using System.Numerics;
using Nn.Simd.Tensors.Kernels.Common;

namespace Nn.Simd.Tensors.Kernels;

public static partial class Elementwise
{
    // The piecewise-linear activations: relu6, hard_sigmoid, hard_silu. No transcendental, so float and double both
    // run the vector loop and are exact up to the rounding of one addition, multiplication and division. NaN stays
    // NaN in the forward passes. The derivatives follow PyTorch at the kinks (relu6 and hard_sigmoid: 0 at both
    // ends; hard_silu: x/3 + 1/2 on the closed interval [−3, 3]).

    /// <summary><c>destination[i] = min(max(x, 0), 6)</c>.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short or partially overlaps <paramref name="x"/>.</exception>
    public static void Relu6<T>(ReadOnlySpan<T> x, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckUnary(x, destination, nameof(x), nameof(destination));
        ElementLoop.Map<T, Relu6Operator<T>>(x, x, T.CreateTruncating(6), destination);
    }

    /// <summary><c>dx[i] = 0 &lt; y &lt; 6 ? dy : 0</c>, the relu6 derivative from its output (0 &lt; y &lt; 6
    /// exactly when 0 &lt; x &lt; 6, where y = x).</summary>
    /// <exception cref="ArgumentException"><paramref name="dy"/> differs in length from <paramref name="y"/>, or
    /// <paramref name="dx"/> is too short or partially overlaps an input.</exception>
    public static void Relu6Backward<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckBinary(y, dy, dx, nameof(y), nameof(dy), nameof(dx));
        ElementLoop.Map<T, Relu6BackwardOperator<T>>(y, dy, T.CreateTruncating(6), dx);
    }

    /// <summary><c>destination[i] = relu6(x + 3) / 6</c> (Keras 3's and PyTorch's hard sigmoid; Keras 2 used
    /// <c>0.2·x + 0.5</c>).</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short or partially overlaps <paramref name="x"/>.</exception>
    public static void HardSigmoid<T>(ReadOnlySpan<T> x, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckUnary(x, destination, nameof(x), nameof(destination));
        ElementLoop.Map<T, HardSigmoidOperator<T>>(x, x, T.CreateTruncating(6), destination);
    }

    /// <summary><c>dx[i] = −3 &lt; x &lt; 3 ? dy/6 : 0</c>, the hard sigmoid derivative (from x: y rounds to 1 just
    /// below x = 3).</summary>
    /// <exception cref="ArgumentException"><paramref name="dy"/> differs in length from <paramref name="x"/>, or
    /// <paramref name="dx"/> is too short or partially overlaps an input.</exception>
    public static void HardSigmoidBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckBinary(x, dy, dx, nameof(x), nameof(dy), nameof(dx));
        ElementLoop.Map<T, HardSigmoidBackwardOperator<T>>(x, dy, T.CreateTruncating(3), dx);
    }

    /// <summary><c>destination[i] = x · relu6(x + 3) / 6</c> (hard SiLU, hard swish); −∞ gives NaN, as in PyTorch.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short or partially overlaps <paramref name="x"/>.</exception>
    public static void HardSilu<T>(ReadOnlySpan<T> x, Span<T> destination) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckUnary(x, destination, nameof(x), nameof(destination));
        ElementLoop.Map<T, HardSiluOperator<T>>(x, x, T.CreateTruncating(6), destination);
    }

    /// <summary><c>dx[i] = x &lt; −3 ? 0 : x ≤ 3 ? dy·(x/3 + 1/2) : dy</c>, the hard SiLU derivative (PyTorch's
    /// choice at the kinks).</summary>
    /// <exception cref="ArgumentException"><paramref name="dy"/> differs in length from <paramref name="x"/>, or
    /// <paramref name="dx"/> is too short or partially overlaps an input.</exception>
    public static void HardSiluBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckBinary(x, dy, dx, nameof(x), nameof(dy), nameof(dx));
        ElementLoop.Map<T, HardSiluBackwardOperator<T>>(x, dy, T.CreateTruncating(3), dx);
    }

    /// <summary><c>min(max(v, 0), six)</c> keeping NaN: <c>maxps(0, v)</c> returns v for NaN, and <c>six &lt; m ? six : m</c> keeps it.</summary>
    private static TV ClampSix<TS, TV, T>(TV v, TV six) where TS : ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
    {
        TV m = TS.MaxOrSecond(TS.Zero, v);
        return TS.WhereLess(six, m, six, m);
    }

    /// <summary><c>min(max(x, 0), six)</c></summary>
    internal readonly struct Relu6Operator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T x, T _, T six) => ClampSix<SimdScalar<T>, T, T>(x, six);
        public static TV Invoke<TS, TV>(TV x, TV _, TV six) where TS : ISimd<TV, T> where TV : struct => ClampSix<TS, TV, T>(x, six);
    }

    /// <summary><c>0 &lt; y &lt; six ? dy : 0</c></summary>
    internal readonly struct Relu6BackwardOperator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T y, T dy, T six) => Invoke<SimdScalar<T>, T>(y, dy, six);
        public static TV Invoke<TS, TV>(TV y, TV dy, TV six) where TS : ISimd<TV, T> where TV : struct
            => TS.WherePositive(y, TS.WhereLess(y, six, dy, TS.Zero));
    }

    /// <summary><c>min(max(x + 3, 0), six) / six</c></summary>
    internal readonly struct HardSigmoidOperator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T x, T _, T six) => Invoke<SimdScalar<T>, T>(x, x, six);
        public static TV Invoke<TS, TV>(TV x, TV _, TV six) where TS : ISimd<TV, T> where TV : struct
            => TS.Divide(ClampSix<TS, TV, T>(TS.Add(x, TS.Broadcast(T.CreateTruncating(3))), six), six);
    }

    /// <summary><c>−three &lt; x &lt; three ? dy·(1/6) : 0</c></summary>
    internal readonly struct HardSigmoidBackwardOperator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T x, T dy, T three) => Invoke<SimdScalar<T>, T>(x, dy, three);
        public static TV Invoke<TS, TV>(TV x, TV dy, TV three) where TS : ISimd<TV, T> where TV : struct
        {
            TV d = TS.Multiply(dy, TS.Broadcast(T.One / T.CreateTruncating(6)));
            return TS.WhereLess(TS.Subtract(TS.Zero, three), x, TS.WhereLess(x, three, d, TS.Zero), TS.Zero);
        }
    }

    /// <summary><c>x · min(max(x + 3, 0), six) / six</c></summary>
    internal readonly struct HardSiluOperator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T x, T _, T six) => Invoke<SimdScalar<T>, T>(x, x, six);
        public static TV Invoke<TS, TV>(TV x, TV _, TV six) where TS : ISimd<TV, T> where TV : struct
            => TS.Divide(TS.Multiply(x, ClampSix<TS, TV, T>(TS.Add(x, TS.Broadcast(T.CreateTruncating(3))), six)), six);
    }

    /// <summary><c>x &lt; −three ? 0 : x ≤ three ? dy·(x/three + 1/2) : dy</c></summary>
    internal readonly struct HardSiluBackwardOperator<T> : IElementOperator<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static T Invoke(T x, T dy, T three) => Invoke<SimdScalar<T>, T>(x, dy, three);
        public static TV Invoke<TS, TV>(TV x, TV dy, TV three) where TS : ISimd<TV, T> where TV : struct
        {
            TV middle = TS.Multiply(dy, TS.Add(TS.Divide(x, three), TS.Broadcast(T.CreateTruncating(0.5))));
            TV upper = TS.WhereLess(three, x, dy, middle);
            return TS.WhereLess(x, TS.Subtract(TS.Zero, three), TS.Zero, upper);
        }
    }
}
