using System.Globalization;
using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

/// <summary>
/// Keras' <c>Reshape</c>: <c>[batch, …]</c> to <c>[batch, target_shape…]</c> with the same values in the same (row-major)
/// order, a view of the same data (no copy). The target shape excludes the batch; one of its dimensions may be −1 and is
/// then inferred from the sample size.
/// </summary>
/// <remarks>Tensors here have rank at most <see cref="TensorShape.MaxRank"/>, so the target shape has at most
/// <see cref="TensorShape.MaxRank"/> − 1 dimensions.</remarks>
public sealed class Reshape<T> : ReshapingLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int[] _target;

    /// <summary>Creates the layer.</summary>
    /// <param name="targetShape">The shape of one output sample (without the batch): 1 to 3 positive dimensions, one of
    /// which may be −1.</param>
    /// <exception cref="ArgumentNullException"><paramref name="targetShape"/> is null.</exception>
    /// <exception cref="ArgumentException">The target has no dimensions or too many, a dimension is 0 or below −1, or more
    /// than one is −1.</exception>
    public Reshape(params int[] targetShape)
    {
        ArgumentNullException.ThrowIfNull(targetShape);
        string text = Format(targetShape);
        if (targetShape.Length is < 1 or >= TensorShape.MaxRank)
            throw new ArgumentException($"targetShape must have 1 to {TensorShape.MaxRank - 1} dimensions (the batch is not included); got {text}.", nameof(targetShape));
        if (targetShape.Any(d => d == 0 || d < -1))
            throw new ArgumentException($"targetShape dimensions must be positive, or −1 for one inferred dimension; got {text}.", nameof(targetShape));
        if (targetShape.Count(d => d == -1) > 1)
            throw new ArgumentException($"Only one targetShape dimension may be −1; got {text}.", nameof(targetShape));
        _target = (int[])targetShape.Clone();
    }

    /// <inheritdoc/>
    public override string TypeName => "reshape";

    /// <summary>The target shape as given (without the batch; −1 for the inferred dimension).</summary>
    public IReadOnlyList<int> TargetShape => _target;

    private static string Format(int[] dims) => "(" + string.Join(", ", dims) + ")";

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">The sample size of <paramref name="inputShape"/> does not fit the target;
    /// the message names both shapes.</exception>
    public override TensorShape ComputeOutputShape(TensorShape inputShape)
    {
        if (inputShape.Rank < 2)
            throw new ArgumentException($"{Name} takes [batch, ...]; got {inputShape}.", nameof(inputShape));
        long features = Features(inputShape), known = 1;
        foreach (int d in _target) if (d != -1) known *= d;
        Span<int> dims = stackalloc int[_target.Length + 1];
        dims[0] = inputShape[0];
        for (int i = 0; i < _target.Length; i++)
            dims[i + 1] = _target[i] != -1 ? _target[i] : known == 0 || features % known != 0 ? -1 : (int)(features / known);
        bool inferred = _target.Contains(-1);
        if ((inferred && dims.Contains(-1)) || (!inferred && known != features))
            throw new ArgumentException(
                $"{Name} cannot reshape {inputShape} ({features} values per sample) to target shape {Format(_target)} ({(inferred ? $"a multiple of {known}" : known.ToString(CultureInfo.InvariantCulture))} values).",
                nameof(inputShape));
        return new TensorShape(dims);
    }

    /// <inheritdoc/>
    public override IReadOnlyDictionary<string, string> GetConfig() => new Dictionary<string, string>
    {
        ["target_shape"] = string.Join(",", _target.Select(d => d.ToString(CultureInfo.InvariantCulture))),
    };
}
