using System.Globalization;
using System.Numerics;
using Nn.Simd.Layers.Initializers;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

// Shapes: B = batch, S = positions per sample (the product of the axes between batch and channels, 1 for [B, C]),
// C = channels (the last axis), G = groups, Cg = C/G channels per group, N = S·Cg values per (sample, group).
// Per (b, g): μ = mean, σ² = biased variance over the N values, x̂ = (x − μ)/√(σ² + ε); y = γ_c·x̂ + β_c.
// Backward per (b, g), with gᵢ = γ_c·dyᵢ: dx = (g − mean(g) − x̂·mean(g⊙x̂))/√(σ² + ε);
//   dγ_c = Σ_{b,s} dy⊙x̂, dβ_c = Σ_{b,s} dy. Since γ is constant over s, Σ_s g = γ⊙Σ_s dy and Σ_s g⊙x̂ = γ⊙Σ_s dy⊙x̂,
//   so one pass over the sample gives the per-channel sums that both the parameter gradients and dx need.

/// <summary>
/// Keras' <c>GroupNormalization</c> on channels-last inputs <c>[batch, ..., channels]</c> (rank 2 to 4): the channels
/// are split into <see cref="Groups"/> contiguous groups, and each sample's values in a group (every position × the
/// group's channels) are normalised by their own mean and (biased) variance, <c>x̂ = (x − μ)/√(σ² + ε)</c>, then
/// scaled by the per-channel γ and shifted by β: <c>y = γ⊙x̂ + β</c>. The same in training and inference.
/// </summary>
/// <remarks>
/// <para>With one group this is layer normalisation over all non-batch axes (with γ and β per channel rather than per
/// element); with one channel per group (<c>groups: -1</c>, as in Keras) it is instance normalisation. The channel
/// count must be a multiple of the group count, as Keras requires.</para>
/// <para>Keras' ε = 1e-3; PyTorch's <c>nn.GroupNorm</c> uses 1e-5 and takes channels-first (NCHW) inputs. Only the
/// last axis can be the channel axis here (Keras also accepts another).</para>
/// </remarks>
public sealed class GroupNormalization<T> : NormalizationLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _wY = new(), _wXHat = new(), _wInvStd = new(), _wDx = new(),
        _wSum = new(), _wSum2 = new(), _wBroadcast = new(), _wBroadcast2 = new();
    private Tensor<T>? _xHat, _invStd, _lastY;

    /// <summary>Creates the layer.</summary>
    /// <param name="groups">G, the number of groups; positive and dividing the channel count, or -1 for one group per
    /// channel (instance normalisation).</param>
    /// <param name="axis">The channel axis: -1 (the last), or its positive index, which must then be the last axis.</param>
    /// <param name="epsilon">Added to the variance; positive.</param>
    /// <param name="center">Whether to add β.</param>
    /// <param name="scale">Whether to multiply by γ.</param>
    /// <param name="betaInitializer">Fills β; null means zeros.</param>
    /// <param name="gammaInitializer">Fills γ; null means ones.</param>
    /// <exception cref="ArgumentOutOfRangeException">The group count, the axis or ε is out of range.</exception>
    public GroupNormalization(int groups = 32, int axis = -1, double epsilon = 1e-3, bool center = true, bool scale = true,
        Initializer? betaInitializer = null, Initializer? gammaInitializer = null)
        : base(epsilon, center, scale, gammaInitializer, betaInitializer)
    {
        if (groups == 0 || groups < -1)
            throw new ArgumentOutOfRangeException(nameof(groups), $"groups must be a positive integer or -1 (one group per channel); got {groups}.");
        if (axis == 0 || axis < -1)
            throw new ArgumentOutOfRangeException(nameof(axis), $"{nameof(GroupNormalization<T>)} takes channels-last inputs: axis must be -1 or the last axis' index; got {axis}.");
        Groups = groups;
        Axis = axis;
    }

    /// <inheritdoc/>
    public override string TypeName => "group_normalization";

    /// <summary>G as given: the number of groups, or -1 for one group per channel.</summary>
    public int Groups { get; }

    /// <summary>The channel axis as given (-1, or the last axis' index).</summary>
    public int Axis { get; }

    /// <summary>The number of groups for <paramref name="channels"/> channels (resolves -1).</summary>
    private int GroupsFor(int channels) => Groups == -1 ? channels : Groups;

    private protected override void CheckInputShape(TensorShape shape)
    {
        if (shape.Rank < 2)
            throw new ArgumentException($"{Name} takes [batch, ..., channels] (rank 2 to 4); got {shape}.", "input");
        if (Axis > 0 && Axis != shape.Rank - 1)
            throw new ArgumentException($"{Name} normalises the last axis (channels last); axis {Axis} is not the last axis of {shape}.", "input");
        int c = shape[-1], g = GroupsFor(c);
        if (g > c)
            throw new ArgumentException($"{Name}: the number of groups ({g}) cannot be more than the number of channels ({c}) of {shape}.", "input");
        if (c % g != 0)
            throw new ArgumentException($"{Name}: the number of channels ({c}) of {shape} must be a multiple of the number of groups ({g}).", "input");
    }

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        EnsureBuilt(input);
        int batch = input.Shape[0], c = input.Shape.Columns, s = batch == 0 ? 0 : input.Shape.Rows / batch;
        int groups = GroupsFor(c), cg = c / groups, sampleLength = s * c;
        var x = input.ReadOnlySpan;
        var xHat = (_xHat = _wXHat.Get(input.Shape)).Span;
        // 1/√(σ² + ε) broadcast to the channels of each group: [B, C], so that backward scales whole rows.
        var invStd = (_invStd = _wInvStd.Get(new TensorShape(Math.Max(batch, 1), c))).Span;
        var y = _wY.Get(input.Shape);
        var ys = y.Span;
        var sum = _wSum.Get(new TensorShape(c)).Span;
        var meanC = _wBroadcast.Get(new TensorShape(c)).Span;
        T count = T.CreateChecked(s * cg), eps = T.CreateChecked(Epsilon);
        for (int b = 0; b < batch; b++)
        {
            var xb = x.Slice(b * sampleLength, sampleLength);
            var xh = xHat.Slice(b * sampleLength, sampleLength);
            var inv = invStd.Slice(b * c, c);
            // Per-channel column sums over the sample's positions, then per-group means broadcast back to channels.
            sum.Clear();
            for (int p = 0; p < s; p++) TensorPrimitives.Add(xb.Slice(p * c, c), sum, sum);
            for (int g = 0; g < groups; g++) meanC.Slice(g * cg, cg).Fill(TensorPrimitives.Sum<T>(sum.Slice(g * cg, cg)) / count);
            // Two passes: the variance of the centred values stays accurate when |μ| ≫ σ. x̂ holds x − μ meanwhile.
            sum.Clear();
            for (int p = 0; p < s; p++)
            {
                var d = xh.Slice(p * c, c);
                TensorPrimitives.Subtract(xb.Slice(p * c, c), meanC, d);
                TensorPrimitives.MultiplyAdd(d, d, sum, sum);
            }
            for (int g = 0; g < groups; g++)
                inv.Slice(g * cg, cg).Fill(T.One / T.Sqrt(TensorPrimitives.Sum<T>(sum.Slice(g * cg, cg)) / count + eps));
            for (int p = 0; p < s; p++)
            {
                var d = xh.Slice(p * c, c);
                TensorPrimitives.Multiply(d, inv, d);
                ScaleShift(d, ys.Slice(b * sampleLength + p * c, c));
            }
        }
        _lastY = y;
        return y;
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput)
    {
        CheckBackward(_lastY, dOutput, Name);
        int batch = dOutput.Shape[0], c = dOutput.Shape.Columns, s = batch == 0 ? 0 : dOutput.Shape.Rows / batch;
        int groups = GroupsFor(c), cg = c / groups, sampleLength = s * c;
        var dy = dOutput.ReadOnlySpan;
        var xHat = _xHat!.ReadOnlySpan;
        var invStd = _invStd!.ReadOnlySpan;
        var dx = _wDx.Get(dOutput.Shape);
        var dxs = dx.Span;
        var sumDy = _wSum.Get(new TensorShape(c)).Span;
        var sumDyXHat = _wSum2.Get(new TensorShape(c)).Span;
        var meanG = _wBroadcast.Get(new TensorShape(c)).Span;      // mean(g) of each channel's group
        var negMeanGX = _wBroadcast2.Get(new TensorShape(c)).Span; // −mean(g⊙x̂) of each channel's group
        T invCount = T.One / T.CreateChecked(s * cg);
        for (int b = 0; b < batch; b++)
        {
            var dyb = dy.Slice(b * sampleLength, sampleLength);
            var xh = xHat.Slice(b * sampleLength, sampleLength);
            sumDy.Clear();
            sumDyXHat.Clear();
            for (int p = 0; p < s; p++)
            {
                var dyr = dyb.Slice(p * c, c);
                TensorPrimitives.Add(dyr, sumDy, sumDy);
                TensorPrimitives.MultiplyAdd(dyr, xh.Slice(p * c, c), sumDyXHat, sumDyXHat);
            }
            if (Beta is { Trainable: true }) TensorPrimitives.Add(Beta.Grad.Span, sumDy, Beta.Grad.Span);
            if (Gamma is not null)
            {
                if (Gamma.Trainable) TensorPrimitives.Add(Gamma.Grad.Span, sumDyXHat, Gamma.Grad.Span);
                // Σ g = γ⊙Σ dy and Σ g⊙x̂ = γ⊙Σ dy⊙x̂.
                TensorPrimitives.Multiply(sumDy, Gamma.Value.ReadOnlySpan, sumDy);
                TensorPrimitives.Multiply(sumDyXHat, Gamma.Value.ReadOnlySpan, sumDyXHat);
            }
            for (int g = 0; g < groups; g++)
            {
                meanG.Slice(g * cg, cg).Fill(TensorPrimitives.Sum<T>(sumDy.Slice(g * cg, cg)) * invCount);
                negMeanGX.Slice(g * cg, cg).Fill(-TensorPrimitives.Sum<T>(sumDyXHat.Slice(g * cg, cg)) * invCount);
            }
            var inv = invStd.Slice(b * c, c);
            for (int p = 0; p < s; p++)
            {
                var d = dxs.Slice(b * sampleLength + p * c, c);
                var dyr = dyb.Slice(p * c, c);
                // dx = (γ⊙dy − mean(g) − x̂·mean(g⊙x̂)) / √(σ² + ε)
                if (Gamma is not null) TensorPrimitives.Multiply(dyr, Gamma.Value.ReadOnlySpan, d); else dyr.CopyTo(d);
                TensorPrimitives.Subtract(d, meanG, d);
                TensorPrimitives.MultiplyAdd(xh.Slice(p * c, c), negMeanGX, d, d);
                TensorPrimitives.Multiply(d, inv, d);
            }
        }
        return dx;
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig()
    {
        var config = BaseConfig();
        config["groups"] = Groups.ToString(CultureInfo.InvariantCulture);
        config["axis"] = Axis.ToString(CultureInfo.InvariantCulture);
        return config;
    }
}
