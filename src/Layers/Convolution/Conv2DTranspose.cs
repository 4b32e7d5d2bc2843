using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Nn.Simd.Layers.Activations;
using Nn.Simd.Layers.Initializers;
using Nn.Simd.Tensors;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Layers;

// Shapes (channels last, as Keras): x [B, H, W, C], kernel K [kh, kw, F, C], bias [F], y [B, Ho, Wo, F].
// A transposed convolution is the input-gradient pass of the convolution from y's shape to x's with the same kernel
// (Keras' layout [kh, kw, F, C] is that convolution's [kh, kw, in, out]): seen from that convolution, y is the image,
// x the grid of patches, and K is [P, C] with P = kh·kw·F. Rows R = B·H·W input positions.
// Forward: dcols = x·Kᵀ [R, C]·[C, P], then y = col2im(dcols) + b (a scatter-add), then the activation.
// Backward: dz = activation'·dy, cols = im2col(dz) [R, P], dx = cols·K, dK += colsᵀ·x, db += Σ_pixels dz.

/// <summary>
/// Keras' <c>Conv2DTranspose</c> (a "deconvolution") on channels-last images <c>[batch, height, width, channels]</c>:
/// each input pixel spreads its channels through the kernel over a kh × kw window of the output, windows
/// <see cref="Strides"/> apart, and overlapping windows add:
/// y[oy, ox, f] = b[f] + Σ_{iy, ix, i, j, c : iy·sh + i·dh − pt = oy, ix·sw + j·dw − pl = ox} x[iy, ix, c]·K[i, j, f, c],
/// then the activation. This is exactly the input gradient of a <see cref="Conv2D{T}"/> with the same kernel, strides and
/// padding from y's shape back to x's, which is how it upsamples (stride 2 doubles the height and width).
/// </summary>
/// <remarks>
/// <para>The output size along each axis and the offset (pt, pl) follow Keras (<c>compute_conv_transpose_output_shape</c>;
/// see <see cref="WindowGeometry.Transposed"/>): <c>valid</c> gives (in − 1)·s + k + op with op defaulting to max(k, s) − k,
/// <c>same</c> gives in·s when <see cref="OutputPadding"/> is null and (in − 1)·s + k mod 2 + op otherwise.</para>
/// <para>Weights in Keras' layout, <c>kernel [kh, kw, filters, in]</c> (filters before the input channels, the reverse of
/// Conv2D's), so Keras weights load unchanged; PyTorch's <c>ConvTranspose2d.weight [in, filters, kh, kw]</c> is its
/// permutation (3, 2, 0, 1). PyTorch's <c>padding</c>/<c>output_padding</c> crop symmetrically and pad after, so Keras'
/// 'same' with an odd total crop (k − s odd) has no exact PyTorch <c>padding</c>: crop PyTorch's padding-0 output by
/// pt before instead (Keras' own torch backend warns about this).</para>
/// <para>Computed with the convolution's machinery: one GEMM per sample into patch rows and a col2im scatter forward;
/// im2col of the output gradient, its GEMM with K for dx, and one GEMM over all samples for dK backward.</para>
/// </remarks>
public sealed class Conv2DTranspose<T> : Layer<T>, IInputGradientOptional where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _wCols = new(), _wZ = new(), _wY = new(), _wDz = new(), _wDcols = new(), _wDx = new(), _wZeroDx = new(), _wDbRows = new();
    // Kᵀ [C, P] packed as the right operand of dcols = x·Kᵀ (forward), K [P, C] of dx = cols·K (backward).
    private PackedMatrix<T>? _packedKT, _packedK;
    private Parameter<T>? _kernel, _bias;
    private Tensor<T>? _input, _lastZ, _lastY, _dcols, _cols, _dx, _dz, _dOutput, _dbRows;
    private readonly SampleLoop _samples;
    // Geometry of the last forward call: the convolution from y [ho, wo, F] back to x [h, w, C].
    private PatchGeometry _g;
    private int _b;

    /// <summary>Creates the layer.</summary>
    /// <param name="filters">F, the number of output channels; positive.</param>
    /// <param name="kernelSize">(kh, kw); positive.</param>
    /// <param name="strides">(sh, sw), the output cells between the windows of neighbouring input pixels; positive.
    /// Default (1, 1).</param>
    /// <param name="padding"><c>valid</c> (the full scatter, output (in − 1)·s + max(k, s)) or <c>same</c> (output
    /// in·s).</param>
    /// <param name="outputPadding">(oph, opw), Keras' <c>output_padding</c>: extra cells after the base output size,
    /// each smaller than its stride; null (the default) for Keras' default sizes.</param>
    /// <param name="activation">An activation name; null for linear.</param>
    /// <param name="useBias">Whether to add a bias.</param>
    /// <param name="kernelInitializer">Defaults to Glorot-uniform (fans kh·kw·F and kh·kw·C, from the kernel's shape as
    /// Keras computes them).</param>
    /// <param name="biasInitializer">Defaults to zeros.</param>
    /// <param name="dilationRate">(dh, dw), the output cells between kernel taps (Keras' <c>dilation_rate</c>);
    /// positive, default (1, 1).</param>
    /// <exception cref="ArgumentOutOfRangeException">A size, stride or dilation rate is not positive, or an output padding
    /// is negative.</exception>
    /// <exception cref="ArgumentException">The padding or activation name is unknown, an output padding is not smaller
    /// than its stride, or a stride and a dilation rate both exceed 1 (Keras rejects all three).</exception>
    public Conv2DTranspose(int filters, (int Height, int Width) kernelSize, (int Height, int Width)? strides = null, string padding = "valid",
        (int Height, int Width)? outputPadding = null, string? activation = null, bool useBias = true,
        Initializer? kernelInitializer = null, Initializer? biasInitializer = null, (int Height, int Width)? dilationRate = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(filters);
        var s = strides ?? (1, 1);
        var d = dilationRate ?? (1, 1);
        WindowGeometry.CheckConvolution(kernelSize, s, d, padding);
        if (outputPadding is { } op)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(op.Height, nameof(outputPadding));
            ArgumentOutOfRangeException.ThrowIfNegative(op.Width, nameof(outputPadding));
            if (op.Height >= s.Height || op.Width >= s.Width)
                throw new ArgumentException($"outputPadding must be smaller than strides along each axis, as in Keras; got outputPadding {op} and strides {s}.", nameof(outputPadding));
        }
        Padding = padding;
        Filters = filters;
        KernelSize = kernelSize;
        Strides = s;
        DilationRate = d;
        OutputPadding = outputPadding;
        Activation = Activations.Activations.Get<T>(activation);
        UseBias = useBias;
        KernelInitializer = kernelInitializer ?? new GlorotUniform();
        BiasInitializer = biasInitializer ?? new Constant(0);
        _samples = new SampleLoop((n, block, backward) =>
        {
            if (backward) BackwardSample(n);
            else ForwardSample(n, block);
        });
    }

    /// <inheritdoc/>
    public override string TypeName => "conv2d_transpose";

    /// <summary>F, the output channels.</summary>
    public int Filters { get; }

    /// <summary>(kh, kw).</summary>
    public (int Height, int Width) KernelSize { get; }

    /// <summary>(sh, sw).</summary>
    public (int Height, int Width) Strides { get; }

    /// <summary>(dh, dw), the output cells between kernel taps.</summary>
    public (int Height, int Width) DilationRate { get; }

    /// <summary><c>valid</c> or <c>same</c>.</summary>
    public string Padding { get; }

    /// <summary>Keras' <c>output_padding</c>, or null for its default output sizes.</summary>
    public (int Height, int Width)? OutputPadding { get; }

    /// <summary>The activation.</summary>
    public Activation<T> Activation { get; }

    /// <summary>Whether a bias is added.</summary>
    public bool UseBias { get; }

    /// <summary>The kernel initializer.</summary>
    public Initializer KernelInitializer { get; }

    /// <summary>The bias initializer.</summary>
    public Initializer BiasInitializer { get; }

    /// <summary>The kernel [kh, kw, F, C] (Keras' layout: output channels before input channels).</summary>
    public Parameter<T> Kernel => _kernel ?? throw new InvalidOperationException($"{Name} is not built yet.");

    /// <summary>The bias [F], or null.</summary>
    public Parameter<T>? Bias => _bias;

    /// <summary>Whether Backward computes the input gradient (dx = im2col(dz)·K). A model turns it off for its first layer,
    /// whose input is data; the returned gradient is then zero.</summary>
    public bool ComputeInputGradient { get; set; } = true;

    /// <summary>A penalty on the kernel (Keras' <c>kernel_regularizer</c>); null for none.</summary>
    public Regularizers.Regularizer? KernelRegularizer { get => GetRegularizer("kernel"); set => SetRegularizer("kernel", value); }

    /// <summary>A penalty on the bias (Keras' <c>bias_regularizer</c>); null for none.</summary>
    public Regularizers.Regularizer? BiasRegularizer { get => GetRegularizer("bias"); set => SetRegularizer("bias", value); }

    /// <summary>A projection of the kernel after each optimizer step (Keras' <c>kernel_constraint</c>); null for none.</summary>
    /// <exception cref="ArgumentException">Set on a built layer, the constraint does not fit the kernel's shape.</exception>
    public Constraints.Constraint? KernelConstraint { get => GetConstraint("kernel"); set => SetConstraint("kernel", value); }

    /// <summary>A projection of the bias after each optimizer step (Keras' <c>bias_constraint</c>); null for none.</summary>
    /// <exception cref="ArgumentException">Set on a built layer, the constraint does not fit the bias's shape.</exception>
    public Constraints.Constraint? BiasConstraint { get => GetConstraint("bias"); set => SetConstraint("bias", value); }

    private void CheckRank(TensorShape shape)
    {
        if (shape.Rank != 4)
            throw new ArgumentException($"{Name} takes channels-last images [batch, height, width, channels]; got {shape}.", "input");
    }

    /// <summary>The output size and the offset of the output in the full scatter along one axis.</summary>
    private (int Out, int PadBefore) Along(int size, int kernel, int stride, int dilation, int? outputPadding) =>
        WindowGeometry.Transposed(Padding, size, (kernel - 1) * dilation + 1, stride, outputPadding);

    /// <inheritdoc/>
    protected override void BuildCore(TensorShape inputShape, Random rng)
    {
        CheckRank(inputShape);
        _kernel = AddParameter("kernel", new TensorShape(KernelSize.Height, KernelSize.Width, Filters, inputShape[-1]), KernelInitializer, rng);
        _bias = UseBias ? AddParameter("bias", new TensorShape(Filters), BiasInitializer, rng) : null;
    }

    /// <inheritdoc/>
    public override TensorShape ComputeOutputShape(TensorShape inputShape)
    {
        CheckRank(inputShape);
        var (ho, _) = Along(inputShape[1], KernelSize.Height, Strides.Height, DilationRate.Height, OutputPadding?.Height);
        var (wo, _) = Along(inputShape[2], KernelSize.Width, Strides.Width, DilationRate.Width, OutputPadding?.Width);
        if (ho <= 0 || wo <= 0)
            throw new ArgumentException($"{Name}: a {KernelSize.Height}×{KernelSize.Width} kernel with '{Padding}' padding and outputPadding {OutputPadding?.ToString() ?? "null"} leaves no output for {inputShape}.", "input");
        return new TensorShape(inputShape[0], ho, wo, Filters);
    }

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        EnsureBuilt(input);
        var outShape = ComputeOutputShape(input.Shape);
        int h = input.Shape[1], w = input.Shape[2], c = input.Shape[3], f = Filters;
        _b = input.Shape[0];
        int padTop = Along(h, KernelSize.Height, Strides.Height, DilationRate.Height, OutputPadding?.Height).PadBefore;
        int padLeft = Along(w, KernelSize.Width, Strides.Width, DilationRate.Width, OutputPadding?.Width).PadBefore;
        _g = new PatchGeometry(outShape[1], outShape[2], f, h, w, KernelSize.Height, KernelSize.Width, Strides.Height, Strides.Width,
            DilationRate.Height, DilationRate.Width, padTop, padLeft);
        _input = input;
        var z = _wZ.Get(outShape);
        _lastZ = z;
        _lastY = Activation.BackwardNeedsOnlyOutput ? z : _wY.Get(outShape);
        int p = _g.P;
        var k = Kernel.Value.ReadOnlySpan;
        // op(B) = Kᵀ [c, p], stored as K [p, c] = [n, k].
        if (_packedKT is null) _packedKT = Gemm.Pack(true, c, p, k, c);
        else _packedKT.Repack(k, c);
        long work = (long)_b * h * w * p * c;
        // A sample's patch rows are used up by its col2im, so each block of samples reuses one sample's rows.
        _dcols = _wDcols.Get(SampleLoop.Blocks(_b, work) * h * w, p);
        _samples.Run(_b, work, backward: false);
        _dcols = null;
        return _lastY;
    }

    /// <summary>Forward for sample n: its patch rows x·Kᵀ (in the scratch rows of its block), the col2im scatter into z,
    /// the bias on every pixel, then y = activation(z).</summary>
    private void ForwardSample(int n, int block)
    {
        int c = _input!.Shape[3], f = Filters, p = _g.P, rows = _g.Ho * _g.Wo, pixels = _g.H * _g.W;
        var dcols = _dcols!.Span.Slice(block * rows * p, rows * p);
        Gemm.Compute(false, rows, T.One, _input!.ReadOnlySpan.Slice(n * rows * c, rows * c), c, _packedKT!, T.Zero, dcols, p);
        var zs = _lastZ!.Span.Slice(n * pixels * f, pixels * f);
        Patches<T>.Col2Im(_g, dcols, zs);
        if (_bias is { } bias)
        {
            ref T b = ref MemoryMarshal.GetReference(bias.Value.ReadOnlySpan);
            ref T z0 = ref MemoryMarshal.GetReference(zs);
            for (int r = 0; r < pixels; r++) Patches<T>.AddShort(ref b, ref Unsafe.Add(ref z0, r * f), f);
        }
        if (Activation is not Linear<T>) Activation.Forward(zs, _lastY!.Span.Slice(n * pixels * f, pixels * f), f);
    }

    /// <summary>Backward for sample n: dz = activation'(z)·dy over its pixels, their column sums (for the bias gradient),
    /// the im2col of dz into its rows of the patch matrix, then (when wanted) its rows of dx = cols·K.</summary>
    private void BackwardSample(int n)
    {
        int c = _input!.Shape[3], f = Filters, p = _g.P, rows = _g.Ho * _g.Wo, pixels = _g.H * _g.W;
        ReadOnlySpan<T> dz;
        if (_dz is { } t)
        {
            var dzs = t.Span.Slice(n * pixels * f, pixels * f);
            Activation.Backward(_lastZ!.ReadOnlySpan.Slice(n * pixels * f, pixels * f), _lastY!.ReadOnlySpan.Slice(n * pixels * f, pixels * f),
                _dOutput!.ReadOnlySpan.Slice(n * pixels * f, pixels * f), dzs, f);
            dz = dzs;
        }
        else dz = _dOutput!.ReadOnlySpan.Slice(n * pixels * f, pixels * f);
        if (_dbRows is { } dbRows) Elementwise.SumColumns(dz, dbRows.Span.Slice(n * f, f), f, accumulate: false);
        var cols = _cols!.Span.Slice(n * rows * p, rows * p);
        Patches<T>.Im2Col(_g, dz, cols);
        if (_dx is { } dx) Gemm.Compute(false, rows, T.One, cols, p, _packedK!, T.Zero, dx.Span.Slice(n * rows * c, rows * c), c);
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_lastY, dOutput, Name);
        var input = _input!;
        int c = input.Shape[3], f = Filters, p = _g.P, rows = _b * _g.Ho * _g.Wo;
        _dOutput = dOutput;
        _dz = Activation is Linear<T> ? null : _wDz.Get(dOutput.Shape);
        _cols = _wCols.Get(rows, p);
        _dx = ComputeInputGradient ? _wDx.Get(input.Shape) : null;
        if (_dx is not null)
        {
            var k = Kernel.Value.ReadOnlySpan;
            if (_packedK is null) _packedK = Gemm.Pack(false, p, c, k, c);
            else _packedK.Repack(k, c);
        }
        // db = Σ_pixels dz: each sample's column sums on the worker threads, then the B rows in sample order, so the
        // result does not depend on the thread count.
        _dbRows = _bias is { Trainable: true } ? _wDbRows.Get(_b, f) : null;
        _samples.Run(_b, (long)rows * p * c, backward: true);
        var cols = _cols.ReadOnlySpan;
        if (Kernel.Trainable) Gemm.Compute(true, false, p, c, rows, T.One, cols, p, input.ReadOnlySpan, c, T.One, Kernel.Grad.Span, c);
        if (_bias is { Trainable: true } bias) Elementwise.SumColumns(_dbRows!.ReadOnlySpan, bias.Grad.Span, f, accumulate: true);
        _dOutput = null;
        _dbRows = null;
        // The zero tensor's storage is never written, so every view of it stays zero.
        return _dx ?? _wZeroDx.Get(input.Shape);
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
            ["dilation_rate"] = $"{DilationRate.Height},{DilationRate.Width}",
            ["activation"] = Activation.Name,
            ["use_bias"] = Str(UseBias),
            ["kernel_initializer"] = KernelInitializer.Name,
            ["bias_initializer"] = BiasInitializer.Name,
        };
        if (OutputPadding is { } op) c["output_padding"] = $"{op.Height},{op.Width}";
        AddRegularizerConfig(c);
        AddConstraintConfig(c);
        return c;
    }
}
