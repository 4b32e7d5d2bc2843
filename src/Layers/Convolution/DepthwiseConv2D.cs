using System.Globalization;
using System.Numerics;
using Nn.Simd.Layers.Activations;
using Nn.Simd.Layers.Initializers;
using Nn.Simd.Tensors;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Layers;

// Shapes (channels last, as Keras): x [B, H, W, C], kernel K [kh, kw, C, M] (M the depth multiplier), bias [C·M],
// y [B, Ho, Wo, C·M] with output channel c·M + m. With M > 1 the input is first widened to xe [B, H, W, C·M] (each
// channel repeated M times), which makes the layer the M = 1 case over C·M channels: every kernel tap K[i, j] is then a
// row of C·M values lined up with a pixel of xe and of y, and the work is element-wise products along that row.
// Forward: y[oy, ox] = b + Σ_{i, j} xe[iy, ix] ⊙ K[i, j]. Backward: dK[i, j] += Σ xe[iy, ix] ⊙ dz[oy, ox],
// dxe[iy, ix] += dz[oy, ox] ⊙ K[i, j], dx[c] = Σ_m dxe[c·M + m], db += Σ dz.

/// <summary>
/// Keras' <c>DepthwiseConv2D</c> on channels-last images <c>[batch, height, width, channels]</c>: each input channel is
/// convolved with its own <see cref="DepthMultiplier"/> kernels of <see cref="KernelSize"/>, never mixing channels:
/// y[oy, ox, c·M + m] = b[c·M + m] + Σ_{i, j} x[oy·sh + i·dh − pt, ox·sw + j·dw − pl, c]·K[i, j, c, m], cells outside
/// the image counting as zero, then the activation. Padding and output sizes as <see cref="Conv2D{T}"/>.
/// </summary>
/// <remarks>
/// <para>Weights in Keras' layout, <c>kernel [kh, kw, in, depth_multiplier]</c> (Keras 3 names the weight
/// <c>kernel</c>); PyTorch's <c>Conv2d(groups = in)</c> weight <c>[in·M, 1, kh, kw]</c> is its permutation (2, 3, 0, 1)
/// reshaped, with the same output channel order c·M + m.</para>
/// <para>Not an im2col GEMM: each channel's product is only kh·kw long, so the layer loops over output pixels and
/// taps directly, with the channel axis (contiguous in channels-last memory) as the vector axis of every multiply-add.
/// Samples run on the worker threads; the kernel and bias gradients are summed per sample and then over the samples in
/// order, so results do not depend on the thread count.</para>
/// </remarks>
public sealed class DepthwiseConv2D<T> : Layer<T>, IInputGradientOptional where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _wXe = new(), _wZ = new(), _wY = new(), _wDz = new(), _wDx = new(), _wDxe = new(), _wZeroDx = new(),
        _wDbRows = new(), _wDkRows = new();
    private Parameter<T>? _kernel, _bias;
    private Tensor<T>? _input, _xe, _lastZ, _lastY, _dz, _dOutput, _dx, _dxe, _dbRows, _dkRows;
    private readonly SampleLoop _samples;
    // Geometry of the last forward call; cm = C·M.
    private int _b, _h, _w, _c, _ho, _wo, _cm, _padTop, _padLeft;

    /// <summary>Creates the layer.</summary>
    /// <param name="kernelSize">(kh, kw); positive.</param>
    /// <param name="strides">(sh, sw); positive. Default (1, 1).</param>
    /// <param name="padding"><c>valid</c> or <c>same</c> (as Conv2D: the odd padding cell after, as in TensorFlow).</param>
    /// <param name="depthMultiplier">M, the output channels per input channel (Keras' <c>depth_multiplier</c>); positive,
    /// default 1.</param>
    /// <param name="activation">An activation name; null for linear.</param>
    /// <param name="useBias">Whether to add a bias [C·M].</param>
    /// <param name="depthwiseInitializer">Keras' <c>depthwise_initializer</c>; defaults to Glorot-uniform (fans kh·kw·C and
    /// kh·kw·M, from the kernel's shape as Keras computes them).</param>
    /// <param name="biasInitializer">Defaults to zeros.</param>
    /// <param name="dilationRate">(dh, dw), the rows and columns between kernel taps; positive, default (1, 1).</param>
    /// <exception cref="ArgumentOutOfRangeException">A size, stride, multiplier or dilation rate is not positive.</exception>
    /// <exception cref="ArgumentException">The padding or activation name is unknown, or a stride and a dilation rate both
    /// exceed 1 (Keras rejects that too).</exception>
    public DepthwiseConv2D((int Height, int Width) kernelSize, (int Height, int Width)? strides = null, string padding = "valid",
        int depthMultiplier = 1, string? activation = null, bool useBias = true, Initializer? depthwiseInitializer = null,
        Initializer? biasInitializer = null, (int Height, int Width)? dilationRate = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(depthMultiplier);
        var s = strides ?? (1, 1);
        var d = dilationRate ?? (1, 1);
        WindowGeometry.CheckConvolution(kernelSize, s, d, padding);
        Padding = padding;
        KernelSize = kernelSize;
        Strides = s;
        DilationRate = d;
        DepthMultiplier = depthMultiplier;
        Activation = Activations.Activations.Get<T>(activation);
        UseBias = useBias;
        DepthwiseInitializer = depthwiseInitializer ?? new GlorotUniform();
        BiasInitializer = biasInitializer ?? new Constant(0);
        _samples = new SampleLoop((n, block, backward) =>
        {
            if (backward) BackwardSample(n, block);
            else ForwardSample(n);
        });
    }

    /// <inheritdoc/>
    public override string TypeName => "depthwise_conv2d";

    /// <summary>(kh, kw).</summary>
    public (int Height, int Width) KernelSize { get; }

    /// <summary>(sh, sw).</summary>
    public (int Height, int Width) Strides { get; }

    /// <summary>(dh, dw), the rows and columns between kernel taps.</summary>
    public (int Height, int Width) DilationRate { get; }

    /// <summary>M, the output channels per input channel.</summary>
    public int DepthMultiplier { get; }

    /// <summary><c>valid</c> or <c>same</c>.</summary>
    public string Padding { get; }

    /// <summary>The activation.</summary>
    public Activation<T> Activation { get; }

    /// <summary>Whether a bias is added.</summary>
    public bool UseBias { get; }

    /// <summary>The kernel initializer (Keras' <c>depthwise_initializer</c>).</summary>
    public Initializer DepthwiseInitializer { get; }

    /// <summary>The bias initializer.</summary>
    public Initializer BiasInitializer { get; }

    /// <summary>The depthwise kernel [kh, kw, C, M].</summary>
    public Parameter<T> Kernel => _kernel ?? throw new InvalidOperationException($"{Name} is not built yet.");

    /// <summary>The bias [C·M], or null.</summary>
    public Parameter<T>? Bias => _bias;

    /// <summary>The kernel parameter's name: <c>kernel</c> (Keras 3's name for this layer), <c>depthwise_kernel</c> as the
    /// depthwise part of <see cref="SeparableConv2D{T}"/>.</summary>
    internal string KernelName { get; init; } = "kernel";

    /// <summary>Whether Backward computes the input gradient. A model turns it off for its first layer, whose input is
    /// data; the returned gradient is then zero.</summary>
    public bool ComputeInputGradient { get; set; } = true;

    /// <summary>A penalty on the kernel (Keras' <c>depthwise_regularizer</c>); null for none.</summary>
    public Regularizers.Regularizer? DepthwiseRegularizer { get => GetRegularizer(KernelName); set => SetRegularizer(KernelName, value); }

    /// <summary>A penalty on the bias (Keras' <c>bias_regularizer</c>); null for none.</summary>
    public Regularizers.Regularizer? BiasRegularizer { get => GetRegularizer("bias"); set => SetRegularizer("bias", value); }

    /// <summary>A projection of the kernel after each optimizer step (Keras' <c>depthwise_constraint</c>); null for none.</summary>
    /// <exception cref="ArgumentException">Set on a built layer, the constraint does not fit the kernel's shape.</exception>
    public Constraints.Constraint? DepthwiseConstraint { get => GetConstraint(KernelName); set => SetConstraint(KernelName, value); }

    /// <summary>A projection of the bias after each optimizer step (Keras' <c>bias_constraint</c>); null for none.</summary>
    /// <exception cref="ArgumentException">Set on a built layer, the constraint does not fit the bias's shape.</exception>
    public Constraints.Constraint? BiasConstraint { get => GetConstraint("bias"); set => SetConstraint("bias", value); }

    private void CheckRank(TensorShape shape)
    {
        if (shape.Rank != 4)
            throw new ArgumentException($"{Name} takes channels-last images [batch, height, width, channels]; got {shape}.", "input");
    }

    private (int Out, int PadBefore) Along(int size, int kernel, int stride, int dilation) =>
        WindowGeometry.Along(Padding, size, (kernel - 1) * dilation + 1, stride);

    /// <inheritdoc/>
    protected override void BuildCore(TensorShape inputShape, Random rng)
    {
        CheckRank(inputShape);
        int c = inputShape[-1];
        _kernel = AddParameter(KernelName, new TensorShape(KernelSize.Height, KernelSize.Width, c, DepthMultiplier), DepthwiseInitializer, rng);
        _bias = UseBias ? AddParameter("bias", new TensorShape(c * DepthMultiplier), BiasInitializer, rng) : null;
    }

    /// <inheritdoc/>
    public override TensorShape ComputeOutputShape(TensorShape inputShape)
    {
        CheckRank(inputShape);
        var (ho, _) = Along(inputShape[1], KernelSize.Height, Strides.Height, DilationRate.Height);
        var (wo, _) = Along(inputShape[2], KernelSize.Width, Strides.Width, DilationRate.Width);
        if (ho <= 0 || wo <= 0)
            throw new ArgumentException($"{Name}: a {KernelSize.Height}×{KernelSize.Width} kernel with '{Padding}' padding leaves no output for {inputShape}.", "input");
        return new TensorShape(inputShape[0], ho, wo, inputShape[3] * DepthMultiplier);
    }

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        EnsureBuilt(input);
        var outShape = ComputeOutputShape(input.Shape);
        (_b, _h, _w, _c) = (input.Shape[0], input.Shape[1], input.Shape[2], input.Shape[3]);
        (_ho, _wo, _cm) = (outShape[1], outShape[2], outShape[3]);
        _padTop = Along(_h, KernelSize.Height, Strides.Height, DilationRate.Height).PadBefore;
        _padLeft = Along(_w, KernelSize.Width, Strides.Width, DilationRate.Width).PadBefore;
        _input = input;
        _xe = DepthMultiplier == 1 ? input : _wXe.Get(new TensorShape(_b, _h, _w, _cm));
        var z = _wZ.Get(outShape);
        _lastZ = z;
        _lastY = Activation.BackwardNeedsOnlyOutput ? z : _wY.Get(outShape);
        _samples.Run(_b, (long)_b * _ho * _wo * KernelSize.Height * KernelSize.Width * _cm, backward: false);
        return _lastY;
    }

    /// <summary>Forward for sample n: its widened input (M &gt; 1), then per output pixel the bias plus each tap's
    /// element-wise product along the channels, then the activation.</summary>
    private void ForwardSample(int n)
    {
        int cm = _cm, m = DepthMultiplier, inSize = _h * _w * cm, outSize = _ho * _wo * cm;
        if (m > 1)
        {
            var x = _input!.ReadOnlySpan.Slice(n * _h * _w * _c, _h * _w * _c);
            var xe = _xe!.Span.Slice(n * inSize, inSize);
            for (int i = 0; i < x.Length; i++) xe.Slice(i * m, m).Fill(x[i]);
        }
        var xs = _xe!.ReadOnlySpan.Slice(n * inSize, inSize);
        var zs = _lastZ!.Span.Slice(n * outSize, outSize);
        var k = Kernel.Value.ReadOnlySpan;
        var bias = _bias is { } b ? b.Value.ReadOnlySpan : default;
        for (int oy = 0, o = 0; oy < _ho; oy++)
            for (int ox = 0; ox < _wo; ox++, o++)
            {
                var acc = zs.Slice(o * cm, cm);
                if (_bias is not null) bias.CopyTo(acc);
                else acc.Clear();
                for (int i = 0; i < KernelSize.Height; i++)
                {
                    int iy = oy * Strides.Height + i * DilationRate.Height - _padTop;
                    if ((uint)iy >= (uint)_h) continue;
                    for (int j = 0; j < KernelSize.Width; j++)
                    {
                        int ix = ox * Strides.Width + j * DilationRate.Width - _padLeft;
                        if ((uint)ix >= (uint)_w) continue;
                        TensorPrimitives.MultiplyAdd(xs.Slice((iy * _w + ix) * cm, cm), k.Slice((i * KernelSize.Width + j) * cm, cm), acc, acc);
                    }
                }
            }
        if (Activation is not Linear<T>) Activation.Forward(zs, _lastY!.Span.Slice(n * outSize, outSize), cm);
    }

    /// <summary>Backward for sample n: dz = activation'(z)·dy, its column sums (bias), its kernel-gradient row
    /// Σ xe ⊙ dz per tap, and (when wanted) dxe = Σ dz ⊙ K scattered onto the input pixels, folded back to dx by summing
    /// each channel's M copies.</summary>
    private void BackwardSample(int n, int block)
    {
        int cm = _cm, m = DepthMultiplier, kw = KernelSize.Width, inSize = _h * _w * cm, outSize = _ho * _wo * cm;
        ReadOnlySpan<T> dz;
        if (_dz is { } t)
        {
            var dzs = t.Span.Slice(n * outSize, outSize);
            Activation.Backward(_lastZ!.ReadOnlySpan.Slice(n * outSize, outSize), _lastY!.ReadOnlySpan.Slice(n * outSize, outSize),
                _dOutput!.ReadOnlySpan.Slice(n * outSize, outSize), dzs, cm);
            dz = dzs;
        }
        else dz = _dOutput!.ReadOnlySpan.Slice(n * outSize, outSize);
        if (_dbRows is { } dbRows) Elementwise.SumColumns(dz, dbRows.Span.Slice(n * cm, cm), cm, accumulate: false);
        var xs = _xe!.ReadOnlySpan.Slice(n * inSize, inSize);
        var k = Kernel.Value.ReadOnlySpan;
        Span<T> dk = _dkRows is { } dkRows ? dkRows.Span.Slice(n * k.Length, k.Length) : default;
        dk.Clear();
        Span<T> dxe = default;
        if (_dx is { } dx)
        {
            dxe = m == 1 ? dx.Span.Slice(n * inSize, inSize) : _dxe!.Span.Slice(block * inSize, inSize);
            dxe.Clear();
        }
        for (int oy = 0, o = 0; oy < _ho; oy++)
            for (int ox = 0; ox < _wo; ox++, o++)
            {
                var g = dz.Slice(o * cm, cm);
                for (int i = 0; i < KernelSize.Height; i++)
                {
                    int iy = oy * Strides.Height + i * DilationRate.Height - _padTop;
                    if ((uint)iy >= (uint)_h) continue;
                    for (int j = 0; j < kw; j++)
                    {
                        int ix = ox * Strides.Width + j * DilationRate.Width - _padLeft;
                        if ((uint)ix >= (uint)_w) continue;
                        int px = (iy * _w + ix) * cm, tap = (i * kw + j) * cm;
                        if (!dk.IsEmpty) TensorPrimitives.MultiplyAdd(xs.Slice(px, cm), g, dk.Slice(tap, cm), dk.Slice(tap, cm));
                        if (!dxe.IsEmpty) TensorPrimitives.MultiplyAdd(g, k.Slice(tap, cm), dxe.Slice(px, cm), dxe.Slice(px, cm));
                    }
                }
            }
        if (m > 1 && _dx is { } d)
        {
            // dx[c] = Σ_m dxe[c·M + m]: the M copies of a channel are adjacent.
            var dxs = d.Span.Slice(n * _h * _w * _c, _h * _w * _c);
            for (int i = 0; i < dxs.Length; i++) dxs[i] = TensorPrimitives.Sum<T>(dxe.Slice(i * m, m));
        }
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_lastY, dOutput, Name);
        var input = _input!;
        _dOutput = dOutput;
        _dz = Activation is Linear<T> ? null : _wDz.Get(dOutput.Shape);
        long work = (long)_b * _ho * _wo * KernelSize.Height * KernelSize.Width * _cm;
        _dx = ComputeInputGradient ? _wDx.Get(input.Shape) : null;
        _dxe = _dx is not null && DepthMultiplier > 1 ? _wDxe.Get(SampleLoop.Blocks(_b, work), _h * _w * _cm) : null;
        // The kernel and bias gradients are summed per sample (on the worker threads), then over the samples in order.
        _dkRows = Kernel.Trainable ? _wDkRows.Get(_b, Kernel.Value.Length) : null;
        _dbRows = _bias is { Trainable: true } ? _wDbRows.Get(_b, _cm) : null;
        _samples.Run(_b, work, backward: true);
        if (_dkRows is { } dkRows) Elementwise.SumColumns(dkRows.ReadOnlySpan, Kernel.Grad.Span, Kernel.Value.Length, accumulate: true);
        if (_bias is { Trainable: true } bias) Elementwise.SumColumns(_dbRows!.ReadOnlySpan, bias.Grad.Span, _cm, accumulate: true);
        _dOutput = null;
        (_dkRows, _dbRows) = (null, null);
        // The zero tensor's storage is never written, so every view of it stays zero.
        return _dx ?? _wZeroDx.Get(input.Shape);
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig()
    {
        var c = new Dictionary<string, string>
        {
            ["kernel_size"] = $"{KernelSize.Height},{KernelSize.Width}",
            ["strides"] = $"{Strides.Height},{Strides.Width}",
            ["padding"] = Padding,
            ["depth_multiplier"] = DepthMultiplier.ToString(CultureInfo.InvariantCulture),
            ["dilation_rate"] = $"{DilationRate.Height},{DilationRate.Width}",
            ["activation"] = Activation.Name,
            ["use_bias"] = Str(UseBias),
            ["depthwise_initializer"] = DepthwiseInitializer.Name,
            ["bias_initializer"] = BiasInitializer.Name,
        };
        if (DepthwiseRegularizer is { } r) c["depthwise_regularizer"] = r.Name;
        if (BiasRegularizer is { } br) c["bias_regularizer"] = br.Name;
        if (ActivityRegularizer is { } ar) c["activity_regularizer"] = ar.Name;
        if (DepthwiseConstraint is { } k) c["depthwise_constraint"] = k.Name;
        if (BiasConstraint is { } bc) c["bias_constraint"] = bc.Name;
        return c;
    }
}
