using System.Globalization;
using System.Numerics;
using Nn.Simd.Layers.Initializers;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

// Shapes: input [B, T] of token indices (stored as T values), output [B, T, D]; embeddings E [V, D].

/// <summary>
/// Keras' <c>Embedding</c>: maps token indices in <c>[0, inputDim)</c>, <c>[batch, time]</c>, to rows of a trainable
/// table, <c>[batch, time, outputDim]</c>, for recurrent models over text or categories. With
/// <see cref="MaskZero"/>, index 0 is padding: its steps are masked for the recurrent layers after it (see
/// <see cref="SequenceMask"/>), as <c>Embedding(mask_zero=True)</c>.
/// </summary>
/// <remarks>The backward pass adds each output gradient row to its token's row of the table; indices get no
/// gradient (the returned input gradient is zero). The table starts <c>U(−0.05, 0.05)</c> as in Keras.</remarks>
public sealed class Embedding<T> : Layer<T>, IMaskProducer where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _wOut = new(), _wZeroDx = new();
    private Parameter<T>? _table;
    private Tensor<T>? _input, _lastOutput;
    private int[] _indices = [];
    private SequenceMask? _mask;

    /// <summary>Creates the layer.</summary>
    /// <param name="inputDim">V, the vocabulary size (largest index + 1); positive.</param>
    /// <param name="outputDim">D, the embedding width; positive.</param>
    /// <param name="maskZero">Whether index 0 is padding to mask.</param>
    /// <param name="embeddingsInitializer">Defaults to U(−0.05, 0.05).</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, or <paramref name="maskZero"/> with
    /// <paramref name="inputDim"/> = 1 (no index left for tokens).</exception>
    public Embedding(int inputDim, int outputDim, bool maskZero = false, Initializer? embeddingsInitializer = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputDim);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outputDim);
        if (maskZero && inputDim < 2)
            throw new ArgumentOutOfRangeException(nameof(inputDim), $"With maskZero, index 0 is padding, so inputDim must be at least 2; got {inputDim}.");
        InputDim = inputDim;
        OutputDim = outputDim;
        MaskZero = maskZero;
        EmbeddingsInitializer = embeddingsInitializer ?? new RandomUniform();
    }

    /// <inheritdoc/>
    public override string TypeName => "embedding";

    /// <summary>V, the number of rows.</summary>
    public int InputDim { get; }

    /// <summary>D, the embedding width.</summary>
    public int OutputDim { get; }

    /// <summary>Whether index 0 is masked padding.</summary>
    public bool MaskZero { get; }

    /// <summary>The table's initializer.</summary>
    public Initializer EmbeddingsInitializer { get; }

    /// <summary>The table E, [V, D].</summary>
    public Parameter<T> Embeddings => _table ?? throw new InvalidOperationException($"{Name} is not built yet.");

    /// <summary>A penalty on the whole table added to the training loss (Keras' <c>embeddings_regularizer</c>); null for
    /// none. As in Keras, it covers every row, not only the rows a batch looks up, so its gradient reaches them all.</summary>
    public Regularizers.Regularizer? EmbeddingsRegularizer { get => GetRegularizer("embeddings"); set => SetRegularizer("embeddings", value); }

    /// <summary>A projection of the table after each optimizer step (Keras' <c>embeddings_constraint</c>, e.g.
    /// <c>new MaxNorm(1, axis: 1)</c> to bound each token's vector); null for none.</summary>
    /// <exception cref="ArgumentException">Set on a built layer, the constraint does not fit the table's shape.</exception>
    public Constraints.Constraint? EmbeddingsConstraint { get => GetConstraint("embeddings"); set => SetConstraint("embeddings", value); }

    /// <inheritdoc/>
    public SequenceMask? OutputMask => MaskZero ? _mask : null;

    /// <inheritdoc/>
    protected override void BuildCore(TensorShape inputShape, Random rng)
    {
        CheckRank(inputShape);
        _table = AddParameter("embeddings", new TensorShape(InputDim, OutputDim), EmbeddingsInitializer, rng);
    }

    /// <inheritdoc/>
    protected override void CheckFeatures(TensorShape inputShape, string paramName) => CheckRank(inputShape);

    private void CheckRank(TensorShape shape)
    {
        if (shape.Rank != 2)
            throw new ArgumentException($"{Name} takes token indices [batch, time]; got {shape}.", "input");
    }

    /// <inheritdoc/>
    public override TensorShape ComputeOutputShape(TensorShape inputShape)
    {
        CheckRank(inputShape);
        return new TensorShape(inputShape[0], inputShape[1], OutputDim);
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">An index is not an integer in [0, inputDim); the message gives the first
    /// such value and its position.</exception>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        EnsureBuilt(input);
        int b = input.Shape[0], steps = input.Shape[1], d = OutputDim, n = b * steps;
        var xs = input.ReadOnlySpan;
        if (_indices.Length < n) _indices = new int[n];
        for (int i = 0; i < n; i++)
        {
            T v = xs[i];
            if (!T.IsInteger(v) || v < T.Zero || v >= T.CreateChecked(InputDim))
                throw new ArgumentException($"{Name}: input[{i / steps}, {i % steps}] = {v} is not a token index in [0, {InputDim}).", nameof(input));
            _indices[i] = int.CreateTruncating(v);
        }
        if (MaskZero)
        {
            if (_mask is null || _mask.Batch != b || _mask.Steps != steps) _mask = b > 0 && steps > 0 ? new SequenceMask(b, steps) : null;
            var kept = _mask is null ? default : _mask.Values;
            for (int i = 0; i < kept.Length; i++) kept[i] = _indices[i] != 0;
        }
        var y = _wOut.Get(b, steps, d);
        var table = Embeddings.Value.ReadOnlySpan;
        var ys = y.Span;
        for (int i = 0; i < n; i++) table.Slice(_indices[i] * d, d).CopyTo(ys.Slice(i * d, d));
        _input = input;
        _lastOutput = y;
        return y;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_lastOutput, dOutput, Name);
        int d = OutputDim, n = dOutput.Length / d;
        if (Embeddings.Trainable)
        {
            var g = Embeddings.Grad.Span;
            var dy = dOutput.ReadOnlySpan;
            for (int i = 0; i < n; i++)
            {
                var row = g.Slice(_indices[i] * d, d);
                TensorPrimitives.Add(row, dy.Slice(i * d, d), row);
            }
        }
        // Indices are not differentiable; the zero tensor's storage is never written.
        return _wZeroDx.Get(_input!.Shape);
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig()
    {
        var config = new Dictionary<string, string>
        {
            ["input_dim"] = InputDim.ToString(CultureInfo.InvariantCulture),
            ["output_dim"] = OutputDim.ToString(CultureInfo.InvariantCulture),
            ["mask_zero"] = Str(MaskZero),
            ["embeddings_initializer"] = EmbeddingsInitializer.Name,
        };
        AddRegularizerConfig(config);
        AddConstraintConfig(config);
        return config;
    }
}
