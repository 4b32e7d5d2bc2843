using System.Numerics;
using Nn.Simd.Layers.Initializers;

namespace Nn.Simd.Layers;

/// <summary>
/// Keras' <c>Conv2D</c> on channels-last images <c>[batch, height, width, channels]</c>: <see cref="ConvolutionLayer{T}.Filters"/>
/// kernels of <see cref="KernelSize"/> slid with <see cref="Strides"/>, <c>valid</c> or <c>same</c> padding, then the
/// bias and the activation (see <see cref="ConvolutionLayer{T}"/>). With <see cref="DilationRate"/> (dh, dw) the kernel's
/// taps are dh rows and dw columns apart (an atrous convolution):
/// y[oy, ox, f] = b[f] + Σ_{i, j, c} x[oy·sh + i·dh − pt, ox·sw + j·dw − pl, c]·K[i, j, c, f], cells outside the image
/// counting as zero.
/// </summary>
/// <remarks>Weights in Keras' layout, <c>kernel [kh, kw, in, out]</c>; PyTorch's <c>Conv2d.weight [out, in, kh, kw]</c>
/// is its permutation (2, 3, 1, 0).</remarks>
public sealed class Conv2D<T> : ConvolutionLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the layer.</summary>
    /// <param name="filters">F, the number of output channels; positive.</param>
    /// <param name="kernelSize">(kh, kw); positive.</param>
    /// <param name="strides">(sh, sw); positive. Default (1, 1).</param>
    /// <param name="padding"><c>valid</c> or <c>same</c>.</param>
    /// <param name="activation">An activation name; null for linear.</param>
    /// <param name="useBias">Whether to add a bias.</param>
    /// <param name="kernelInitializer">Defaults to Glorot-uniform (fans kh·kw·C and kh·kw·F, as Keras).</param>
    /// <param name="biasInitializer">Defaults to zeros.</param>
    /// <param name="dilationRate">(dh, dw), the rows and columns between kernel taps (Keras' <c>dilation_rate</c>);
    /// positive, default (1, 1). The kernel spans ((kh − 1)·dh + 1) × ((kw − 1)·dw + 1) cells, which is what 'same'
    /// padding pads for (the odd cell after, as in TensorFlow; PyTorch's <c>padding</c> is symmetric).</param>
    /// <exception cref="ArgumentOutOfRangeException">A size, stride or dilation rate is not positive.</exception>
    /// <exception cref="ArgumentException">The padding or activation name is unknown, or a stride and a dilation rate
    /// both exceed 1 (Keras rejects that too; PyTorch allows it).</exception>
    public Conv2D(int filters, (int Height, int Width) kernelSize, (int Height, int Width)? strides = null, string padding = "valid",
        string? activation = null, bool useBias = true, Initializer? kernelInitializer = null, Initializer? biasInitializer = null,
        (int Height, int Width)? dilationRate = null)
        : base(filters, kernelSize, strides ?? (1, 1), dilationRate ?? (1, 1), padding, allowCausal: false, activation, useBias, kernelInitializer, biasInitializer) { }

    /// <inheritdoc/>
    public override string TypeName => "conv2d";

    /// <summary>(kh, kw).</summary>
    public (int Height, int Width) KernelSize => KernelHW;

    /// <summary>(sh, sw).</summary>
    public (int Height, int Width) Strides => StridesHW;

    /// <summary>(dh, dw), the rows and columns between kernel taps.</summary>
    public (int Height, int Width) DilationRate => DilationHW;

    private protected override int SpatialRank => 2;
}
