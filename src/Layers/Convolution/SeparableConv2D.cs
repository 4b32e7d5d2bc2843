using System.Globalization;
using System.Numerics;
using Nn.Simd.Layers.Activations;
using Nn.Simd.Layers.Initializers;
using Nn.Simd.Tensors;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Layers;

// Shapes (channels last, as Keras): x [B, H, W, C], depthwise kernel Kd [kh, kw, C, M], pointwise kernel Kp [1, 1, C·M, F]
// (the matrix [C·M, F] in memory), bias [F], d [B, Ho, Wo, C·M] the depthwise output, y [B, Ho, Wo, F].
// Rows R = B·Ho·Wo. Forward: d = depthwise(x; Kd) (no bias), z = d·Kp + b (one GEMM [R, C·M]·[C·M, F]), y = act(z).
// Backward: dz = act'(z)·dy, dKp += dᵀ·dz, db += Σ_rows dz, dd = dz·Kpᵀ, then the depthwise part's backward takes dd
// (dKd += …, dx = …).

/// <summary>
/// Keras' <c>SeparableConv2D</c> on channels-last images <c>[batch, height, width, channels]</c>: a depthwise convolution
/// (each input channel convolved with its own <see cref="DepthMultiplier"/> kernels, as <see cref="DepthwiseConv2D{T}"/>
/// without bias) followed by a 1×1 pointwise convolution mixing the C·M channels into <see cref="Filters"/>, then the bias
/// and the activation:
/// d[oy, ox, c·M + m] = Σ_{i, j} x[oy·sh + i·dh − pt, ox·sw + j·dw − pl, c]·Kd[i, j, c, m] (cells outside the image
/// counting as zero), y[oy, ox, f] = activation(b[f] + Σ_q d[oy, ox, q]·Kp[0, 0, q, f]).
/// Padding, strides, dilation and output sizes as <see cref="DepthwiseConv2D{T}"/> and <see cref="Conv2D{T}"/>.
/// </summary>
/// <remarks>
/// <para>Weights in Keras' names, order and layouts: <c>depthwise_kernel [kh, kw, in, depth_multiplier]</c>,
/// <c>pointwise_kernel [1, 1, in·depth_multiplier, filters]</c>, <c>bias [filters]</c>; there is no bias on the depthwise
/// step. In PyTorch the layer is <c>Conv2d(in, in·M, k, groups = in, bias = False)</c> (weight: the depthwise kernel
/// permuted (2, 3, 0, 1) and reshaped to [in·M, 1, kh, kw]) followed by <c>Conv2d(in·M, filters, 1)</c> (weight: the
/// pointwise kernel permuted (3, 2, 0, 1)).</para>
/// <para>Computed by composition: the depthwise step is an owned <see cref="DepthwiseConv2D{T}"/> (linear, no bias, sharing
/// its kernel parameter), and the pointwise step is one GEMM over all B·Ho·Wo pixels forward and two backward (a 1×1
/// convolution needs no im2col). The product d·Kp gives the same bits as <see cref="Conv2D{T}"/> with a 1×1 kernel on d,
/// because the GEMM's sum per element does not depend on how the rows are split or whether the kernel was packed.</para>
/// </remarks>
public sealed class SeparableConv2D<T> : Layer<T>, IInputGradientOptional where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly DepthwiseConv2D<T> _depthwise;
    private readonly Workspace<T> _wZ = new(), _wY = new(), _wDz = new(), _wDd = new(), _wZeroDx = new();
    private Parameter<T>? _pointwise, _bias;
    private Tensor<T>? _input, _d, _lastZ, _lastY;

    /// <summary>Creates the layer.</summary>
    /// <param name="filters">F, the output channels of the pointwise step; positive.</param>
    /// <param name="kernelSize">(kh, kw) of the depthwise step; positive.</param>
    /// <param name="strides">(sh, sw) of the depthwise step; positive. Default (1, 1).</param>
    /// <param name="padding"><c>valid</c> or <c>same</c> (the odd padding cell after, as in TensorFlow).</param>
    /// <param name="depthMultiplier">M, the depthwise output channels per input channel (Keras' <c>depth_multiplier</c>);
    /// positive, default 1.</param>
    /// <param name="dilationRate">(dh, dw), the rows and columns between depthwise kernel taps; positive, default (1, 1).</param>
    /// <param name="activation">An activation name, applied after the bias; null for linear.</param>
    /// <param name="useBias">Whether to add a bias [F] after the pointwise step.</param>
    /// <param name="depthwiseInitializer">Keras' <c>depthwise_initializer</c>; defaults to Glorot-uniform (fans kh·kw·C and
    /// kh·kw·M, from the kernel's shape as Keras computes them).</param>
    /// <param name="pointwiseInitializer">Keras' <c>pointwise_initializer</c>; defaults to Glorot-uniform (fans C·M and F).</param>
    /// <param name="biasInitializer">Defaults to zeros.</param>
    /// <exception cref="ArgumentOutOfRangeException">The filter count, a size, stride, multiplier or dilation rate is not
    /// positive.</exception>
    /// <exception cref="ArgumentException">The padding or activation name is unknown, or a stride and a dilation rate both
    /// exceed 1 (Keras rejects that too).</exception>
    public SeparableConv2D(int filters, (int Height, int Width) kernelSize, (int Height, int Width)? strides = null, string padding = "valid",
        int depthMultiplier = 1, (int Height, int Width)? dilationRate = null, string? activation = null, bool useBias = true,
        Initializer? depthwiseInitializer = null, Initializer? pointwiseInitializer = null, Initializer? biasInitializer = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(filters);
        // The depthwise part checks the kernel size, strides, padding, multiplier and dilation rate (by the same names).
        _depthwise = new DepthwiseConv2D<T>(kernelSize, strides, padding, depthMultiplier, activation: null, useBias: false,
            depthwiseInitializer, dilationRate: dilationRate) { KernelName = "depthwise_kernel" };
        _depthwise.Name = Name;
        Filters = filters;
        Activation = Activations.Activations.Get<T>(activation);
        UseBias = useBias;
        PointwiseInitializer = pointwiseInitializer ?? new GlorotUniform();
        BiasInitializer = biasInitializer ?? new Constant(0);
    }

    /// <inheritdoc/>
    public override string TypeName => "separable_conv2d";

    /// <summary>F, the output channels.</summary>
    public int Filters { get; }

    /// <summary>(kh, kw) of the depthwise step.</summary>
    public (int Height, int Width) KernelSize => _depthwise.KernelSize;

    /// <summary>(sh, sw).</summary>
    public (int Height, int Width) Strides => _depthwise.Strides;

    /// <summary>(dh, dw), the rows and columns between depthwise kernel taps.</summary>
    public (int Height, int Width) DilationRate => _depthwise.DilationRate;

    /// <summary>M, the depthwise output channels per input channel.</summary>
    public int DepthMultiplier => _depthwise.DepthMultiplier;

    /// <summary><c>valid</c> or <c>same</c>.</summary>
    public string Padding => _depthwise.Padding;

    /// <summary>The activation, applied after the pointwise step and the bias.</summary>
    public Activation<T> Activation { get; }

    /// <summary>Whether a bias is added (after the pointwise step).</summary>
    public bool UseBias { get; }

    /// <summary>The depthwise kernel initializer.</summary>
    public Initializer DepthwiseInitializer => _depthwise.DepthwiseInitializer;

    /// <summary>The pointwise kernel initializer.</summary>
    public Initializer PointwiseInitializer { get; }

    /// <summary>The bias initializer.</summary>
    public Initializer BiasInitializer { get; }

    /// <summary>The depthwise kernel [kh, kw, C, M] (Keras' <c>depthwise_kernel</c>).</summary>
    public Parameter<T> DepthwiseKernel => Depthwise.Kernel;

    /// <summary>The pointwise kernel [1, 1, C·M, F] (Keras' <c>pointwise_kernel</c>).</summary>
    public Parameter<T> PointwiseKernel => _pointwise ?? throw new InvalidOperationException($"{Name} is not built yet.");

    /// <summary>The bias [F], or null.</summary>
    public Parameter<T>? Bias => _bias;

    /// <summary>Whether Backward computes the input gradient (the depthwise step's scatter onto the input). A model turns
    /// it off for its first layer, whose input is data; the returned gradient is then zero. The depthwise kernel's gradient
    /// is still formed.</summary>
    public bool ComputeInputGradient { get => _depthwise.ComputeInputGradient; set => _depthwise.ComputeInputGradient = value; }

    /// <summary>A penalty on the depthwise kernel (Keras' <c>depthwise_regularizer</c>); null for none.</summary>
    public Regularizers.Regularizer? DepthwiseRegularizer { get => _depthwise.DepthwiseRegularizer; set => Depthwise.DepthwiseRegularizer = value; }

    /// <summary>A penalty on the pointwise kernel (Keras' <c>pointwise_regularizer</c>); null for none.</summary>
    public Regularizers.Regularizer? PointwiseRegularizer { get => GetRegularizer("pointwise_kernel"); set => SetRegularizer("pointwise_kernel", value); }

    /// <summary>A penalty on the bias (Keras' <c>bias_regularizer</c>); null for none.</summary>
    public Regularizers.Regularizer? BiasRegularizer { get => GetRegularizer("bias"); set => SetRegularizer("bias", value); }

    /// <summary>A projection of the depthwise kernel after each optimizer step (Keras' <c>depthwise_constraint</c>); null
    /// for none.</summary>
    /// <exception cref="ArgumentException">Set on a built layer, the constraint does not fit the kernel's shape.</exception>
    public Constraints.Constraint? DepthwiseConstraint { get => _depthwise.DepthwiseConstraint; set => Depthwise.DepthwiseConstraint = value; }

    /// <summary>A projection of the pointwise kernel after each optimizer step (Keras' <c>pointwise_constraint</c>); null
    /// for none.</summary>
    /// <exception cref="ArgumentException">Set on a built layer, the constraint does not fit the kernel's shape.</exception>
    public Constraints.Constraint? PointwiseConstraint { get => GetConstraint("pointwise_kernel"); set => SetConstraint("pointwise_kernel", value); }

    /// <summary>A projection of the bias after each optimizer step (Keras' <c>bias_constraint</c>); null for none.</summary>
    /// <exception cref="ArgumentException">Set on a built layer, the constraint does not fit the bias's shape.</exception>
    public Constraints.Constraint? BiasConstraint { get => GetConstraint("bias"); set => SetConstraint("bias", value); }

    /// <summary>The depthwise part, named as this layer so that its messages name it.</summary>
    private DepthwiseConv2D<T> Depthwise
    {
        get
        {
            if (!ReferenceEquals(_depthwise.Name, Name)) _depthwise.Name = Name;
            return _depthwise;
        }
    }

    private void CheckRank(TensorShape shape)
    {
        if (shape.Rank != 4)
            throw new ArgumentException($"{Name} takes channels-last images [batch, height, width, channels]; got {shape}.", "input");
    }

    /// <inheritdoc/>
    protected override void BuildCore(TensorShape inputShape, Random rng)
    {
        CheckRank(inputShape);
        int cm = inputShape[-1] * DepthMultiplier;
        // Keras' order: depthwise_kernel, pointwise_kernel, bias. The depthwise part owns its kernel; this layer lists it.
        Depthwise.Build(inputShape, rng.Next());
        AddParameter(_depthwise.Kernel);
        _pointwise = AddParameter("pointwise_kernel", new TensorShape(1, 1, cm, Filters), PointwiseInitializer, rng);
        _bias = UseBias ? AddParameter("bias", new TensorShape(Filters), BiasInitializer, rng) : null;
    }

    /// <inheritdoc/>
    public override TensorShape ComputeOutputShape(TensorShape inputShape)
    {
        CheckRank(inputShape);
        var d = Depthwise.ComputeOutputShape(inputShape);
        return new TensorShape(d[0], d[1], d[2], Filters);
    }

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        ArgumentNullException.ThrowIfNull(input);
        CheckRank(input.Shape);
        EnsureBuilt(input);
        var outShape = ComputeOutputShape(input.Shape);
        var d = Depthwise.Forward(input, training);
        int rows = d.Shape[0] * d.Shape[1] * d.Shape[2], cm = d.Shape[3], f = Filters;
        var z = _wZ.Get(outShape);
        var zs = z.Span;
        var kp = PointwiseKernel.Value.ReadOnlySpan;
        if (_bias is { } b)
        {
            // Broadcast the bias into z, then accumulate the product onto it (beta = 1), as Conv2D does.
            var bs = b.Value.ReadOnlySpan;
            for (int r = 0; r < rows; r++) bs.CopyTo(zs.Slice(r * f, f));
            Gemm.Compute(false, false, rows, f, cm, T.One, d.ReadOnlySpan, cm, kp, f, T.One, zs, f);
        }
        else Gemm.Compute(false, false, rows, f, cm, T.One, d.ReadOnlySpan, cm, kp, f, T.Zero, zs, f);
        // An activation whose backward reads only y is applied in place, as in Conv2D.
        var y = Activation is Linear<T> || Activation.BackwardNeedsOnlyOutput ? z : _wY.Get(outShape);
        if (Activation is not Linear<T>) Activation.Forward(z.ReadOnlySpan, y.Span, f);
        (_input, _d, _lastZ, _lastY) = (input, d, z, y);
        return y;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_lastY, dOutput, Name);
        var d = _d!;
        int rows = d.Shape[0] * d.Shape[1] * d.Shape[2], cm = d.Shape[3], f = Filters;
        ReadOnlySpan<T> dz;
        if (Activation is Linear<T>) dz = dOutput.ReadOnlySpan;
        else
        {
            var t = _wDz.Get(dOutput.Shape);
            Activation.Backward(_lastZ!.ReadOnlySpan, _lastY!.ReadOnlySpan, dOutput.ReadOnlySpan, t.Span, f);
            dz = t.ReadOnlySpan;
        }
        var kp = PointwiseKernel;
        // dKp += dᵀ·dz  [C·M, F]
        if (kp.Trainable) Gemm.Compute(true, false, cm, f, rows, T.One, d.ReadOnlySpan, cm, dz, f, T.One, kp.Grad.Span, f);
        // db += Σ_rows dz
        if (_bias is { Trainable: true } bias) Elementwise.SumColumns(dz, bias.Grad.Span, f, accumulate: true);
        // The depthwise step needs dd for its kernel's gradient or for the input gradient; with neither, dd = dz·Kpᵀ is
        // not formed. The zero tensor's storage is never written, so every view of it stays zero.
        if (!ComputeInputGradient && !DepthwiseKernel.Trainable) return _wZeroDx.Get(_input!.Shape);
        var dd = _wDd.Get(d.Shape);
        // dd = dz·Kpᵀ  [R, C·M]
        Gemm.Compute(false, true, rows, cm, f, T.One, dz, f, kp.Value.ReadOnlySpan, f, T.Zero, dd.Span, cm);
        return Depthwise.Backward(dd);
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig()
    {
        var c = new Dictionary<string, string>
        {
            ["filters"] = Filters.ToString(CultureInfo.InvariantCulture),
            ["kernel_size"] = $"{KernelSize.Height},{KernelSize.Width}",
            ["strides"] = $"{Strides.Height},{Strides.Width}",
            ["padding"] = Padding,
            ["depth_multiplier"] = DepthMultiplier.ToString(CultureInfo.InvariantCulture),
            ["dilation_rate"] = $"{DilationRate.Height},{DilationRate.Width}",
            ["activation"] = Activation.Name,
            ["use_bias"] = Str(UseBias),
            ["depthwise_initializer"] = DepthwiseInitializer.Name,
            ["pointwise_initializer"] = PointwiseInitializer.Name,
            ["bias_initializer"] = BiasInitializer.Name,
        };
        if (DepthwiseRegularizer is { } dr) c["depthwise_regularizer"] = dr.Name;
        if (PointwiseRegularizer is { } pr) c["pointwise_regularizer"] = pr.Name;
        if (BiasRegularizer is { } br) c["bias_regularizer"] = br.Name;
        if (ActivityRegularizer is { } ar) c["activity_regularizer"] = ar.Name;
        if (DepthwiseConstraint is { } dc) c["depthwise_constraint"] = dc.Name;
        if (PointwiseConstraint is { } pc) c["pointwise_constraint"] = pc.Name;
        if (BiasConstraint is { } bc) c["bias_constraint"] = bc.Name;
        return c;
    }
}
