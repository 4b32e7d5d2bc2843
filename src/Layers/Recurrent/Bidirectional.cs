using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

// Shapes: B = batch, T = time, F = input features, H = the wrapped layer's units.
// Output: [B, T, M] with ReturnSequences, else [B, M]; M = 2H for "concat", H for "sum", "mul" and "ave".

/// <summary>
/// Runs a recurrent layer over the sequence in both directions and merges the two outputs, Keras'
/// <c>Bidirectional(layer, merge_mode)</c>. The backward layer is a fresh copy of the layer with
/// <c>GoBackwards</c> flipped (its own weights).
/// </summary>
/// <remarks>
/// With <c>ReturnSequences</c> the backward layer's output, which is in its processing order, is reversed
/// back in time before merging, so step t of both halves refers to input step t (as in Keras). Merge modes:
/// <c>concat</c> (<c>[forward, backward]</c> along the last axis), <c>sum</c>, <c>mul</c> and <c>ave</c>.
/// <see cref="ILayer{T}.Parameters"/> lists the forward layer's parameters, then the backward layer's.
/// </remarks>
public sealed class Bidirectional<T> : Layer<T>, IMaskConsumer, IInputGradientOptional where T : unmanaged, IFloatingPointIeee754<T>
{
    private static readonly string[] s_modes = ["concat", "sum", "mul", "ave"];
    private readonly Workspace<T> _wOut = new(), _wDf = new(), _wDb = new(), _wDx = new();
    private Tensor<T>? _yF, _yB, _lastOutput;

    /// <summary>Wraps <paramref name="layer"/>.</summary>
    /// <param name="layer">The forward layer; not built yet.</param>
    /// <param name="mergeMode"><c>concat</c>, <c>sum</c>, <c>mul</c> or <c>ave</c>.</param>
    /// <param name="backwardLayer">An explicit backward layer (unbuilt, with the opposite <c>GoBackwards</c> and the
    /// same units and <c>ReturnSequences</c>); null makes one with <see cref="RecurrentLayer{T}.CloneReversed"/>.</param>
    /// <exception cref="ArgumentException">The merge mode is unknown, a layer is already built, or the backward layer does not fit.</exception>
    public Bidirectional(RecurrentLayer<T> layer, string mergeMode = "concat", RecurrentLayer<T>? backwardLayer = null)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(mergeMode);
        if (Array.IndexOf(s_modes, mergeMode) < 0)
            throw new ArgumentException($"mergeMode must be one of {string.Join(", ", s_modes)}; got '{mergeMode}'.", nameof(mergeMode));
        if (layer.IsBuilt)
            throw new ArgumentException($"{layer.Name} is already built; wrap a fresh layer so both directions are built together.", nameof(layer));
        backwardLayer ??= layer.CloneReversed();
        if (backwardLayer.IsBuilt || backwardLayer.GoBackwards == layer.GoBackwards || backwardLayer.Units != layer.Units
            || backwardLayer.ReturnSequences != layer.ReturnSequences)
            throw new ArgumentException(
                $"The backward layer must be unbuilt, with go_backwards = {!layer.GoBackwards}, units = {layer.Units} and return_sequences = {layer.ReturnSequences}; " +
                $"got go_backwards = {backwardLayer.GoBackwards}, units = {backwardLayer.Units}, return_sequences = {backwardLayer.ReturnSequences}.", nameof(backwardLayer));
        ForwardLayer = layer;
        BackwardLayer = backwardLayer;
        MergeMode = mergeMode;
        ForwardLayer.Name = "forward_" + layer.Name;
        BackwardLayer.Name = "backward_" + layer.Name;
        // As Keras: merged sequences are zero at masked steps, whatever the wrapped layers were given.
        if (layer.ReturnSequences) ForwardLayer.ZeroOutputForMask = BackwardLayer.ZeroOutputForMask = true;
    }

    /// <summary>The timestep mask for the following calls, passed to both directions (see
    /// <see cref="RecurrentLayer{T}.InputMask"/>); with return sequences the merged output is zero at masked steps.</summary>
    public SequenceMask? InputMask
    {
        get => ForwardLayer.InputMask;
        set => ForwardLayer.InputMask = BackwardLayer.InputMask = value;
    }

    /// <inheritdoc/>
    public SequenceMask? OutputMask => ForwardLayer.OutputMask;

    /// <inheritdoc/>
    public override string TypeName => "bidirectional";

    /// <summary>The layer reading the sequence in its own direction.</summary>
    public RecurrentLayer<T> ForwardLayer { get; }

    /// <summary>The layer reading it the other way.</summary>
    public RecurrentLayer<T> BackwardLayer { get; }

    /// <summary>How the two outputs are combined: <c>concat</c>, <c>sum</c>, <c>mul</c> or <c>ave</c>.</summary>
    public string MergeMode { get; }

    /// <summary>Whether the backward pass forms the input gradient (both directions'); a model turns it off on its first
    /// layer.</summary>
    public bool ComputeInputGradient
    {
        get => ForwardLayer.ComputeInputGradient;
        set { ForwardLayer.ComputeInputGradient = value; BackwardLayer.ComputeInputGradient = value; }
    }

    private bool Sequences => ForwardLayer.ReturnSequences;

    /// <inheritdoc/>
    protected override void BuildCore(TensorShape inputShape, Random rng)
    {
        ForwardLayer.Build(inputShape, rng.Next());
        BackwardLayer.Build(inputShape, rng.Next());
        foreach (var p in ForwardLayer.Parameters) AddParameter(p);
        foreach (var p in BackwardLayer.Parameters) AddParameter(p);
    }

    internal override void AddGenerators(List<ResumableRandom> generators)
    {
        ForwardLayer.AddGenerators(generators);
        BackwardLayer.AddGenerators(generators);
    }

    /// <inheritdoc/>
    public override TensorShape ComputeOutputShape(TensorShape inputShape)
    {
        var s = ForwardLayer.ComputeOutputShape(inputShape);
        if (MergeMode != "concat") return s;
        return s.Rank == 3 ? new TensorShape(s[0], s[1], 2 * s[2]) : new TensorShape(s[0], 2 * s[1]);
    }

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 3)
            throw new ArgumentException($"{Name} takes [batch, time, features]; got {input.Shape}.", nameof(input));
        EnsureBuilt(input);
        _yF = ForwardLayer.Forward(input, training);
        _yB = BackwardLayer.Forward(input, training);
        var y = _wOut.Get(ComputeOutputShape(input.Shape));
        int b = input.Shape[0], steps = Sequences ? input.Shape[1] : 1, h = ForwardLayer.Units, w = y.Shape.Columns;
        var fs = _yF.ReadOnlySpan; var bs = _yB.ReadOnlySpan; var ys = y.Span;
        T half = T.CreateChecked(0.5);
        for (int r = 0; r < b; r++)
            for (int t = 0; t < steps; t++)
            {
                var f = fs.Slice((r * steps + t) * h, h);
                var bw = bs.Slice((r * steps + (steps - 1 - t)) * h, h);   // reversed back in time
                var o = ys.Slice((r * steps + t) * w, w);
                switch (MergeMode)
                {
                    case "concat": f.CopyTo(o); bw.CopyTo(o.Slice(h)); break;
                    case "sum": TensorPrimitives.Add(f, bw, o); break;
                    case "mul": TensorPrimitives.Multiply(f, bw, o); break;
                    default: TensorPrimitives.Add(f, bw, o); TensorPrimitives.Multiply(o, half, o); break;
                }
            }
        _lastOutput = y;
        return y;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_lastOutput, dOutput, Name);
        var yF = _yF!; var yB = _yB!;
        var dF = _wDf.Get(yF.Shape); var dB = _wDb.Get(yB.Shape);
        int b = yF.Shape[0], steps = Sequences ? yF.Shape[1] : 1, h = ForwardLayer.Units, w = dOutput.Shape.Columns;
        var ds = dOutput.ReadOnlySpan; var dfs = dF.Span; var dbs = dB.Span;
        var fs = yF.ReadOnlySpan; var bs = yB.ReadOnlySpan;
        T half = T.CreateChecked(0.5);
        for (int r = 0; r < b; r++)
            for (int t = 0; t < steps; t++)
            {
                int fi = (r * steps + t) * h, bi = (r * steps + (steps - 1 - t)) * h;
                var d = ds.Slice((r * steps + t) * w, w);
                var df = dfs.Slice(fi, h); var db = dbs.Slice(bi, h);
                switch (MergeMode)
                {
                    case "concat": d.Slice(0, h).CopyTo(df); d.Slice(h, h).CopyTo(db); break;
                    case "sum": d.CopyTo(df); d.CopyTo(db); break;
                    case "mul": TensorPrimitives.Multiply(d, bs.Slice(bi, h), df); TensorPrimitives.Multiply(d, fs.Slice(fi, h), db); break;
                    default: TensorPrimitives.Multiply(d, half, df); TensorPrimitives.Multiply(d, half, db); break;
                }
            }
        var dxF = ForwardLayer.Backward(dF);
        var dxB = BackwardLayer.Backward(dB);
        if (!ComputeInputGradient) return dxF;   // zeros of the input's shape
        var dx = _wDx.Get(dxF.Shape);
        TensorPrimitives.Add(dxF.ReadOnlySpan, dxB.ReadOnlySpan, dx.Span);
        return dx;
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig()
    {
        var c = new Dictionary<string, string> { ["merge_mode"] = MergeMode, ["layer"] = ForwardLayer.TypeName };
        foreach (var kv in ForwardLayer.GetConfig()) c["layer." + kv.Key] = kv.Value;
        return c;
    }
}
