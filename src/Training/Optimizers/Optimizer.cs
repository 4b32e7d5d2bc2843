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
    private readonly Dictionary<object, object> _state = new(ReferenceEqualityComparer.Instance);
    private double _learningRate;
    private double? _clipValue, _clipNorm, _globalClipNorm;
    private double _weightDecay, _emaMomentum = 0.99;
    private int? _accumulationSteps, _emaOverwriteFrequency;
    private bool _useEma;

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

    /// <summary>The number of <see cref="Step{T}"/> calls (Keras' raw <c>_iterations</c>): with gradient accumulation
    /// it counts the micro-batches, and it is the step the <see cref="Schedule"/> sees, as in Keras.</summary>
    public long Iterations { get; internal set; }

    /// <summary>The number of updates applied to the weights (Keras' <c>optimizer.iterations</c>):
    /// <c>Iterations / GradientAccumulationSteps</c> with gradient accumulation, else <see cref="Iterations"/>. Bias
    /// corrections (Adam's <c>t</c>) count these.</summary>
    public long UpdateIterations => _accumulationSteps is int n ? Iterations / n : Iterations;

    /// <summary>The learning rate the next update will use: the schedule applied to <see cref="LearningRate"/> at <see cref="Iterations"/>.</summary>
    public double CurrentLearningRate => Schedule?.GetLearningRate(LearningRate, Iterations) ?? LearningRate;

    /// <summary>
    /// Decoupled weight decay on every parameter (Keras 3's optimizer-level <c>weight_decay</c>, base_optimizer's
    /// <c>_apply_weight_decay</c>): before each update <c>w −= w·(lr·weightDecay)</c>, with lr the scheduled rate of
    /// that update; 0 (Keras' None) turns it off.
    /// </summary>
    /// <remarks>Keras computes <c>w − (w·wd)·lr</c> in the weights' dtype; here <c>lr·wd</c> is formed in double and rounded
    /// once, as <see cref="AdamW"/> does, so a float result may differ from Keras' in the last bit of the decay term.
    /// <see cref="Adam"/> and <see cref="AdamW"/> fuse the decay into their kernel with the same arithmetic, so
    /// <c>new Adam { WeightDecay = λ }</c> steps exactly as <c>new AdamW(weightDecay: λ)</c>, as in Keras.</remarks>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative or not finite.</exception>
    public double WeightDecay
    {
        get => _weightDecay;
        set => _weightDecay = value >= 0 && double.IsFinite(value) ? value
            : throw new ArgumentOutOfRangeException(nameof(WeightDecay), $"WeightDecay must be non-negative and finite; got {value}.");
    }

    /// <summary>
    /// Keras 3's <c>gradient_accumulation_steps</c>: null (no accumulation) or n ≥ 2. The weights change only on every
    /// n-th <see cref="Step{T}"/> call; the other calls add the gradients to an accumulator (one more state slot per
    /// parameter). The n-th call updates with <c>(g + accumulated)/n</c>, the mean gradient of the n micro-batches,
    /// after clipping it, and clears the accumulator.
    /// </summary>
    /// <remarks>As in Keras, <see cref="Iterations"/> (which schedules see) counts every call, while bias corrections and
    /// the EMA overwrite frequency count updates (<see cref="UpdateIterations"/>). With a mean loss, n accumulated
    /// micro-batches of b rows give the gradient of one batch of n·b rows.</remarks>
    /// <exception cref="ArgumentOutOfRangeException">The value is below 2.</exception>
    /// <exception cref="InvalidOperationException">The optimizer already holds state (call <see cref="Reset"/> first).</exception>
    public int? GradientAccumulationSteps
    {
        get => _accumulationSteps;
        set
        {
            if (value is int n && n < 2)
                throw new ArgumentOutOfRangeException(nameof(GradientAccumulationSteps), $"GradientAccumulationSteps must be null or at least 2 (as in Keras); got {n}.");
            CheckLayoutChange(nameof(GradientAccumulationSteps), (value is null) != (_accumulationSteps is null));
            _accumulationSteps = value;
        }
    }

    /// <summary>
    /// Keras 3's <c>use_ema</c>: keeps an exponential moving average of every parameter (one more state slot),
    /// <c>avg = m·avg + (1 − m)·w</c> after every <see cref="Step{T}"/> call, with <c>m = EmaMomentum</c>, or 0 while no
    /// update has been applied yet (so the average starts at the weights). <see cref="FinalizeVariableValues{T}"/> copies
    /// the averages into the weights (<c>Fit</c> does so when training ends, as Keras' <c>fit</c>).
    /// </summary>
    /// <exception cref="InvalidOperationException">The optimizer already holds state (call <see cref="Reset"/> first).</exception>
    public bool UseEma
    {
        get => _useEma;
        set
        {
            CheckLayoutChange(nameof(UseEma), value != _useEma);
            _useEma = value;
        }
    }

    /// <summary>Keras' <c>ema_momentum</c>, m in <c>avg = m·avg + (1 − m)·w</c>; in [0, 1], default 0.99.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value lies outside [0, 1].</exception>
    public double EmaMomentum
    {
        get => _emaMomentum;
        set => _emaMomentum = value is >= 0 and <= 1 ? value
            : throw new ArgumentOutOfRangeException(nameof(EmaMomentum), $"EmaMomentum must be in [0, 1]; got {value}.");
    }

    /// <summary>Keras' <c>ema_overwrite_frequency</c>: null (never during training) or f ≥ 1, to overwrite the weights
    /// with their averages on every call where <c>(UpdateIterations + 1) % f == 0</c>, right after the average is updated.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is below 1.</exception>
    public int? EmaOverwriteFrequency
    {
        get => _emaOverwriteFrequency;
        set => _emaOverwriteFrequency = value is null or >= 1 ? value
            : throw new ArgumentOutOfRangeException(nameof(EmaOverwriteFrequency), $"EmaOverwriteFrequency must be null or at least 1; got {value}.");
    }

    /// <summary>
    /// One optimizer step (Keras' <c>apply</c>): with gradient accumulation and not on an n-th call, only adds the
    /// gradients to the accumulators; otherwise averages in the accumulated gradients, clips, applies
    /// <see cref="WeightDecay"/>, calls <see cref="Update{T}"/> for every parameter and marks it changed. Then updates the
    /// moving averages (<see cref="UseEma"/>), applies each parameter's <see cref="Parameter{T}.Constraint"/> (Keras'
    /// <c>variable.assign(variable.constraint(variable))</c>) and counts the call.
    /// </summary>
    /// <param name="parameters">The parameters, in a fixed order.</param>
    /// <remarks>The gradients are modified in place (averaged, clipped); they are cleared before the next backward pass anyway.</remarks>
    /// <exception cref="ArgumentException">A parameter's state no longer matches its shape.</exception>
    public void Step<T>(IReadOnlyList<Parameter<T>> parameters) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(parameters);
        long raw = Iterations;
        if (_accumulationSteps is int n && (raw + 1) % n != 0)
        {
            for (int i = 0; i < parameters.Count; i++)
            {
                var acc = GetState(parameters[i]).Accumulator!.Span;
                TensorPrimitives.Add(acc, parameters[i].Grad.ReadOnlySpan, acc);
            }
        }
        else
        {
            if (_accumulationSteps is int steps)
            {
                T divisor = T.CreateChecked(steps);
                for (int i = 0; i < parameters.Count; i++)
                {
                    var g = parameters[i].Grad.Span;
                    var acc = GetState(parameters[i]).Accumulator!.Span;
                    TensorPrimitives.Add(g, acc, g);
                    TensorPrimitives.Divide(g, divisor, g);
                    acc.Clear();
                }
            }
            Clip(parameters);
            double lr = CurrentLearningRate;
            long t = UpdateIterations + 1;
            bool decay = _weightDecay != 0 && !FusesWeightDecay;
            T minusDecay = T.CreateChecked(-(lr * _weightDecay));
            for (int i = 0; i < parameters.Count; i++)
            {
                var p = parameters[i];
                if (decay)
                {
                    var w = p.Value.Span;
                    TensorPrimitives.MultiplyAdd(w, minusDecay, w, w);   // w + w·(−lr·wd), i.e. w − w·(lr·wd)
                }
                Update(p, lr, t, GetState(p).Slots);
                p.MarkChanged();
            }
        }
        if (_useEma) UpdateMovingAverages(parameters);
        // Keras applies each variable's constraint after the update and the moving averages, on every call (with
        // gradient accumulation also on the calls that only accumulate).
        for (int i = 0; i < parameters.Count; i++)
        {
            if (parameters[i].Constraint is not { } constraint) continue;
            constraint.Apply(parameters[i].Value);
            parameters[i].MarkChanged();
        }
        Iterations = raw + 1;
    }

    /// <summary>Keras' <c>finalize_variable_values</c>: with <see cref="UseEma"/>, copies each parameter's moving average
    /// into its weights (parameters never stepped are left alone); without it, does nothing.</summary>
    /// <param name="parameters">The parameters the optimizer stepped.</param>
    public void FinalizeVariableValues<T>(IReadOnlyList<Parameter<T>> parameters) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!_useEma) return;
        for (int i = 0; i < parameters.Count; i++)
        {
            if (!_state.TryGetValue(parameters[i], out var s)) continue;
            ((ParameterState<T>)s).Average!.Span.CopyTo(parameters[i].Value.Span);
            parameters[i].MarkChanged();
        }
    }

    private void UpdateMovingAverages<T>(IReadOnlyList<Parameter<T>> parameters) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Keras: m = ema_momentum·(iterations ≠ 0) in the weights' dtype; avg = m·avg + (1 − m)·w, unfused.
        T m = UpdateIterations == 0 ? T.Zero : T.CreateChecked(_emaMomentum), oneMinus = T.One - m;
        bool overwrite = _emaOverwriteFrequency is int f && (UpdateIterations + 1) % f == 0;
        for (int i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i];
            var avg = GetState(p).Average!.Span;
            TensorPrimitives.Multiply(avg, m, avg);
            TensorPrimitives.MultiplyAdd(p.Value.ReadOnlySpan, oneMinus, avg, avg);
            if (overwrite)
            {
                avg.CopyTo(p.Value.Span);
                p.MarkChanged();
            }
        }
    }

    /// <summary>Whether <see cref="Update{T}"/> applies <see cref="WeightDecay"/> itself (fused into its kernel, with the
    /// base's arithmetic <c>w − w·(lr·wd)</c>); otherwise the base applies it before calling <see cref="Update{T}"/>.</summary>
    protected virtual bool FusesWeightDecay => false;

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

    /// <summary>The state tensors of <paramref name="parameter"/>, or null when it has not been stepped yet: the
    /// subclass's <see cref="StateSlots"/> slots, then the gradient accumulator (with
    /// <see cref="GradientAccumulationSteps"/>), then the moving average (with <see cref="UseEma"/>).</summary>
    public IReadOnlyList<Tensor<T>>? GetStateOf<T>(Parameter<T> parameter) where T : unmanaged, IFloatingPointIeee754<T> =>
        _state.TryGetValue(parameter, out var s) ? ((ParameterState<T>)s).All : null;

    /// <summary>Drops the state of <paramref name="parameter"/> (its slots, accumulator and moving average), as when
    /// the parameter leaves the model (<c>Sequential.Pop</c>); the step count is kept. A later step on it starts from
    /// fresh state. Returns whether there was state to drop.</summary>
    internal bool ForgetState<T>(Parameter<T> parameter) where T : unmanaged, IFloatingPointIeee754<T> => _state.Remove(parameter);

    /// <summary>How many state tensors each parameter has (<see cref="StateSlots"/>, plus the accumulator and the
    /// moving average when used), for persistence.</summary>
    internal int SlotCount => StateSlots + (_accumulationSteps is null ? 0 : 1) + (_useEma ? 1 : 0);

    /// <summary>Replaces the state of <paramref name="parameter"/> (persistence; the caller checked the shapes and that
    /// there are <see cref="SlotCount"/> of them).</summary>
    internal void SetStateOf<T>(Parameter<T> parameter, Tensor<T>[] slots) where T : unmanaged, IFloatingPointIeee754<T> =>
        _state[parameter] = new ParameterState<T>(slots, StateSlots, _accumulationSteps is not null, _useEma);

    private ParameterState<T> GetState<T>(Parameter<T> p) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (_state.TryGetValue(p, out var s)) return (ParameterState<T>)s;
        var slots = new Tensor<T>[SlotCount];
        for (int i = 0; i < slots.Length; i++)
        {
            slots[i] = new Tensor<T>(p.Value.Shape);
            double start = i < StateSlots ? InitialStateValue(i) : 0;
            if (start != 0) slots[i].Span.Fill(T.CreateChecked(start));
        }
        var state = new ParameterState<T>(slots, StateSlots, _accumulationSteps is not null, _useEma);
        _state[p] = state;
        return state;
    }

    private void CheckLayoutChange(string name, bool changes)
    {
        if (changes && _state.Count > 0)
            throw new InvalidOperationException($"{name} changes the optimizer's state slots, but it already holds state for {_state.Count} parameter(s); set it before the first step or call Reset() first.");
    }

    /// <summary>One parameter's state: all slots (as saved), the subclass's slots, the accumulator and the average.</summary>
    private sealed class ParameterState<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public ParameterState(Tensor<T>[] all, int optimizerSlots, bool accumulator, bool average)
        {
            All = all;
            Slots = optimizerSlots == all.Length ? all : all[..optimizerSlots];
            int next = optimizerSlots;
            if (accumulator) Accumulator = all[next++];
            if (average) Average = all[next];
        }

        public Tensor<T>[] All { get; }
        public Tensor<T>[] Slots { get; }
        public Tensor<T>? Accumulator { get; }
        public Tensor<T>? Average { get; }
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
