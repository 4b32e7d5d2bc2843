using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// Shared plumbing for layers of several inputs (<see cref="IMergeLayer{T}"/>: Keras' merge and attention layers): the
/// default name <c>{TypeName}_{n}</c>, the parameter list and the checks of <see cref="Backward"/>'s argument. A subclass
/// supplies the type name, the shapes, the two passes and the config.
/// </summary>
/// <remarks>Default names count up over all multi-input layers of one element type (<c>add_1</c>, <c>attention_2</c>,
/// …): they only need to be unique within a model, and a saved model keeps the names it was given.</remarks>
public abstract class MultiInputLayer<T> : IMergeLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private static int s_counter;
    private readonly List<Parameter<T>> _parameters = [];
    private string? _name;

    private protected MultiInputLayer() { }

    /// <inheritdoc/>
    public abstract string TypeName { get; }

    /// <inheritdoc/>
    public string Name
    {
        get => _name ??= $"{TypeName}_{Interlocked.Increment(ref s_counter)}";
        set { ArgumentException.ThrowIfNullOrWhiteSpace(value); _name = value; }
    }

    /// <inheritdoc/>
    public virtual IReadOnlyList<Parameter<T>> Parameters => _parameters;

    /// <inheritdoc/>
    public abstract void Build(IReadOnlyList<TensorShape> inputShapes, int seed);

    /// <inheritdoc/>
    public abstract TensorShape ComputeOutputShape(IReadOnlyList<TensorShape> inputShapes);

    /// <inheritdoc/>
    public abstract Tensor<T> Forward(IReadOnlyList<Tensor<T>> inputs, bool training);

    /// <inheritdoc/>
    public abstract IReadOnlyList<Tensor<T>> Backward(Tensor<T> dOutput);

    /// <inheritdoc/>
    public abstract IReadOnlyDictionary<string, string> GetConfig();

    /// <summary>Registers a parameter initialised by <paramref name="init"/> from <paramref name="rng"/>; the order of
    /// calls is the order of <see cref="Parameters"/> (Keras' order).</summary>
    private protected Parameter<T> AddParameter(string name, TensorShape shape, Initializers.Initializer init, Random rng)
    {
        var p = new Parameter<T>(name, new Tensor<T>(shape));
        init.Initialize(p.Value, rng);
        _parameters.Add(p);
        return p;
    }

    /// <summary>Forgets the registered parameters (before a build registers them again).</summary>
    private protected void ClearParameters() => _parameters.Clear();

    /// <summary>Throws unless a forward pass was run (<paramref name="lastOutput"/> is not null) and
    /// <paramref name="dOutput"/> has the last output's shape; the messages name the layer.</summary>
    private protected void CheckBackward(Tensor<T>? lastOutput, Tensor<T> dOutput) => LayerChecks.CheckBackward(lastOutput, dOutput, Name);

    /// <summary>A hash of the name that is the same in every process (the build seed of a layer built on first use).</summary>
    private protected static int StableHash(string s) => LayerChecks.StableHash(s);

    /// <summary>Formats a flag for <see cref="GetConfig"/>.</summary>
    protected static string Str(bool v) => v ? "true" : "false";

    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({TypeName})";
}
