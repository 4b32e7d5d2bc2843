using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Training.Data;

/// <summary>
/// Keras' data helpers for arrays in memory: <see cref="TimeseriesWindows{T}"/>
/// (<c>keras.utils.timeseries_dataset_from_array</c>, without the batching, which <c>Fit</c> does) and
/// <see cref="ToCategorical{T}"/> (<c>keras.utils.to_categorical</c>).
/// </summary>
public static class Datasets
{
    /// <summary>
    /// Cuts a series into sliding windows for a recurrent or convolutional model: window <c>k</c> starts at
    /// <c>p = startIndex + k·sequenceStride</c> and holds <c>data[p + j·samplingRate]</c> for
    /// <c>j = 0 … sequenceLength − 1</c>; its target is <c>targets[p]</c>, as in Keras (to predict the value after
    /// a window, pass the series shifted by the window's span as <paramref name="targets"/>).
    /// </summary>
    /// <param name="data">The series, <c>[N]</c> (one feature) or <c>[N, F]</c>.</param>
    /// <param name="targets">Null, or per-time-step targets <c>[N']</c> or <c>[N', …]</c>; windows whose start has no
    /// target are dropped, as in Keras.</param>
    /// <param name="sequenceLength">Time steps per window; at least 1.</param>
    /// <param name="sequenceStride">Steps between the starts of consecutive windows; at least 1.</param>
    /// <param name="samplingRate">Steps between the time steps inside a window; at least 1.</param>
    /// <param name="startIndex">The first time step used, in <c>[0, N)</c>.</param>
    /// <param name="endIndex">One past the last time step used, in <c>(startIndex, N]</c>; null for N.</param>
    /// <returns>The windows <c>[W, sequenceLength, F]</c>, and their targets <c>[W, …]</c> (<c>[W, 1]</c> for
    /// <c>[N']</c> targets) or null.</returns>
    /// <exception cref="ArgumentException">A size or index is out of range, or no whole window fits; the message
    /// gives the values and the data's shape.</exception>
    public static (Tensor<T> Inputs, Tensor<T>? Targets) TimeseriesWindows<T>(Tensor<T> data, Tensor<T>? targets, int sequenceLength,
        int sequenceStride = 1, int samplingRate = 1, int startIndex = 0, int? endIndex = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Shape.Rank is < 1 or > 2)
            throw new ArgumentException($"data must be [time] or [time, features]; got {data.Shape}.", nameof(data));
        int n = data.Shape[0], f = data.Shape.Rank == 2 ? data.Shape[1] : 1;
        ArgumentOutOfRangeException.ThrowIfLessThan(sequenceLength, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(sequenceStride, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(samplingRate, 1);
        if (startIndex < 0 || startIndex >= n)
            throw new ArgumentOutOfRangeException(nameof(startIndex), $"startIndex must be in [0, {n}) for data {data.Shape}; got {startIndex}.");
        int end = endIndex ?? n;
        if (end <= startIndex || end > n)
            throw new ArgumentOutOfRangeException(nameof(endIndex), $"endIndex must be in ({startIndex}, {n}] for data {data.Shape}; got {end}.");
        long span = (long)(sequenceLength - 1) * samplingRate;
        long starts = end - startIndex - span;   // window starts p − startIndex in [0, starts)
        if (targets is not null)
        {
            if (targets.Shape.Rank < 1)
                throw new ArgumentException($"targets must have a time axis; got {targets.Shape}.", nameof(targets));
            starts = Math.Min(starts, targets.Shape[0] - startIndex);
        }
        if (starts <= 0)
            throw new ArgumentException(
                $"No whole window fits: a window spans {span + 1} steps (sequenceLength {sequenceLength}, samplingRate {samplingRate}), " +
                $"but data {data.Shape} from {startIndex} to {end}" + (targets is null ? "" : $" with targets {targets.Shape}") + " is shorter.",
                nameof(sequenceLength));
        int windows = (int)((starts - 1) / sequenceStride + 1);

        var x = new Tensor<T>(windows, sequenceLength, f);
        var src = data.ReadOnlySpan;
        var dst = x.Span;
        for (int k = 0; k < windows; k++)
        {
            int p = startIndex + k * sequenceStride;
            for (int j = 0; j < sequenceLength; j++)
                src.Slice((p + j * samplingRate) * f, f).CopyTo(dst.Slice((k * sequenceLength + j) * f, f));
        }
        if (targets is null) return (x, null);

        int per = targets.Shape.Rank == 1 ? 1 : targets.Length / Math.Max(targets.Shape[0], 1);
        int[] dims = targets.Shape.Rank == 1 ? [windows, 1] : [windows, .. targets.Shape.ToArray()[1..]];
        var y = new Tensor<T>(new TensorShape(dims));
        var ts = targets.ReadOnlySpan;
        for (int k = 0; k < windows; k++)
            ts.Slice((startIndex + k * sequenceStride) * per, per).CopyTo(y.Span.Slice(k * per, per));
        return (x, y);
    }

    /// <summary>
    /// One-hot rows for integer class labels (Keras' <c>to_categorical</c>): row i is 1 at column <c>labels[i]</c>.
    /// </summary>
    /// <param name="labels">Class indices <c>[N]</c> or <c>[N, 1]</c>, whole numbers in <c>[0, numClasses)</c>.</param>
    /// <param name="numClasses">The number of classes; null for the largest label plus one.</param>
    /// <returns><c>[N, numClasses]</c>.</returns>
    /// <exception cref="ArgumentException">The shape is wrong, or a label is negative, fractional, not finite or not
    /// below <paramref name="numClasses"/>; the message gives its index and value.</exception>
    public static Tensor<T> ToCategorical<T>(Tensor<T> labels, int? numClasses = null) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (!(labels.Shape.Rank == 1 || (labels.Shape.Rank == 2 && labels.Shape[1] == 1)))
            throw new ArgumentException($"labels must be [N] or [N, 1]; got {labels.Shape}.", nameof(labels));
        if (numClasses is < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), $"numClasses must be at least 1; got {numClasses}.");
        var l = labels.ReadOnlySpan;
        int max = -1;
        for (int i = 0; i < l.Length; i++)
        {
            T v = l[i];
            if (!T.IsFinite(v) || v < T.Zero || !T.IsInteger(v) || (numClasses is int c && v >= T.CreateChecked(c)))
                throw new ArgumentException(
                    $"labels[{i}] = {v} is not a class index in [0, {(numClasses is int c2 ? c2.ToString() : "∞")}) (labels {labels.Shape}).", nameof(labels));
            max = Math.Max(max, int.CreateChecked(v));
        }
        int classes = numClasses ?? max + 1;
        var y = new Tensor<T>(l.Length, Math.Max(classes, 1));
        var ys = y.Span;
        for (int i = 0; i < l.Length; i++) ys[i * classes + int.CreateChecked(l[i])] = T.One;
        return y;
    }
}
