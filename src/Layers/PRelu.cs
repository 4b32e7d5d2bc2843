using System.Globalization;
using System.Numerics;
using Nn.Simd.Layers.Initializers;
using Nn.Simd.Tensors;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Layers;

// Shapes: B = batch, S = one sample's shape [d1, …, dk] (every axis but the batch axis), F = its element count.
// x, y [B, d1, …, dk];  alpha α [a1, …, ak] with aᵢ = 1 on a shared axis, dᵢ otherwise.
// y = x > 0 ? x : α·x;  dx = x > 0 ? dy : α·dy;  dα = Σ over the batch and the shared axes of min(x, 0)·dy.
// The sample splits into runs: the trailing axes that are all unshared (α runs alongside x, one slope per element)
// or all shared (one slope for the run). Each run is one vectorised kernel call; the α offset of every run in a
// sample is computed once per sample shape.

/// <summary>
/// Keras' <c>PRelu</c>: the parametric ReLU, <c>y = x</c> for <c>x ≥ 0</c> and <c>y = α·x</c> otherwise, with a
/// trainable slope α of the input's sample shape (every axis but the batch axis), optionally shared along
/// <see cref="SharedAxes"/>. With <c>sharedAxes: [1, 2]</c> on images <c>[batch, height, width, channels]</c> there is
/// one slope per channel (as PyTorch's <c>nn.PReLU(num_parameters=C)</c> on NCHW images); with <c>[1]</c> on
/// sequences <c>[batch, time, features]</c> one per feature, whatever the sequence length.
/// </summary>
/// <remarks>
/// <para>Defaults follow Keras: α initialised to zeros (the layer starts as a ReLU; PyTorch starts at 0.25), no
/// sharing; <see cref="AlphaConstraint"/> is Keras' <c>alpha_constraint</c>.</para>
/// <para>At exactly <c>x = 0</c> the input gradient is <c>α·dy</c>, as PyTorch's; Keras differentiates
/// <c>relu(x) − α·relu(−x)</c> and gets 0 there. The slope gradient is 0 at <c>x = 0</c> in both.</para>
/// <para>As Keras' input spec: the unshared axes must keep the sizes the layer was built for, the shared ones may
/// change from call to call.</para>
/// </remarks>
public sealed class PRelu<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _wY = new(), _wDx = new();
    private readonly int[] _sharedAxes;
    private Parameter<T>? _alpha;
    private Tensor<T>? _x, _lastY;

    // The run layout for the sample shape in _runShape: run length, whether α runs alongside x, α offset of each run.
    private TensorShape? _runShape;
    private int _runLength;
    private bool _perElement;
    private int[] _runOffsets = [];

    /// <summary>Creates the layer.</summary>
    /// <param name="alphaInitializer">Initialises α; defaults to zeros (Keras' <c>alpha_initializer</c>).</param>
    /// <param name="sharedAxes">Keras' <c>shared_axes</c>: 1-based axes over the non-batch dimensions along which α is
    /// shared (one slope for all positions on them); null or empty for none. Duplicates are ignored.</param>
    /// <exception cref="ArgumentOutOfRangeException">An axis is below 1 (the batch axis, 0, cannot be shared).</exception>
    public PRelu(Initializer? alphaInitializer = null, IEnumerable<int>? sharedAxes = null)
    {
        AlphaInitializer = alphaInitializer ?? new Constant(0);
        _sharedAxes = sharedAxes is null ? [] : [.. sharedAxes.Distinct().Order()];
        foreach (int a in _sharedAxes)
            if (a < 1)
                throw new ArgumentOutOfRangeException(nameof(sharedAxes), $"shared axes are 1-based over the non-batch dimensions; got {a} in [{string.Join(", ", _sharedAxes)}].");
    }

    /// <inheritdoc/>
    public override string TypeName => "prelu";

    /// <summary>The α initializer.</summary>
    public Initializer AlphaInitializer { get; }

    /// <summary>The axes (1-based, ascending) along which α is shared; empty for none.</summary>
    public IReadOnlyList<int> SharedAxes => _sharedAxes;

    /// <summary>The slopes α: the input's sample shape with the shared axes set to 1.</summary>
    public Parameter<T> Alpha => _alpha ?? throw new InvalidOperationException($"{Name} is not built yet.");

    /// <summary>A penalty on α added to the training loss (Keras' <c>alpha_regularizer</c>); null for none.</summary>
    public Regularizers.Regularizer? AlphaRegularizer { get => GetRegularizer("alpha"); set => SetRegularizer("alpha", value); }

    /// <summary>A projection of α after each optimizer step (Keras' <c>alpha_constraint</c>, e.g. <c>new NonNeg()</c>);
    /// null for none.</summary>
    public Constraints.Constraint? AlphaConstraint { get => GetConstraint("alpha"); set => SetConstraint("alpha", value); }

    /// <inheritdoc/>
    protected override void BuildCore(TensorShape inputShape, Random rng)
    {
        CheckShape(inputShape, nameof(inputShape));
        var dims = new int[inputShape.Rank - 1];
        for (int i = 1; i < inputShape.Rank; i++) dims[i - 1] = IsShared(i) ? 1 : inputShape[i];
        _alpha = AddParameter("alpha", new TensorShape(dims), AlphaInitializer, rng);
    }

    /// <inheritdoc/>
    public override TensorShape ComputeOutputShape(TensorShape inputShape)
    {
        CheckShape(inputShape, nameof(inputShape));
        return inputShape;
    }

    private void CheckShape(TensorShape inputShape, string paramName)
    {
        if (inputShape.Rank < 2)
            throw new ArgumentException($"{Name} takes inputs with a batch axis and at least one more; got {inputShape}.", paramName);
        foreach (int a in _sharedAxes)
            if (a >= inputShape.Rank)
                throw new ArgumentException(
                    $"{Name}: shared axis {a} is out of range for inputs {inputShape}; shared axes are 1-based over the {inputShape.Rank - 1} non-batch dimension(s), 1 … {inputShape.Rank - 1}.",
                    paramName);
    }

    /// <inheritdoc/>
    /// <remarks>The rank and every unshared axis must match the built shape; shared axes may differ.</remarks>
    protected override void CheckFeatures(TensorShape inputShape, string paramName)
    {
        if (BuiltInputShape is not { } b) return;
        if (b.Rank != inputShape.Rank)
            throw new ArgumentException($"{Name} was built for inputs shaped like {b} but got {inputShape} (rank {inputShape.Rank}, expected {b.Rank}).", paramName);
        for (int i = 1; i < b.Rank; i++)
            if (!IsShared(i) && b[i] != inputShape[i])
                throw new ArgumentException(
                    $"{Name} was built for inputs shaped like {b} but got {inputShape}: axis {i} must be {b[i]}{(_sharedAxes.Length > 0 ? $" (only the shared axes [{string.Join(", ", _sharedAxes)}] may change)" : "")}.",
                    paramName);
    }

    private bool IsShared(int axis) => Array.IndexOf(_sharedAxes, axis) >= 0;

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        EnsureBuilt(input);
        PrepareRuns(input.Shape);
        var y = _wY.Get(input.Shape);
        var xs = input.ReadOnlySpan;
        var ys = y.Span;
        var alpha = Alpha.Value.ReadOnlySpan;
        int n = _runLength, sample = _runOffsets.Length * n;
        for (int b = 0, start = 0; b < input.Shape[0]; b++, start += sample)
        {
            for (int r = 0; r < _runOffsets.Length; r++)
            {
                int at = start + r * n, off = _runOffsets[r];
                if (_perElement) Elementwise.Prelu(xs.Slice(at, n), alpha.Slice(off, n), ys.Slice(at, n));
                else Elementwise.Prelu(xs.Slice(at, n), alpha[off], ys.Slice(at, n));
            }
        }
        _x = input;
        _lastY = y;
        return y;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_lastY, dOutput, Name);
        var dx = _wDx.Get(dOutput.Shape);
        var xs = _x!.ReadOnlySpan;
        var dys = dOutput.ReadOnlySpan;
        var dxs = dx.Span;
        var alpha = Alpha.Value.ReadOnlySpan;
        bool train = Alpha.Trainable;
        var dAlpha = Alpha.Grad.Span;
        int n = _runLength, sample = _runOffsets.Length * n;
        for (int b = 0, start = 0; b < dOutput.Shape[0]; b++, start += sample)
        {
            for (int r = 0; r < _runOffsets.Length; r++)
            {
                int at = start + r * n, off = _runOffsets[r];
                if (_perElement)
                    Elementwise.PreluBackward(xs.Slice(at, n), dys.Slice(at, n), alpha.Slice(off, n), dxs.Slice(at, n),
                        train ? dAlpha.Slice(off, n) : default);
                else
                    dAlpha[off] += Elementwise.PreluBackward(xs.Slice(at, n), dys.Slice(at, n), alpha[off], dxs.Slice(at, n), train);
            }
        }
        return dx;
    }

    /// <summary>Splits a sample of <paramref name="shape"/> into runs (see the file's header) unless the sample shape is
    /// the one already prepared; only a new sample shape allocates.</summary>
    private void PrepareRuns(TensorShape shape)
    {
        if (_runShape is { } prepared && SameSample(prepared, shape)) return;
        int rank = shape.Rank;
        // α's row-major strides over its own shape; 0 on a shared axis, whose α index is always 0.
        var alphaStride = new int[rank];
        for (int i = rank - 1, s = 1; i >= 1; i--)
        {
            alphaStride[i] = IsShared(i) ? 0 : s;
            if (!IsShared(i)) s *= shape[i];
        }
        // The run: the trailing axes of one kind, axes of size 1 fitting either. The kind is that of the last axis
        // longer than 1 (a one-element sample is one per-element run).
        int first = rank;
        bool? shared = null;
        while (first > 1)
        {
            int i = first - 1;
            if (shape[i] != 1)
            {
                if (shared is null) shared = IsShared(i);
                else if (shared != IsShared(i)) break;
            }
            first = i;
        }
        int runLength = 1;
        for (int i = first; i < rank; i++) runLength *= shape[i];
        int runs = 1;
        for (int i = 1; i < first; i++) runs *= shape[i];
        var offsets = new int[runs];
        for (int r = 0; r < runs; r++)
        {
            int rest = r, off = 0;
            for (int i = first - 1; i >= 1; i--)
            {
                off += rest % shape[i] * alphaStride[i];
                rest /= shape[i];
            }
            offsets[r] = off;
        }
        _runLength = runLength;
        _perElement = shared != true;
        _runOffsets = offsets;
        _runShape = shape;
    }

    private static bool SameSample(TensorShape a, TensorShape b)
    {
        if (a.Rank != b.Rank) return false;
        for (int i = 1; i < a.Rank; i++) if (a[i] != b[i]) return false;
        return true;
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig()
    {
        var c = new Dictionary<string, string> { ["alpha_initializer"] = AlphaInitializer.Name };
        if (_sharedAxes.Length > 0) c["shared_axes"] = string.Join(",", _sharedAxes.Select(a => a.ToString(CultureInfo.InvariantCulture)));
        AddRegularizerConfig(c);
        AddConstraintConfig(c);
        return c;
    }
}
