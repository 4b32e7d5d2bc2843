using System.Collections.ObjectModel;
using System.Numerics;
using System.Text;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// Shared plumbing for Keras' merge layers: the input-count and shape checks, and the output and gradient workspaces
/// (the default name and the checks of <see cref="Backward"/> are <see cref="MultiInputLayer{T}"/>'s). A subclass
/// supplies the output shape and the two passes.
/// </summary>
/// <remarks>
/// The inputs of the last <see cref="Forward"/> call are kept by reference (as <see cref="Dense{T}"/> keeps its input):
/// in a graph they are the outputs of earlier layers, which stay unchanged until the next forward pass. A steady
/// Forward+Backward allocates nothing: the output and one gradient per input come from workspaces, and
/// <see cref="Backward"/> returns the same list instance every call while the number of inputs stays the same.
/// </remarks>
public abstract class MergeLayer<T> : MultiInputLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _wOutput = new();
    private Workspace<T>[] _wGrads = [];
    private Tensor<T>[] _inputs = [];
    private TensorShape[] _shapes = [];
    private Tensor<T>[] _grads = [];
    private ReadOnlyCollection<Tensor<T>> _gradList = new([]);
    private Tensor<T>? _lastOutput;

    /// <summary>Sets the number of inputs the layer accepts.</summary>
    /// <param name="minInputs">The fewest inputs (at least 1).</param>
    /// <param name="maxInputs">The most inputs; <see cref="int.MaxValue"/> for no limit.</param>
    protected MergeLayer(int minInputs, int maxInputs = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minInputs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxInputs, minInputs);
        MinInputs = minInputs;
        MaxInputs = maxInputs;
    }

    /// <summary>The fewest inputs the layer accepts.</summary>
    public int MinInputs { get; }

    /// <summary>The most inputs the layer accepts (<see cref="int.MaxValue"/>: no limit).</summary>
    public int MaxInputs { get; }

    /// <summary>None: Keras' merge layers have no weights.</summary>
    public override IReadOnlyList<Parameter<T>> Parameters => [];

    /// <inheritdoc/>
    /// <remarks>Keras' merge layers have no weights: this only checks the shapes.</remarks>
    public sealed override void Build(IReadOnlyList<TensorShape> inputShapes, int seed) => ComputeOutputShape(inputShapes);

    /// <inheritdoc/>
    public sealed override TensorShape ComputeOutputShape(IReadOnlyList<TensorShape> inputShapes)
    {
        ArgumentNullException.ThrowIfNull(inputShapes);
        CheckCount(inputShapes, nameof(inputShapes));
        return OutputShape(inputShapes, nameof(inputShapes));
    }

    /// <inheritdoc/>
    public sealed override Tensor<T> Forward(IReadOnlyList<Tensor<T>> inputs, bool training)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        int n = inputs.Count;
        if (_inputs.Length != n)
        {
            _inputs = new Tensor<T>[n];
            _shapes = new TensorShape[n];
        }
        for (int i = 0; i < n; i++)
        {
            var x = inputs[i] ?? throw new ArgumentNullException(nameof(inputs), $"{Name}: input {i} is null.");
            _inputs[i] = x;
            _shapes[i] = x.Shape;
        }
        CheckCount(_shapes, nameof(inputs));
        var y = _wOutput.Get(OutputShape(_shapes, nameof(inputs)));
        _lastOutput = null;
        ForwardCore(_inputs, y);
        _lastOutput = y;
        return y;
    }

    /// <inheritdoc/>
    public sealed override IReadOnlyList<Tensor<T>> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_lastOutput, dOutput);
        int n = _inputs.Length;
        if (_grads.Length != n)
        {
            _grads = new Tensor<T>[n];
            _wGrads = new Workspace<T>[n];
            for (int i = 0; i < n; i++) _wGrads[i] = new Workspace<T>();
            _gradList = new ReadOnlyCollection<Tensor<T>>(_grads);
        }
        for (int i = 0; i < n; i++) _grads[i] = _wGrads[i].Get(_inputs[i].Shape);
        BackwardCore(dOutput, _inputs, _grads);
        return _gradList;
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>The output shape for a valid number of inputs; throws <see cref="ArgumentException"/> (naming every
    /// shape, see <see cref="Describe"/>) when the shapes cannot be merged.</summary>
    /// <param name="shapes">The input shapes, batch dimension included.</param>
    /// <param name="paramName">The argument to name in an exception.</param>
    protected abstract TensorShape OutputShape(IReadOnlyList<TensorShape> shapes, string paramName);

    /// <summary>Writes the merged inputs into <paramref name="output"/> (shaped by <see cref="OutputShape"/>).</summary>
    protected abstract void ForwardCore(ReadOnlySpan<Tensor<T>> inputs, Tensor<T> output);

    /// <summary>Overwrites every <paramref name="dInputs"/>[i] (shaped like input i) with ∂L/∂input i, given
    /// <paramref name="dOutput"/> and the inputs of the last forward pass.</summary>
    protected abstract void BackwardCore(Tensor<T> dOutput, ReadOnlySpan<Tensor<T>> inputs, ReadOnlySpan<Tensor<T>> dInputs);

    /// <summary>The layer and its input shapes for an exception message, e.g. <c>add_1 got inputs [2, 3], [2, 4]</c>.</summary>
    protected string Describe(IReadOnlyList<TensorShape> shapes)
    {
        var sb = new StringBuilder(Name).Append(" got ").Append(shapes.Count).Append(shapes.Count == 1 ? " input " : " inputs ");
        for (int i = 0; i < shapes.Count; i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(shapes[i]);
        }
        return sb.ToString();
    }

    private void CheckCount(IReadOnlyList<TensorShape> shapes, string paramName)
    {
        int n = shapes.Count;
        if (n < MinInputs || n > MaxInputs)
        {
            string need = MinInputs == MaxInputs ? $"exactly {MinInputs}" : MaxInputs == int.MaxValue ? $"at least {MinInputs}" : $"{MinInputs} to {MaxInputs}";
            throw new ArgumentException($"{Describe(shapes)}; a {TypeName} layer takes {need} inputs.", paramName);
        }
    }

}
