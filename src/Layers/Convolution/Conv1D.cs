using System.Numerics;
using Nn.Simd.Layers.Initializers;

namespace Nn.Simd.Layers;

/// <summary>
/// Keras' <c>Conv1D</c> on sequences <c>[batch, steps, channels]</c>: <see cref="ConvolutionLayer{T}.Filters"/>
/// kernels of <see cref="KernelSize"/> steps slid with <see cref="Strides"/>, <c>valid</c>, <c>same</c> or
/// <c>causal</c> padding (all the padding before the first step, so output t sees only steps ≤ t, for forecasting),
/// then the bias and the activation (see <see cref="ConvolutionLayer{T}"/>). Output <c>[batch, steps', filters]</c>.
/// With <see cref="DilationRate"/> d the kernel's taps are d steps apart:
/// y[t, f] = b[f] + Σ_{i, c} x[t·s + i·d − p, c]·K[i, c, f], so a stack of causal layers with d = 1, 2, 4, … sees
/// exponentially far back (WaveNet-style temporal convolutional networks).
/// </summary>
/// <remarks>Weights in Keras' layout, <c>kernel [k, in, out]</c>; PyTorch's <c>Conv1d.weight [out, in, k]</c> is its
/// permutation (2, 1, 0), on <c>[batch, channels, steps]</c> inputs.</remarks>
public sealed class Conv1D<T> : ConvolutionLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the layer.</summary>
    /// <param name="filters">F, the number of output channels; positive.</param>
    /// <param name="kernelSize">k, in steps; positive.</param>
    /// <param name="strides">The step between windows; positive.</param>
    /// <param name="padding"><c>valid</c>, <c>same</c> or <c>causal</c>.</param>
    /// <param name="activation">An activation name; null for linear.</param>
    /// <param name="useBias">Whether to add a bias.</param>
    /// <param name="kernelInitializer">Defaults to Glorot-uniform (fans k·C and k·F, as Keras).</param>
    /// <param name="biasInitializer">Defaults to zeros.</param>
    /// <param name="dilationRate">d, the steps between kernel taps (Keras' <c>dilation_rate</c>); positive, default 1. The
    /// kernel spans (k − 1)·d + 1 steps, which is what 'same' and 'causal' padding pad for.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size, stride or dilation rate is not positive.</exception>
    /// <exception cref="ArgumentException">The padding or activation name is unknown, or both the stride and the
    /// dilation rate exceed 1 (Keras rejects that too).</exception>
    public Conv1D(int filters, int kernelSize, int strides = 1, string padding = "valid", string? activation = null, bool useBias = true,
        Initializer? kernelInitializer = null, Initializer? biasInitializer = null, int dilationRate = 1)
        : base(filters, (1, kernelSize), (1, strides), (1, dilationRate), padding, allowCausal: true, activation, useBias, kernelInitializer, biasInitializer) { }

    /// <inheritdoc/>
    public override string TypeName => "conv1d";

    /// <summary>k, in steps.</summary>
    public int KernelSize => KernelHW.Width;

    /// <summary>The step between windows.</summary>
    public int Strides => StridesHW.Width;

    /// <summary>d, the steps between kernel taps.</summary>
    public int DilationRate => DilationHW.Width;

    private protected override int SpatialRank => 1;
}
