using System.Numerics;
using Nn.Simd.Layers;
using Nn.Simd.Tensors;

namespace Nn.Simd.Training.Optimizers;

/// <summary>
/// The base of the optimizers: learning rate and schedule, gradient clipping, the step counter and lazily
/// created per-parameter state. A subclass implements only <see cref="Update{T}"/>, one fused span kernel per parameter.
/// </summary>
/// <remarks>
/// <para><see cref="Step{T}"/> clips the gradients in place (they are cleared before the next backward pass
/// anyway), calls <see cref="Update{T}"/> for every parameter, marks each parameter changed and counts the step.</para>
/// <para>Clipping follows Keras: <see cref="ClipValue"/> clamps every element to ±value; <see cref="ClipNorm"/>
/// rescales each parameter's gradient <c>g·c / max(‖g‖, c)</c>; <see cref="GlobalClipNorm"/> rescales all of them by
/// <c>c / max(‖(g₁, g₂, …)‖, c)</c>. Only one may be set, as in Keras.</para>
/// </remarks>
public abstract partial class Optimizer
{
    private readonly Dictionary<object, object[]> _state = new(ReferenceEqualityComparer.Instance);
    private double _learningRate;
    private double? _clipValue, _clipNorm, _globalClipNorm;

    /// <summary>Creates the optimizer.</summary>
    /// <param name="learningRate">The base learning rate; positive.</param>
    /// <exception cref="ArgumentOutOfRangeException">The learning rate is not positive and finite.</exception>
    protected Optimizer(double learningRate) => LearningRate = learningRate;

    /// <summary>The Keras name, e.g. <c>adam</c>.</summary>
    public abstract string Name { get; }

    /// <summary>The base learning rate, before <see cref="Schedule"/>. Callbacks such as ReduceLROnPlateau change it.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not positive and finite.</exception>
    public double LearningRate
    {
        get => _learningRate;
        set
        {
            if (!(value > 0) || !double.IsFinite(value))
                throw new ArgumentOutOfRangeException(nameof(value), $"The learning rate must be positive and finite; got {value}.");
            _learningRate = value;
        }
    }

    /// <summary>An optional schedule applied to <see cref="LearningRate"/> at each step.</summary>
    public ILearningRateSchedule? Schedule { get; set; }

    /// <summary>Clamps every gradient element to [−value, value] (Keras' <c>clipvalue</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not positive.</exception>
    /// <exception cref="InvalidOperationException">Another clipping option is set.</exception>
    public double? ClipValue { get => _clipValue; set => _clipValue = CheckClip(value, nameof(ClipValue)); }

    /// <summary>Rescales each parameter's gradient to an L2 norm of at most this (Keras' <c>clipnorm</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not positive.</exception>
    /// <exception cref="InvalidOperationException">Another clipping option is set.</exception>
    public double? ClipNorm { get => _clipNorm; set => _clipNorm = CheckClip(value, nameof(ClipNorm)); }

    /// <summary>Rescales all gradients together to a global L2 norm of at most this (Keras' <c>global_clipnorm</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not positive.</exception>
    /// <exception cref="InvalidOperationException">Another clipping option is set.</exception>
    public double? GlobalClipNorm { get => _globalClipNorm; set => _globalClipNorm = CheckClip(value, nameof(GlobalClipNorm)); }

    /// <summary>The number of steps taken.</summary>
    public long Iterations { get; internal set; }

    /// <summary>The learning rate the next step will use: the schedule applied to <see cref="LearningRate"/> at <see cref="Iterations"/>.</summary>
    public double CurrentLearningRate => Schedule?.GetLearningRate(LearningRate, Iterations) ?? LearningRate;

    /// <summary>Applies one update to every parameter from its accumulated gradient.</summary>
    /// <param name="parameters">The parameters, in a fixed order.</param>
    /// <exception cref="ArgumentException">A parameter's state no longer matches its shape.</exception>
    public void Step<T>(IReadOnlyList<Parameter<T>> parameters) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Clip(parameters);
        double lr = CurrentLearningRate;
        long t = Iterations + 1;
        for (int i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i];
            Update(p, lr, t, GetState(p));
            p.MarkChanged();
        }
        Iterations = t;
    }

    /// <summary>Updates one parameter.</summary>
    /// <param name="parameter">The parameter; its gradient is already clipped.</param>
    /// <param name="learningRate">The current learning rate.</param>
    /// <param name="step">t, the 1-based step number (for bias corrections).</param>
    /// <param name="state">This parameter's state tensors, <see cref="StateSlots"/> of them, created zero-filled on first use.</param>
    protected abstract void Update<T>(Parameter<T> parameter, double learningRate, long step, Tensor<T>[] state)
        where T : unmanaged, IFloatingPointIeee754<T>;

    /// <summary>How many state tensors of the parameter's shape each parameter needs.</summary>
    protected abstract int StateSlots { get; }

    /// <summary>The value a state slot starts at (0 unless overridden, e.g. Adagrad's initial accumulator).</summary>
    /// <param name="slot">The slot index.</param>
    protected virtual double InitialStateValue(int slot) => 0;

    /// <summary>Forgets all state and the step count (e.g. before training a new model).</summary>
    public void Reset()
    {
        _state.Clear();
        Iterations = 0;
    }

    /// <summary>The state tensors of <paramref name="parameter"/>, or null when it has not been updated yet.</summary>
    public IReadOnlyList<Tensor<T>>? GetStateOf<T>(Parameter<T> parameter) where T : unmanaged, IFloatingPointIeee754<T> =>
        _state.TryGetValue(parameter, out var s) ? (Tensor<T>[])s : null;

    /// <summary>How many state tensors each parameter has (<see cref="StateSlots"/>), for persistence.</summary>
    internal int SlotCount => StateSlots;

    /// <summary>Replaces the state of <paramref name="parameter"/> (persistence; the caller checked the shapes).</summary>
    internal void SetStateOf<T>(Parameter<T> parameter, Tensor<T>[] slots) where T : unmanaged, IFloatingPointIeee754<T> =>
        _state[parameter] = slots;

    private Tensor<T>[] GetState<T>(Parameter<T> p) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (_state.TryGetValue(p, out var s)) return (Tensor<T>[])s;
        var slots = new Tensor<T>[StateSlots];
        for (int i = 0; i < slots.Length; i++)
        {
            slots[i] = new Tensor<T>(p.Value.Shape);
            double start = InitialStateValue(i);
            if (start != 0) slots[i].Span.Fill(T.CreateChecked(start));
        }
        _state[p] = slots;
        return slots;
    }

    private void Clip<T>(IReadOnlyList<Parameter<T>> parameters) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (_clipValue is double cv)
        {
            T hi = T.CreateChecked(cv), lo = -hi;
            for (int i = 0; i < parameters.Count; i++)
            {
                var g = parameters[i].Grad.Span;
                TensorPrimitives.Min(g, hi, g);
                TensorPrimitives.Max(g, lo, g);
            }
        }
        else if (_clipNorm is double cn)
        {
            for (int i = 0; i < parameters.Count; i++)
            {
                var g = parameters[i].Grad.Span;
                double norm = Math.Sqrt(double.CreateChecked(TensorPrimitives.SumOfSquares<T>(g)));
                if (norm > cn) TensorPrimitives.Multiply(g, T.CreateChecked(cn / norm), g);
            }
        }
        else if (_globalClipNorm is double gn)
        {
            double sq = 0;
            for (int i = 0; i < parameters.Count; i++) sq += double.CreateChecked(TensorPrimitives.SumOfSquares<T>(parameters[i].Grad.ReadOnlySpan));
            double norm = Math.Sqrt(sq);
            if (norm > gn)
            {
                T scale = T.CreateChecked(gn / norm);
                for (int i = 0; i < parameters.Count; i++)
                {
                    var g = parameters[i].Grad.Span;
                    TensorPrimitives.Multiply(g, scale, g);
                }
            }
        }
    }

    private double? CheckClip(double? value, string name)
    {
        if (value is double v && !(v > 0))
            throw new ArgumentOutOfRangeException(name, $"{name} must be positive; got {v}.");
        int others = (_clipValue is null || name == nameof(ClipValue) ? 0 : 1)
                   + (_clipNorm is null || name == nameof(ClipNorm) ? 0 : 1)
                   + (_globalClipNorm is null || name == nameof(GlobalClipNorm) ? 0 : 1);
        if (value is not null && others > 0)
            throw new InvalidOperationException($"Only one of ClipValue, ClipNorm and GlobalClipNorm may be set (as in Keras); tried to set {name} while another is set.");
        return value;
    }

    /// <summary>Throws unless <paramref name="value"/> lies in [0, 1).</summary>
    /// <exception cref="ArgumentOutOfRangeException">It does not.</exception>
    protected static double CheckUnit(double value, string name) =>
        value is >= 0 and < 1 ? value : throw new ArgumentOutOfRangeException(name, $"{name} must be in [0, 1); got {value}.");

    /// <summary>Throws unless <paramref name="value"/> is positive and finite.</summary>
    /// <exception cref="ArgumentOutOfRangeException">It is not.</exception>
    protected static double CheckPositive(double value, string name) =>
        value > 0 && double.IsFinite(value) ? value : throw new ArgumentOutOfRangeException(name, $"{name} must be positive; got {value}.");

    /// <summary>Creates an optimizer from its Keras name with Keras' defaults: <c>sgd</c>, <c>adam</c>, <c>adamw</c>, <c>rmsprop</c>,
    /// <c>adagrad</c>, <c>nadam</c>, <c>adamax</c>, <c>adadelta</c>, <c>lion</c>.</summary>
    /// <exception cref="ArgumentException">The name is unknown.</exception>
    public static Optimizer Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.ToLowerInvariant() switch
        {
            "sgd" => new Sgd(),
            "adam" => new Adam(),
            "adamw" => new AdamW(),
            "rmsprop" => new RmsProp(),
            "adagrad" => new Adagrad(),
            "nadam" => new Nadam(),
            "adamax" => new Adamax(),
            "adadelta" => new Adadelta(),
            "lion" => new Lion(),
            _ => throw new ArgumentException($"Unknown optimizer '{name}'. Known: {KnownNames}.", nameof(name)),
        };
    }

    private const string KnownNames = "sgd, adam, adamw, rmsprop, adagrad, nadam, adamax, adadelta, lion";

    /// <inheritdoc/>
    public override string ToString() => $"{Name}(lr={LearningRate})";
}
