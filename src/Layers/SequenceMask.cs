namespace Nn.Simd.Layers;

/// <summary>
/// Which time steps of a <c>[batch, time, ·]</c> input are real (true) and which are padding (false), as Keras'
/// boolean timestep mask. A recurrent layer skips a masked step: its state is carried through unchanged, and its
/// output there repeats the previous output (or is zero, see <see cref="RecurrentLayer{T}.ZeroOutputForMask"/>).
/// </summary>
/// <remarks>Made by <see cref="Masking{T}"/> inside a model, or by <see cref="FromLengths"/> for a layer used on
/// its own (<see cref="IMaskConsumer.InputMask"/>).</remarks>
public sealed class SequenceMask
{
    private readonly bool[] _kept;

    /// <summary>Creates a mask with every step kept.</summary>
    /// <param name="batch">B; positive.</param>
    /// <param name="steps">T; positive.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public SequenceMask(int batch, int steps)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(steps);
        Batch = batch;
        Steps = steps;
        _kept = new bool[checked(batch * steps)];
        Array.Fill(_kept, true);
    }

    /// <summary>B, the number of sequences.</summary>
    public int Batch { get; }

    /// <summary>T, the number of time steps.</summary>
    public int Steps { get; }

    /// <summary>Whether step <paramref name="t"/> of sequence <paramref name="b"/> is kept.</summary>
    public bool this[int b, int t]
    {
        get => _kept[Index(b, t)];
        set => _kept[Index(b, t)] = value;
    }

    /// <summary>The flags, batch-major: <c>[b·T + t]</c>.</summary>
    public Span<bool> Values => _kept;

    /// <summary>A right-padded batch: sequence b keeps its first <c>lengths[b]</c> steps.</summary>
    /// <param name="lengths">The lengths, each in [0, <paramref name="steps"/>].</param>
    /// <param name="steps">T.</param>
    /// <exception cref="ArgumentOutOfRangeException">A length is outside [0, steps].</exception>
    public static SequenceMask FromLengths(ReadOnlySpan<int> lengths, int steps)
    {
        var m = new SequenceMask(lengths.Length, steps);
        for (int b = 0; b < lengths.Length; b++)
        {
            if ((uint)lengths[b] > (uint)steps)
                throw new ArgumentOutOfRangeException(nameof(lengths), $"lengths[{b}] = {lengths[b]} is outside [0, {steps}].");
            m._kept.AsSpan(b * steps + lengths[b], steps - lengths[b]).Clear();
        }
        return m;
    }

    private int Index(int b, int t)
    {
        if ((uint)b >= (uint)Batch || (uint)t >= (uint)Steps)
            throw new IndexOutOfRangeException($"[{b}, {t}] is outside the mask's [{Batch}, {Steps}].");
        return b * Steps + t;
    }

    /// <summary>Throws unless the mask is <c>[batch, time]</c> of a <c>[batch, time, ·]</c> input.</summary>
    internal void CheckShape(Nn.Simd.Tensors.TensorShape input, string layer)
    {
        if (Batch != input[0] || Steps != input[1])
            throw new ArgumentException($"{layer}: the input mask is [{Batch}, {Steps}] but the input {input} has {input[0]} sequences of {input[1]} steps.", nameof(IMaskConsumer.InputMask));
    }

    /// <inheritdoc/>
    public override string ToString() => $"SequenceMask [{Batch}, {Steps}]";
}

/// <summary>A layer whose output carries a timestep mask to the layers after it (Keras' <c>compute_mask</c>).</summary>
public interface IMaskProducer
{
    /// <summary>The mask of the last output, or null when it has none (for example after a recurrent layer that
    /// returns only its last step).</summary>
    SequenceMask? OutputMask { get; }
}

/// <summary>A layer that takes a timestep mask with its input (Keras' <c>supports_masking</c>): the recurrent layers,
/// <see cref="Bidirectional{T}"/> and <see cref="TimeDistributed{T}"/> (which passes it on). <c>Sequential</c> sets
/// <see cref="InputMask"/> before each forward pass from the <see cref="Masking{T}"/> layer before it.</summary>
public interface IMaskConsumer : IMaskProducer
{
    /// <summary>The mask for the following forward calls, <c>[batch, time]</c> of their input; null for none.</summary>
    SequenceMask? InputMask { get; set; }
}
