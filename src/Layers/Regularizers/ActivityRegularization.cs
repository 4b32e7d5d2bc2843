using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers.Regularizers;

/// <summary>
/// Keras 3's activity regularization of one layer output <c>y</c> [B, ...]: the penalty
/// <c>P(y) = (l1·Σ|y| + l2·Σy²) / B</c> joins the loss, and <c>∂P/∂y = (l1·sign(y) + 2·l2·y) / B</c> joins the gradient
/// that reaches the layer. Shared by every model that runs layers (Sequential, the functional graph), so the rule is
/// written once.
/// </summary>
/// <remarks>
/// Keras 3 (<c>Layer.__call__</c>) divides the regularizer's value by the output's first dimension, the batch size
/// (<c>divide_no_nan</c>, so an empty batch gives 0), to keep its strength independent of the batch size; tf.keras 2 did
/// the same. Only the first axis divides: a sequence output [B, T, C] is summed over its steps. PyTorch has no activity
/// regularizer.
/// </remarks>
internal static class ActivityRegularization
{
    /// <summary>The penalty of <paramref name="output"/> [B, ...]: <c>(l1·Σ|y| + l2·Σy²) / B</c> in double; 0 for B = 0.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    internal static double Penalty<T>(Regularizer regularizer, Tensor<T> output) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(regularizer);
        ArgumentNullException.ThrowIfNull(output);
        int batch = output.Shape[0];
        return batch == 0 ? 0 : regularizer.Penalty(output.ReadOnlySpan) / batch;
    }

    /// <summary>
    /// The gradient to hand to the layer's Backward: <c>dOutput + (l1·sign(y) + 2·l2·y) / B</c>, written into a tensor
    /// of <paramref name="workspace"/> (so neither <paramref name="dOutput"/>, which the loss or the next layer owns, nor
    /// <paramref name="output"/> is written) and returned. A steady shape allocates nothing.
    /// </summary>
    /// <param name="regularizer">The layer's activity regularizer.</param>
    /// <param name="output">The layer's output y [B, ...] from its last forward pass.</param>
    /// <param name="dOutput">The gradient of the loss with respect to y, shaped like y.</param>
    /// <param name="workspace">The caller's buffer for the sum; one per regularized layer.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="dOutput"/> is not shaped like <paramref name="output"/>.</exception>
    internal static Tensor<T> AddGradient<T>(Regularizer regularizer, Tensor<T> output, Tensor<T> dOutput, Workspace<T> workspace)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(regularizer);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(dOutput);
        ArgumentNullException.ThrowIfNull(workspace);
        if (dOutput.Shape != output.Shape)
            throw new ArgumentException($"dOutput has shape {dOutput.Shape} but the regularized output has shape {output.Shape}.", nameof(dOutput));
        var sum = workspace.Get(output.Shape);
        dOutput.ReadOnlySpan.CopyTo(sum.Span);
        int batch = output.Shape[0];
        if (batch > 0) regularizer.AddGradient(output.ReadOnlySpan, sum.Span, 1.0 / batch);
        return sum;
    }
}
