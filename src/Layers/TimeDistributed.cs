using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

// Shapes: B = batch, T = time, S = the rest of one step's shape (one or two axes: a tensor has rank ≤ 4).
// x [B, T, S] is viewed as [B·T, S] (row-major: the T steps of a sample are consecutive rows, so no copy), the wrapped
// layer runs once on it, giving [B·T, S'], which is viewed as [B, T, S']. Backward views dy [B, T, S'] as [B·T, S'],
// runs the wrapped layer's backward and views its [B·T, S] result as [B, T, S].

/// <summary>
/// Applies one layer to every time step of a <c>[batch, time, ...]</c> input, Keras' <c>TimeDistributed(layer)</c>:
/// y[b, t] = layer(x[b, t]) with the same weights at every step. The batch and time axes are folded into one,
/// <c>[batch·time, ...]</c>, as a view of the same memory, and the layer runs once on all steps together (for
/// <see cref="Dense{T}"/> one GEMM); its output is viewed back as <c>[batch, time, ...]</c>.
/// </summary>
/// <remarks>
/// <para>Inputs are rank 3 or 4, as <see cref="Tensor{T}"/> allows: <c>[batch, time, features]</c> (a
/// <see cref="Dense{T}"/> per step, e.g. after an LSTM with <c>ReturnSequences</c>) or <c>[batch, time, a, b]</c>
/// (a <see cref="Conv1D{T}"/>, a recurrent layer, <see cref="Flatten{T}"/> or a pooling layer over each step's
/// <c>[a, b]</c>). Keras' video case, <c>TimeDistributed(Conv2D)</c> over <c>[batch, time, height, width,
/// channels]</c>, needs rank 5 and is not available. The wrapped layer's output, with the time axis put back, must
/// also be rank 4 at most.</para>
/// <para>Masks follow Keras 3: the layer accepts a timestep mask and passes it on unchanged
/// (<see cref="OutputMask"/> is <see cref="InputMask"/>), so a loss after it still counts only the kept steps. The
/// wrapped layer runs on every step, masked or not, and is not given the mask: Keras hands a wrapped layer that takes
/// one the mask's slice for each step, <c>[batch]</c>, which describes no axis of that layer's own input.</para>
/// <para>A stateful recurrent layer (or a <see cref="Bidirectional{T}"/> of one) cannot be wrapped: it would see the
/// folded batch of B·T rows and keep one state per (sample, step) across calls. <c>Build</c> rejects it (Keras has no
/// such check; see <see cref="StatefulInside"/>).</para>
/// <para><see cref="ILayer{T}.Parameters"/> are the wrapped layer's (the same objects), so freezing either layer
/// freezes both, and saved weights are named after this layer (<c>time_distributed_1.kernel</c>).</para>
/// </remarks>
public sealed class TimeDistributed<T> : Layer<T>, IMaskConsumer where T : unmanaged, IFloatingPointIeee754<T>
{
    // The views are kept while the same tensors come back (a model's batch buffers, the wrapped layer's workspaces),
    // so a steady-state step allocates nothing.
    private readonly ViewCache<T> _input = new(), _output = new(), _dOutput = new(), _dx = new();

    /// <summary>Wraps <paramref name="layer"/>.</summary>
    /// <param name="layer">The layer applied at each step; built or not (if built, for steps of the shape it will get).</param>
    /// <exception cref="ArgumentNullException"><paramref name="layer"/> is null.</exception>
    public TimeDistributed(ILayer<T> layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        Layer = layer;
    }

    /// <inheritdoc/>
    public override string TypeName => "time_distributed";

    /// <summary>The layer applied at each time step.</summary>
    public ILayer<T> Layer { get; }

    /// <summary>The timestep mask of the following calls, <c>[batch, time]</c> of their input; checked against the input
    /// and passed on as <see cref="OutputMask"/>. The wrapped layer does not see it.</summary>
    public SequenceMask? InputMask { get; set; }

    /// <inheritdoc/>
    public SequenceMask? OutputMask => InputMask;

    /// <summary>The type name the wrapped layer is saved under.</summary>
    internal static string TypeNameOf(ILayer<T> layer) =>
        layer is Layer<T> typed ? typed.TypeName : layer.GetType().Name.Split('`')[0].ToLowerInvariant();

    /// <summary>[B, T, S] → [B·T, S].</summary>
    private TensorShape Fold(TensorShape s, string paramName)
    {
        if (s.Rank < 3)
            throw new ArgumentException(
                $"{Name} applies {Layer.Name} at each time step, so it takes inputs of rank 3 or 4, [batch, time, ...]; got {s} (rank {s.Rank}).", paramName);
        return s.Rank == 3 ? new TensorShape(s[0] * s[1], s[2]) : new TensorShape(s[0] * s[1], s[2], s[3]);
    }

    /// <summary>[B·T, S'] → [B, T, S'].</summary>
    private TensorShape Unfold(TensorShape inner, int batch, int steps, TensorShape input)
    {
        if (inner.Rank >= TensorShape.MaxRank)
            throw new ArgumentException(
                $"{Name}: {Layer.Name} turns steps shaped {DropFirst(Fold(input, "input"))} into {DropFirst(inner)}; with the batch and time axes that is rank {inner.Rank + 1}, and a tensor has rank at most {TensorShape.MaxRank}.", "input");
        if (inner[0] != batch * steps)
            throw new ArgumentException($"{Name}: {Layer.Name} turned {batch * steps} rows into {inner[0]}; a time-distributed layer must keep one output per step.", "input");
        Span<int> d = stackalloc int[inner.Rank + 1];
        d[0] = batch;
        d[1] = steps;
        for (int i = 1; i < inner.Rank; i++) d[i + 1] = inner[i];
        return new TensorShape(d);
    }

    private static string DropFirst(TensorShape s) => "[" + string.Join(", ", s.ToArray().Skip(1)) + "]";

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">The shape is not rank 3 or 4, or the wrapped layer is (or wraps) a stateful
    /// recurrent layer (see <see cref="StatefulInside"/>).</exception>
    protected override void BuildCore(TensorShape inputShape, Random rng)
    {
        var folded = Fold(inputShape, nameof(inputShape));
        if (StatefulInside(Layer) is { } stateful)
            throw new ArgumentException(
                $"{Name} cannot wrap the stateful recurrent layer {stateful.Name}: it runs the layer once on the batch and time axes " +
                $"folded together ({inputShape[0]}·{inputShape[1]} = {folded[0]} rows), so the state would be kept per (sample, step) " +
                "from call to call rather than per sample. Use a layer with stateful: false, or apply the stateful layer to the sequence directly.",
                nameof(inputShape));
        Layer.Build(folded, rng.Next());
        foreach (var p in Layer.Parameters) AddParameter(p);
        ComputeOutputShape(inputShape);
    }

    /// <summary>The stateful recurrent layer that <paramref name="layer"/> is or wraps (in a <see cref="Bidirectional{T}"/>),
    /// or null. (A nested <see cref="TimeDistributed{T}"/> checks its own layer when it is built.)</summary>
    /// <remarks>Keras 3 has no such check: its <c>TimeDistributed.call</c> calls the wrapped layer once per step, in a
    /// Python loop over a static time axis, so a stateful layer there carries its state from step t to step t + 1 (with a
    /// dynamic time axis it maps the steps with <c>vectorized_map</c> instead). Here all steps run as one batch of B·T rows, so the state would be carried per (sample, step) across
    /// calls, which matches neither; so the combination is rejected when the wrapper is built.</remarks>
    internal static RecurrentLayer<T>? StatefulInside(ILayer<T> layer) => layer switch
    {
        RecurrentLayer<T> { Stateful: true } r => r,
        Bidirectional<T> b => b.ForwardLayer.Stateful ? b.ForwardLayer : b.BackwardLayer.Stateful ? b.BackwardLayer : null,
        _ => null,
    };

    internal override void AddGenerators(List<ResumableRandom> generators)
    {
        if (Layer is Layer<T> inner) inner.AddGenerators(generators);
    }

    /// <inheritdoc/>
    protected override void CheckFeatures(TensorShape inputShape, string paramName)
    {
        Fold(inputShape, paramName);
        base.CheckFeatures(inputShape, paramName);
    }

    /// <inheritdoc/>
    public override TensorShape ComputeOutputShape(TensorShape inputShape) =>
        Unfold(Layer.ComputeOutputShape(Fold(inputShape, nameof(inputShape))), inputShape[0], inputShape[1], inputShape);

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        ArgumentNullException.ThrowIfNull(input);
        var folded = Fold(input.Shape, nameof(input));
        EnsureBuilt(input);
        InputMask?.CheckShape(input.Shape, Name);
        var y = Layer.Forward(_input.Get(input, folded), training);
        return _output.Get(y, Unfold(y.Shape, input.Shape[0], input.Shape[1], input.Shape));
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_output.View, dOutput, Name);
        var dx = Layer.Backward(_dOutput.Get(dOutput, _output.Source!.Shape));
        return _dx.Get(dx, _input.Source!.Shape);
    }

    /// <summary>Keras' config holds the wrapped layer's; here its type is <c>layer</c> and its options <c>layer.*</c>.</summary>
    public override IReadOnlyDictionary<string, string> GetConfig()
    {
        var c = new Dictionary<string, string> { ["layer"] = TypeNameOf(Layer) };
        foreach (var kv in Layer.GetConfig()) c["layer." + kv.Key] = kv.Value;
        return c;
    }
}
