using System.Globalization;
using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>Shared plumbing for layers: naming, the parameter list and argument checks.</summary>
public abstract class Layer<T> : ILayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private static int s_counter;
    private readonly List<Parameter<T>> _parameters = [];
    private string? _name;
    private bool _trainable = true;
    private readonly Dictionary<string, Regularizers.Regularizer> _regularizers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Constraints.Constraint> _constraints = new(StringComparer.Ordinal);

    /// <summary>The Keras-style type name used for default names and in saved models, e.g. <c>dense</c>.</summary>
    public abstract string TypeName { get; }

    /// <inheritdoc/>
    public string Name
    {
        get => _name ??= $"{TypeName}_{Interlocked.Increment(ref s_counter)}";
        set { ArgumentException.ThrowIfNullOrWhiteSpace(value); _name = value; }
    }

    /// <inheritdoc/>
    public bool IsBuilt { get; private set; }

    /// <inheritdoc/>
    public IReadOnlyList<Parameter<T>> Parameters => _parameters;

    /// <summary>Whether the optimizer updates this layer's parameters (Keras' <c>layer.trainable</c>). Setting it sets
    /// <see cref="Parameter{T}.Trainable"/> on every parameter, including those created later by <c>Build</c>, so a
    /// layer can be frozen before the model is built. Reads true when any parameter is trainable (or, before
    /// build, when the layer was not frozen).</summary>
    public bool Trainable
    {
        get => _parameters.TrueForAll(p => p.IsBuffer) ? _trainable : _parameters.Exists(p => p.Trainable);
        set
        {
            _trainable = value;
            foreach (var p in _parameters) if (!p.IsBuffer) p.Trainable = value;
        }
    }

    /// <summary>
    /// A penalty on the layer's output <c>y</c> [B, ...] (Keras' <c>activity_regularizer</c>): when a model runs the
    /// layer, <c>(l1·Σ|y| + l2·Σy²) / B</c> joins the loss it trains on and reports (Fit, TrainOnBatch, Evaluate,
    /// TestOnBatch), and its gradient <c>(l1·sign(y) + 2·l2·y) / B</c> joins the gradient that reaches the layer. Null
    /// (the default) for none. Saved with the model.
    /// </summary>
    /// <remarks>As Keras 3, the penalty is divided by the batch size (the output's first dimension), it counts in
    /// evaluation as well as in training, and it applies to a frozen layer too (freezing stops its weights, not its
    /// output's penalty). The layer itself never reads it: the model that runs the layer applies it, so a layer called
    /// on its own, or wrapped inside another layer (TimeDistributed, Bidirectional), adds nothing.</remarks>
    public Regularizers.Regularizer? ActivityRegularizer { get; set; }

    /// <summary>The input shape the layer was built for (batch dimension as first seen).</summary>
    public TensorShape? BuiltInputShape { get; private set; }

    /// <inheritdoc/>
    public void Build(TensorShape inputShape, int seed)
    {
        if (IsBuilt)
        {
            CheckFeatures(inputShape, nameof(inputShape));
            return;
        }
        _parameters.Clear();
        BuildCore(inputShape, new Random(seed));
        BuiltInputShape = inputShape;
        IsBuilt = true;
    }

    /// <summary>Appends the random generators the layer draws from while training (dropout masks, noise), in a fixed
    /// order, so that a checkpoint can save and restore their states; none by default.</summary>
    internal virtual void AddGenerators(List<ResumableRandom> generators) { }

    /// <summary>Creates and initialises the parameters, registering them in a fixed order.</summary>
    protected abstract void BuildCore(TensorShape inputShape, Random rng);

    /// <summary>Throws unless <paramref name="inputShape"/> fits the built layer (rank and feature sizes).</summary>
    protected virtual void CheckFeatures(TensorShape inputShape, string paramName)
    {
        if (BuiltInputShape is { } b && (b.Rank != inputShape.Rank || b[-1] != inputShape[-1]))
            throw new ArgumentException($"{Name} was built for inputs shaped like {b} but got {inputShape}.", paramName);
    }

    /// <summary>Registers a parameter; order of calls is the order of <see cref="Parameters"/>.</summary>
    protected Parameter<T> AddParameter(string name, TensorShape shape, Initializers.Initializer init, Random rng)
    {
        var p = new Parameter<T>(name, new Tensor<T>(shape));
        init.Initialize(p.Value, rng);
        p.Trainable = _trainable;
        p.Regularizer = _regularizers.GetValueOrDefault(name);
        if (_constraints.TryGetValue(name, out var constraint))
        {
            constraint.CheckShape(shape, $"{Name}.{name}");
            p.Constraint = constraint;
        }
        _parameters.Add(p);
        return p;
    }

    /// <summary>The regularizer set for the parameter named <paramref name="parameterName"/>, or null.</summary>
    protected Regularizers.Regularizer? GetRegularizer(string parameterName) => _regularizers.GetValueOrDefault(parameterName);

    /// <summary>Sets (or with null clears) the regularizer of the parameter named <paramref name="parameterName"/>,
    /// now if it exists and when <c>Build</c> creates it otherwise.</summary>
    protected void SetRegularizer(string parameterName, Regularizers.Regularizer? regularizer)
    {
        if (regularizer is null) _regularizers.Remove(parameterName);
        else _regularizers[parameterName] = regularizer;
        foreach (var p in _parameters) if (p.Name == parameterName) p.Regularizer = regularizer;
    }

    /// <summary>Adds Keras' <c>kernel_regularizer</c>, <c>recurrent_regularizer</c> and <c>bias_regularizer</c>
    /// entries for the regularizers that are set, and <c>activity_regularizer</c> when
    /// <see cref="ActivityRegularizer"/> is set.</summary>
    protected void AddRegularizerConfig(IDictionary<string, string> config)
    {
        foreach (var (name, r) in _regularizers)
            config[(name == "recurrent_kernel" ? "recurrent" : name) + "_regularizer"] = r.Name;
        if (ActivityRegularizer is { } activity) config["activity_regularizer"] = activity.Name;
    }

    /// <summary>The constraint set for the parameter named <paramref name="parameterName"/>, or null.</summary>
    protected Constraints.Constraint? GetConstraint(string parameterName) => _constraints.GetValueOrDefault(parameterName);

    /// <summary>Sets (or with null clears) the constraint of the parameter named <paramref name="parameterName"/>, now
    /// if it exists (checking that it fits the parameter's shape) and when <c>Build</c> creates it otherwise.</summary>
    /// <exception cref="ArgumentException">The constraint does not fit the existing parameter's shape.</exception>
    protected void SetConstraint(string parameterName, Constraints.Constraint? constraint)
    {
        foreach (var p in _parameters)
            if (p.Name == parameterName) constraint?.CheckShape(p.Value.Shape, $"{Name}.{parameterName}");
        if (constraint is null) _constraints.Remove(parameterName);
        else _constraints[parameterName] = constraint;
        foreach (var p in _parameters) if (p.Name == parameterName) p.Constraint = constraint;
    }

    /// <summary>Adds Keras' <c>kernel_constraint</c>, <c>recurrent_constraint</c> and <c>bias_constraint</c> entries for
    /// the constraints that are set.</summary>
    protected void AddConstraintConfig(IDictionary<string, string> config)
    {
        foreach (var (name, c) in _constraints)
            config[(name == "recurrent_kernel" ? "recurrent" : name) + "_constraint"] = c.Name;
    }

    /// <summary>Registers a buffer (see <see cref="Parameter{T}.IsBuffer"/>): state saved with the weights, never
    /// trained, such as moving statistics.</summary>
    protected Parameter<T> AddBuffer(string name, TensorShape shape, Initializers.Initializer init, Random rng)
    {
        var p = new Parameter<T>(name, new Tensor<T>(shape), isBuffer: true);
        init.Initialize(p.Value, rng);
        _parameters.Add(p);
        return p;
    }

    /// <summary>Registers an existing parameter (used by wrappers that expose their children's parameters).</summary>
    protected void AddParameter(Parameter<T> parameter)
    {
        if (!_trainable && !parameter.IsBuffer) parameter.Trainable = false;
        _parameters.Add(parameter);
    }

    /// <inheritdoc/>
    public abstract TensorShape ComputeOutputShape(TensorShape inputShape);

    /// <inheritdoc/>
    public abstract Tensor<T> Forward(Tensor<T> input, bool training);

    /// <inheritdoc/>
    public abstract Tensor<T> Backward(Tensor<T> dOutput);

    /// <inheritdoc/>
    public abstract IReadOnlyDictionary<string, string> GetConfig();

    /// <summary>Builds on first use with a seed derived from the name, so a layer used alone still works.</summary>
    protected void EnsureBuilt(Tensor<T> input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!IsBuilt) Build(input.Shape, StableHash(Name));
        else CheckFeatures(input.Shape, nameof(input));
    }

    /// <summary>Throws unless a forward pass was run and <paramref name="dOutput"/> has the last output's shape.</summary>
    protected static void CheckBackward(Tensor<T>? lastOutput, Tensor<T> dOutput, string layerName)
        => LayerChecks.CheckBackward(lastOutput, dOutput, layerName);

    /// <summary>Formats a number for <see cref="GetConfig"/>.</summary>
    protected static string Str(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Formats a flag for <see cref="GetConfig"/>.</summary>
    protected static string Str(bool v) => v ? "true" : "false";

    /// <summary>A hash of a name that is the same in every process (string.GetHashCode is not), for build seeds.</summary>
    private protected static int StableHash(string s) => LayerChecks.StableHash(s);

    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({TypeName})";
}
