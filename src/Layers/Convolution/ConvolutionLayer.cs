using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Nn.Simd.Layers.Activations;
using Nn.Simd.Layers.Initializers;
using Nn.Simd.Tensors;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Layers;

// Shapes (channels last, as Keras): x [B, H, W, C], kernel K [kh, kw, C, F], bias [F], y [B, Ho, Wo, F].
// Rows R = B·Ho·Wo output positions; columns of the patch matrix P = kh·kw·C in the kernel's (i, j, c) order,
// so K is [P, F] as stored and z = cols·K + b is one GEMM [R, P]·[P, F].
// Backward: dK += colsᵀ·dz, db += Σ_rows dz, dcols = dz·Kᵀ, then dx = col2im(dcols) (a scatter-add).
// Conv1D: a sequence [B, T, C] is the image [B, 1, T, C] and its kernel [k, C, F] is [1, k, C, F], the same memory.

/// <summary>
/// The shared machinery of <see cref="Conv2D{T}"/> and <see cref="Conv1D{T}"/> (a 1-D convolution is a 2-D one over
/// images one pixel high, with the same memory layout): <see cref="Filters"/> kernels slid with the strides,
/// <c>valid</c> (no padding), <c>same</c> (zero padding so that the output is ⌈size/stride⌉, the extra pad going to
/// the bottom and right as in TensorFlow) or, in 1-D, <c>causal</c> (all padding before the start, so an output
/// never sees a later step), then the bias and the activation.
/// </summary>
/// <remarks>Computed as an im2col patch matrix times the kernel, one GEMM forward and two backward, with a
/// col2im scatter for the input gradient. Everything that stays within one sample runs per sample on the worker
/// threads, while that sample's rows are in cache: forward its im2col, its rows of the GEMM, the bias and the
/// activation; backward the activation's gradient, its column sums of dz (for the bias gradient), its rows of
/// dcols = dz·Kᵀ and its col2im. The kernel gradient, a sum over all samples, is one GEMM afterwards (split over its
/// rows). The patch matrix is kept between forward and backward in a workspace.</remarks>
public abstract class ConvolutionLayer<T> : Layer<T>, IInputGradientOptional where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _wCols = new(), _wZ = new(), _wY = new(), _wDz = new(), _wDcols = new(), _wDx = new(), _wZeroDx = new(), _wDbRows = new();
    // K [p, f] packed as the right operand of z = cols·K, and Kᵀ [f, p] of dcols = dz·Kᵀ: packed once per pass and
    // shared by every sample's GEMM (packing per sample repeated the copy B times).
    private PackedMatrix<T>? _packedK, _packedKT;
    private Parameter<T>? _kernel, _bias;
    private Tensor<T>? _cols, _lastZ, _lastY, _input;

    /// <summary>Checks and sets the options shared by the convolutions.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size, stride or dilation rate is not positive.</exception>
    /// <exception cref="ArgumentException">The padding or activation name is unknown, or both a stride and a dilation rate
    /// exceed 1 (Keras rejects that too).</exception>
    private protected ConvolutionLayer(int filters, (int Height, int Width) kernelSize, (int Height, int Width) strides,
        (int Height, int Width) dilationRate, string padding, bool allowCausal, string? activation, bool useBias, Initializer? kernelInitializer, Initializer? biasInitializer)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(filters);
        WindowGeometry.CheckConvolution(kernelSize, strides, dilationRate, padding, allowCausal);
        Padding = padding;
        Filters = filters;
        KernelHW = kernelSize;
        StridesHW = strides;
        DilationHW = dilationRate;
        Activation = Activations.Activations.Get<T>(activation);
        UseBias = useBias;
        KernelInitializer = kernelInitializer ?? new GlorotUniform();
        BiasInitializer = biasInitializer ?? new Constant(0);
        _samples = new SampleLoop((n, block, backward) =>
        {
            if (backward) BackwardSample(n, block);
            else ForwardSample(n);
        });
    }

    /// <summary>F, the output channels.</summary>
    public int Filters { get; }

    /// <summary>(kh, kw), kh = 1 in 1-D.</summary>
    private protected (int Height, int Width) KernelHW { get; }

    /// <summary>(sh, sw), sh = 1 in 1-D.</summary>
    private protected (int Height, int Width) StridesHW { get; }

    /// <summary>(dh, dw), dh = 1 in 1-D: kernel tap i reads the input i·d cells after the window's start, so a k-tap
    /// kernel spans (k − 1)·d + 1 cells.</summary>
    private protected (int Height, int Width) DilationHW { get; }

    /// <summary><c>valid</c>, <c>same</c> or (1-D) <c>causal</c>.</summary>
    public string Padding { get; }

    /// <summary>The activation.</summary>
    public Activation<T> Activation { get; }

    /// <summary>Whether a bias is added.</summary>
    public bool UseBias { get; }

    /// <summary>The kernel initializer.</summary>
    public Initializer KernelInitializer { get; }

    /// <summary>The bias initializer.</summary>
    public Initializer BiasInitializer { get; }

    /// <summary>The kernel, [kh, kw, C, F] (Conv2D) or [k, C, F] (Conv1D).</summary>
    public Parameter<T> Kernel => _kernel ?? throw new InvalidOperationException($"{Name} is not built yet.");

    /// <summary>The bias [F], or null.</summary>
    public Parameter<T>? Bias => _bias;

    /// <summary>Whether Backward computes the input gradient (the col2im scatter). A model turns it off for its first
    /// layer, whose input is data; the returned gradient is then zero.</summary>
    public bool ComputeInputGradient { get; set; } = true;

    /// <summary>A penalty on the kernel (Keras' <c>kernel_regularizer</c>); null for none.</summary>
    public Regularizers.Regularizer? KernelRegularizer { get => GetRegularizer("kernel"); set => SetRegularizer("kernel", value); }

    /// <summary>A penalty on the bias (Keras' <c>bias_regularizer</c>); null for none.</summary>
    public Regularizers.Regularizer? BiasRegularizer { get => GetRegularizer("bias"); set => SetRegularizer("bias", value); }

    /// <summary>A projection of the kernel after each optimizer step (Keras' <c>kernel_constraint</c>, e.g.
    /// <c>new MaxNorm(3, [0, 1, 2])</c> for a Conv2D kernel's filters); null for none.</summary>
    /// <exception cref="ArgumentException">Set on a built layer, the constraint does not fit the kernel's shape.</exception>
    public Constraints.Constraint? KernelConstraint { get => GetConstraint("kernel"); set => SetConstraint("kernel", value); }

    /// <summary>A projection of the bias after each optimizer step (Keras' <c>bias_constraint</c>); null for none.</summary>
    /// <exception cref="ArgumentException">Set on a built layer, the constraint does not fit the bias's shape.</exception>
    public Constraints.Constraint? BiasConstraint { get => GetConstraint("bias"); set => SetConstraint("bias", value); }

    /// <summary>2 for images, 1 for sequences.</summary>
    private protected abstract int SpatialRank { get; }

    private void CheckRank(TensorShape shape)
    {
        if (shape.Rank != SpatialRank + 2)
            throw new ArgumentException(SpatialRank == 2
                ? $"{Name} takes channels-last images [batch, height, width, channels]; got {shape}."
                : $"{Name} takes sequences [batch, steps, channels]; got {shape}.", "input");
    }

    /// <summary>The input as an image [B, H, W, C]: a sequence [B, T, C] is one pixel high.</summary>
    private (int B, int H, int W, int C) Image(TensorShape s) => SpatialRank == 2 ? (s[0], s[1], s[2], s[3]) : (s[0], 1, s[1], s[2]);

    private string KernelText => SpatialRank == 2 ? $"{KernelHW.Height}×{KernelHW.Width}" : $"{KernelHW.Width}-step";

    /// <summary>The output size and the padding before the first row/column along one axis, for a kernel spanning
    /// (k − 1)·d + 1 cells.</summary>
    private (int Out, int PadBefore) Geometry(int size, int kernel, int stride, int dilation) =>
        WindowGeometry.Along(Padding, size, (kernel - 1) * dilation + 1, stride);

    /// <inheritdoc/>
    protected override void BuildCore(TensorShape inputShape, Random rng)
    {
        CheckRank(inputShape);
        int c = inputShape[-1];
        var shape = SpatialRank == 2 ? new TensorShape(KernelHW.Height, KernelHW.Width, c, Filters) : new TensorShape(KernelHW.Width, c, Filters);
        _kernel = AddParameter("kernel", shape, KernelInitializer, rng);
        _bias = UseBias ? AddParameter("bias", new TensorShape(Filters), BiasInitializer, rng) : null;
    }

    /// <inheritdoc/>
    public override TensorShape ComputeOutputShape(TensorShape inputShape)
    {
        CheckRank(inputShape);
        var (b, h, w, _) = Image(inputShape);
        var (ho, _) = Geometry(h, KernelHW.Height, StridesHW.Height, DilationHW.Height);
        var (wo, _) = Geometry(w, KernelHW.Width, StridesHW.Width, DilationHW.Width);
        if (ho <= 0 || wo <= 0)
            throw new ArgumentException($"{Name}: a {KernelText} kernel with '{Padding}' padding leaves no output for {inputShape}.", "input");
        return SpatialRank == 2 ? new TensorShape(b, ho, wo, Filters) : new TensorShape(b, wo, Filters);
    }

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        EnsureBuilt(input);
        var outShape = ComputeOutputShape(input.Shape);
        SetGeometry(input.Shape, outShape);
        int f = Filters, rows = _b * _ho * _wo, p = _p;
        _input = input;
        _cols = _wCols.Get(rows, p);
        var z = _wZ.Get(outShape);
        _lastZ = z;
        // An activation whose backward reads only y is applied in place: z is not kept (for ReLU in the benchmark,
        // 2.8 MB less at the first layer).
        _lastY = Activation.BackwardNeedsOnlyOutput ? z : _wY.Get(outShape);
        var k = Kernel.Value.ReadOnlySpan;
        if (_packedK is null) _packedK = Gemm.Pack(false, p, f, k, f);
        else _packedK.Repack(k, f);
        _samples.Run(_b, (long)rows * p * f, backward: false);
        return _lastY;
    }

    /// <summary>Forward for sample n: its im2col rows, z = cols·K + b over them, then y = activation(z).</summary>
    private void ForwardSample(int n)
    {
        Im2Col(n);
        int f = Filters, p = _p, rows = _ho * _wo, r0 = n * rows;
        var cols = _cols!.ReadOnlySpan.Slice(r0 * p, rows * p);
        var zs = _lastZ!.Span.Slice(r0 * f, rows * f);
        if (_bias is { } bias)
        {
            ref T b = ref MemoryMarshal.GetReference(bias.Value.ReadOnlySpan);
            ref T z0 = ref MemoryMarshal.GetReference(zs);
            for (int r = 0; r < rows; r++) Patches<T>.CopyShort(ref b, ref Unsafe.Add(ref z0, r * f), f);
            Gemm.Compute(false, rows, T.One, cols, p, _packedK!, T.One, zs, f);
        }
        else Gemm.Compute(false, rows, T.One, cols, p, _packedK!, T.Zero, zs, f);
        if (Activation is not Linear<T>) Activation.Forward(zs, _lastY!.Span.Slice(r0 * f, rows * f), f);
    }

    /// <summary>Backward for sample n: dz = activation'(z)·dy over its rows, then (when the input gradient is wanted)
    /// its rows of dcols = dz·Kᵀ (in the scratch rows of its block) and the col2im scatter.</summary>
    private void BackwardSample(int n, int block)
    {
        int f = Filters, p = _p, rows = _ho * _wo, r0 = n * rows;
        ReadOnlySpan<T> dz;
        if (_dz is { } t)
        {
            var dzs = t.Span.Slice(r0 * f, rows * f);
            Activation.Backward(_lastZ!.ReadOnlySpan.Slice(r0 * f, rows * f), _lastY!.ReadOnlySpan.Slice(r0 * f, rows * f),
                _dOutput!.ReadOnlySpan.Slice(r0 * f, rows * f), dzs, f);
            dz = dzs;
        }
        else dz = _dOutput!.ReadOnlySpan.Slice(r0 * f, rows * f);
        if (_dbRows is { } dbRows) Elementwise.SumColumns(dz, dbRows.Span.Slice(n * f, f), f, accumulate: false);
        if (_dcols is null) return;
        var dcols = _dcols.Span.Slice(block * rows * p, rows * p);
        Gemm.Compute(false, rows, T.One, dz, f, _packedKT!, T.Zero, dcols, p);
        Col2Im(n, dcols);
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_lastY, dOutput, Name);
        var input = _input!;
        int f = Filters, rows = _b * _ho * _wo, p = _p;
        _dOutput = dOutput;
        _dz = Activation is Linear<T> ? null : _wDz.Get(dOutput.Shape);
        // dcols = dz·Kᵀ, then scatter-add every patch back onto the pixels it came from (col2im), per sample. A sample's
        // dcols is used up by its col2im, so each block of samples reuses one sample's rows: B·Ho·Wo·P values (4.5 MB
        // for the benchmark's second layer) would push the step's buffers out of the L3 cache.
        long work = (long)rows * p * f;
        _dcols = ComputeInputGradient ? _wDcols.Get(SampleLoop.Blocks(_b, work) * _ho * _wo, p) : null;
        _dx = ComputeInputGradient ? _wDx.Get(input.Shape) : null;
        if (_dcols is not null)
        {
            // op(B) = Kᵀ [f, p], stored as K [p, f] = [n, k].
            if (_packedKT is null) _packedKT = Gemm.Pack(true, f, p, Kernel.Value.ReadOnlySpan, f);
            else _packedKT.Repack(Kernel.Value.ReadOnlySpan, f);
        }
        bool perSample = _dz is not null || _dcols is not null;
        // db = Σ_rows dz: each sample's column sums while its dz is in cache (on the worker threads), then the sum of
        // those B rows in sample order, so the result does not depend on the thread count.
        _dbRows = perSample && _bias is { Trainable: true } ? _wDbRows.Get(_b, f) : null;
        if (perSample) _samples.Run(_b, work, backward: true);
        var dz = _dz is { } t ? t.ReadOnlySpan : dOutput.ReadOnlySpan;
        var cols = _cols!.ReadOnlySpan;
        if (Kernel.Trainable) Gemm.Compute(true, false, p, f, rows, T.One, cols, p, dz, f, T.One, Kernel.Grad.Span, f);
        if (_bias is { Trainable: true } bias)
            Elementwise.SumColumns(_dbRows is { } dbRows ? dbRows.ReadOnlySpan : dz, bias.Grad.Span, f, accumulate: true);
        _dOutput = null;
        _dbRows = null;
        // The zero tensor's storage is never written, so every view of it stays zero.
        return _dx ?? _wZeroDx.Get(input.Shape);
    }

    // Geometry of the last forward call.
    private int _b, _h, _w, _c, _ho, _wo, _p, _padTop, _padLeft;
    private Tensor<T>? _dcols, _dx, _dz, _dOutput, _dbRows;
    private readonly SampleLoop _samples;
    private PatchGeometry _geometry;

    private void SetGeometry(TensorShape input, TensorShape output)
    {
        (_b, _h, _w, _c) = Image(input);
        (_, _ho, _wo, _) = Image(output);
        _p = KernelHW.Height * KernelHW.Width * _c;
        _padTop = Geometry(_h, KernelHW.Height, StridesHW.Height, DilationHW.Height).PadBefore;
        _padLeft = Geometry(_w, KernelHW.Width, StridesHW.Width, DilationHW.Width).PadBefore;
        _geometry = new PatchGeometry(_h, _w, _c, _ho, _wo, KernelHW.Height, KernelHW.Width, StridesHW.Height, StridesHW.Width,
            DilationHW.Height, DilationHW.Width, _padTop, _padLeft);
    }

    /// <summary>im2col for sample n into its rows of the patch matrix.</summary>
    private void Im2Col(int n)
    {
        int hwc = _h * _w * _c, rows = _ho * _wo * _geometry.P;
        Patches<T>.Im2Col(_geometry, _input!.ReadOnlySpan.Slice(n * hwc, hwc), _cols!.Span.Slice(n * rows, rows));
    }

    /// <summary>col2im for sample n: its image gradient is the sum of its patches' gradients, each added back onto
    /// the pixels the patch came from.</summary>
    private void Col2Im(int n, ReadOnlySpan<T> dcols)
    {
        int hwc = _h * _w * _c;
        Patches<T>.Col2Im(_geometry, dcols, _dx!.Span.Slice(n * hwc, hwc));
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig()
    {
        var c = new Dictionary<string, string>
        {
            ["filters"] = Filters.ToString(CultureInfo.InvariantCulture),
            ["kernel_size"] = SpatialRank == 2 ? $"{KernelHW.Height},{KernelHW.Width}" : KernelHW.Width.ToString(CultureInfo.InvariantCulture),
            ["strides"] = SpatialRank == 2 ? $"{StridesHW.Height},{StridesHW.Width}" : StridesHW.Width.ToString(CultureInfo.InvariantCulture),
            ["padding"] = Padding,
            ["activation"] = Activation.Name,
            ["use_bias"] = Str(UseBias),
            ["kernel_initializer"] = KernelInitializer.Name,
            ["bias_initializer"] = BiasInitializer.Name,
        };
        c["dilation_rate"] = SpatialRank == 2 ? $"{DilationHW.Height},{DilationHW.Width}" : DilationHW.Width.ToString(CultureInfo.InvariantCulture);
        AddRegularizerConfig(c);
        AddConstraintConfig(c);
        return c;
    }
}
