using System.Numerics;
using Nn.Simd.Layers.Activations;
using Nn.Simd.Layers.Initializers;
using Nn.Simd.Tensors;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Layers;

// Shapes: B = batch, T = time (optional), F = input features, H = units. Rows R = B (or B·T).
// x [B, F] or [B, T, F];  kernel W [F, H];  bias b [H];  z = x·W + b [R, H];  y = act(z).

/// <summary>
/// A fully connected layer, <c>y = activation(x·W + b)</c>, Keras' <c>Dense</c>. It takes <c>[batch, features]</c>
/// or <c>[batch, time, features]</c> (applied at each time step).
/// </summary>
/// <remarks>Defaults follow Keras: Glorot-uniform kernel, zero bias, linear activation.</remarks>
public sealed class Dense<T> : Layer<T>, IInputGradientOptional where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _z = new(), _y = new(), _dz = new(), _dx = new(), _zeroDx = new();
    private Tensor<T>? _x, _lastZ, _lastY;
    private Parameter<T>? _kernel, _bias;

    /// <summary>Creates the layer.</summary>
    /// <param name="units">H, the number of outputs; positive.</param>
    /// <param name="activation">An activation name (see <see cref="Activations.Activations.Names"/>); null means linear.</param>
    /// <param name="useBias">Whether to add a bias.</param>
    /// <param name="kernelInitializer">Defaults to Glorot-uniform.</param>
    /// <param name="biasInitializer">Defaults to zeros.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="units"/> is not positive.</exception>
    public Dense(int units, string? activation = null, bool useBias = true,
        Initializer? kernelInitializer = null, Initializer? biasInitializer = null)
        : this(units, Activations.Activations.Get<T>(activation), useBias, kernelInitializer, biasInitializer) { }

    /// <summary>Creates the layer with an activation object (e.g. a custom one).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="units"/> is not positive.</exception>
    public Dense(int units, Activation<T> activation, bool useBias = true,
        Initializer? kernelInitializer = null, Initializer? biasInitializer = null)
    {
        if (units <= 0)
            throw new ArgumentOutOfRangeException(nameof(units), $"units must be a positive integer; got {units}.");
        ArgumentNullException.ThrowIfNull(activation);
        Units = units;
        Activation = activation;
        UseBias = useBias;
        KernelInitializer = kernelInitializer ?? new GlorotUniform();
        BiasInitializer = biasInitializer ?? new Constant(0);
    }

    /// <inheritdoc/>
    public override string TypeName => "dense";

    /// <summary>H, the number of outputs.</summary>
    public int Units { get; }

    /// <summary>The activation applied to <c>x·W + b</c>.</summary>
    public Activation<T> Activation { get; }

    /// <summary>Whether a bias is added.</summary>
    public bool UseBias { get; }

    /// <summary>The kernel initializer.</summary>
    public Initializer KernelInitializer { get; }

    /// <summary>The bias initializer.</summary>
    public Initializer BiasInitializer { get; }

    /// <summary>The kernel W, [F, H].</summary>
    public Parameter<T> Kernel => _kernel ?? throw new InvalidOperationException($"{Name} is not built yet.");

    /// <summary>The bias b, [H]; null when <see cref="UseBias"/> is false.</summary>
    public Parameter<T>? Bias => _bias;

    /// <summary>Whether <see cref="Backward"/> computes the gradient with respect to the input (the default). Set it
    /// to false when the input is data, as for the first layer of a model: the backward pass then skips the product
    /// <c>dz·Wᵀ</c> (a third of a wide first layer's work; autograd engines skip it the same way) and returns a tensor of
    /// zeros of the input's shape.</summary>
    public bool ComputeInputGradient { get; set; } = true;

    /// <summary>A penalty on the kernel added to the training loss (Keras' <c>kernel_regularizer</c>); null for none.</summary>
    public Regularizers.Regularizer? KernelRegularizer { get => GetRegularizer("kernel"); set => SetRegularizer("kernel", value); }

    /// <summary>A penalty on the bias added to the training loss (Keras' <c>bias_regularizer</c>); null for none.</summary>
    public Regularizers.Regularizer? BiasRegularizer { get => GetRegularizer("bias"); set => SetRegularizer("bias", value); }

    /// <summary>A projection of the kernel after each optimizer step (Keras' <c>kernel_constraint</c>, e.g.
    /// <c>new MaxNorm(3)</c>: axis 0 bounds each unit's incoming weights); null for none.</summary>
    /// <exception cref="ArgumentException">Set on a built layer, the constraint does not fit the kernel's shape.</exception>
    public Constraints.Constraint? KernelConstraint { get => GetConstraint("kernel"); set => SetConstraint("kernel", value); }

    /// <summary>A projection of the bias after each optimizer step (Keras' <c>bias_constraint</c>); null for none.</summary>
    /// <exception cref="ArgumentException">Set on a built layer, the constraint does not fit the bias's shape.</exception>
    public Constraints.Constraint? BiasConstraint { get => GetConstraint("bias"); set => SetConstraint("bias", value); }

    /// <inheritdoc/>
    protected override void BuildCore(TensorShape inputShape, Random rng)
    {
        if (inputShape.Rank is < 2 or > 3)
            throw new ArgumentException($"{Name} takes [batch, features] or [batch, time, features]; got {inputShape}.", nameof(inputShape));
        _kernel = AddParameter("kernel", new TensorShape(inputShape[-1], Units), KernelInitializer, rng);
        _bias = UseBias ? AddParameter("bias", new TensorShape(Units), BiasInitializer, rng) : null;
    }

    /// <inheritdoc/>
    public override TensorShape ComputeOutputShape(TensorShape inputShape)
    {
        if (inputShape.Rank is < 2 or > 3)
            throw new ArgumentException($"{Name} takes [batch, features] or [batch, time, features]; got {inputShape}.", nameof(inputShape));
        return inputShape.Rank == 2 ? new TensorShape(inputShape[0], Units) : new TensorShape(inputShape[0], inputShape[1], Units);
    }

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        EnsureBuilt(input);
        var outShape = ComputeOutputShape(input.Shape);
        int rows = input.Shape.Rows, f = input.Shape.Columns, h = Units;
        bool linear = Activation is Linear<T>;
        var z = _z.Get(outShape);
        if (_bias is { } b)
        {
            // Broadcast the bias into z, then accumulate the product onto it (beta = 1): one pass fewer.
            var bs = b.Value.ReadOnlySpan;
            var zs = z.Span;
            for (int r = 0; r < rows; r++) bs.CopyTo(zs.Slice(r * h, h));
            Gemm.Compute(false, false, rows, h, f, T.One, input.ReadOnlySpan, f, Kernel.Value.ReadOnlySpan, h, T.One, zs, h);
        }
        else
        {
            Gemm.Compute(false, false, rows, h, f, T.One, input.ReadOnlySpan, f, Kernel.Value.ReadOnlySpan, h, T.Zero, z.Span, h);
        }
        var y = linear ? z : _y.Get(outShape);
        if (!linear) Activation.Forward(z.ReadOnlySpan, y.Span, h);
        _x = input;
        _lastZ = z;
        _lastY = y;
        return y;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_lastY, dOutput, Name);
        var x = _x!;
        int rows = x.Shape.Rows, f = x.Shape.Columns, h = Units;
        ReadOnlySpan<T> dz;
        if (Activation is Linear<T>) dz = dOutput.ReadOnlySpan;
        else
        {
            var dzt = _dz.Get(dOutput.Shape);
            Activation.Backward(_lastZ!.ReadOnlySpan, _lastY!.ReadOnlySpan, dOutput.ReadOnlySpan, dzt.Span, h);
            dz = dzt.ReadOnlySpan;
        }
        // dW += xᵀ·dz  [F, H]
        if (Kernel.Trainable) Gemm.Compute(true, false, f, h, rows, T.One, x.ReadOnlySpan, f, dz, h, T.One, Kernel.Grad.Span, h);
        // db += Σ_rows dz
        if (_bias is { Trainable: true } b) Elementwise.SumColumns(dz.Slice(0, rows * h), b.Grad.Span, h, accumulate: true);
        // The zero tensor's storage is never written, so every view of it stays zero.
        if (!ComputeInputGradient) return _zeroDx.Get(x.Shape);
        // dx = dz·Wᵀ  [R, F]
        var dx = _dx.Get(x.Shape);
        Gemm.Compute(false, true, rows, f, h, T.One, dz, h, Kernel.Value.ReadOnlySpan, h, T.Zero, dx.Span, f);
        return dx;
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig()
    {
        var c = new Dictionary<string, string>
        {
            ["units"] = Units.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["activation"] = Activation.Name,
            ["use_bias"] = Str(UseBias),
            ["kernel_initializer"] = KernelInitializer.Name,
            ["bias_initializer"] = BiasInitializer.Name,
        };
        AddRegularizerConfig(c);
        AddConstraintConfig(c);
        return c;
    }
}
