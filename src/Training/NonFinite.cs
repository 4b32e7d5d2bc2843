namespace Nn.Simd.Training;

/// <summary>What <c>Fit</c> does when the loss or a gradient is NaN or infinite.</summary>
public enum NonFiniteMode
{
    /// <summary>Throw a <see cref="NonFiniteException"/> (the default).</summary>
    Throw,

    /// <summary>Raise <c>NonFiniteDetected</c>, skip that step's update and go on.</summary>
    Warn,
}

/// <summary>Where a NaN or infinity was found.</summary>
/// <param name="Epoch">The 1-based epoch (0 outside <c>Fit</c>).</param>
/// <param name="Step">The 1-based step within the epoch (or the <c>TrainOnBatch</c> call count).</param>
/// <param name="Location">What held it: e.g. <c>loss</c>, <c>output of layer 'dense_2'</c>, <c>gradient of 'dense_1' kernel</c>.</param>
/// <param name="LayerName">The first layer where it appeared, or null when it is not in a layer (the input or the loss).</param>
/// <param name="LayerIndex">That layer's index in the model, or -1.</param>
public sealed record NonFiniteInfo(int Epoch, int Step, string Location, string? LayerName, int LayerIndex)
{
    /// <summary>A readable description.</summary>
    public override string ToString() =>
        (Epoch > 0 ? $"Non-finite value at epoch {Epoch}, step {Step}: " : $"Non-finite value in TrainOnBatch call {Step}: ") + Location + ".";
}

/// <summary>Thrown when training meets a NaN or infinity in the loss or the gradients.</summary>
public sealed class NonFiniteException : ArithmeticException
{
    /// <summary>Creates the exception.</summary>
    public NonFiniteException(NonFiniteInfo info) : base(info?.ToString()) => Info = info!;

    /// <summary>Where it happened.</summary>
    public NonFiniteInfo Info { get; }
}

/// <summary>The argument of the <c>NonFiniteDetected</c> event.</summary>
public sealed class NonFiniteEventArgs(NonFiniteInfo info) : EventArgs
{
    /// <summary>Where it happened.</summary>
    public NonFiniteInfo Info { get; } = info;
}
