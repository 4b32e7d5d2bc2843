namespace Nn.Simd.Reference;

/// <summary>The recurrent cell types the reference engine can build.</summary>
public enum RecurrentKind
{
    /// <summary>Elman RNN, Keras <c>SimpleRNN</c> / torch <c>nn.RNN</c>.</summary>
    SimpleRnn,
    /// <summary>Keras <c>LSTM</c> / torch <c>nn.LSTM</c> (gate order i, f, c(g), o in both).</summary>
    Lstm,
    /// <summary>Keras <c>GRU(reset_after=True)</c> / torch <c>nn.GRU</c>.</summary>
    Gru,
}

/// <summary>One layer of a reference model, with its weights in Keras layout (row-major float arrays).</summary>
/// <param name="InFeatures">F, the input features.</param>
/// <param name="Units">H, the output features.</param>
public abstract record LayerSpec(int InFeatures, int Units);

/// <summary>A Dense layer: <c>y = activation(x·Kernel + Bias)</c>.</summary>
/// <param name="InFeatures">F.</param>
/// <param name="Units">H.</param>
/// <param name="Activation">linear, relu, sigmoid, tanh or softmax.</param>
/// <param name="Kernel">[F, H].</param>
/// <param name="Bias">[H], or null for no bias.</param>
public sealed record DenseSpec(int InFeatures, int Units, string Activation, float[] Kernel, float[]? Bias)
    : LayerSpec(InFeatures, Units);

/// <summary>A recurrent layer over <c>[batch, time, features]</c>.</summary>
/// <param name="Kind">The cell type.</param>
/// <param name="InFeatures">F.</param>
/// <param name="Units">H.</param>
/// <param name="ReturnSequences">Output every step <c>[B, T, H]</c> rather than the last <c>[B, H]</c>.</param>
/// <param name="Kernel">[F, G·H] with G = 1, 4 or 3.</param>
/// <param name="RecurrentKernel">[H, G·H].</param>
/// <param name="Bias">[G·H] for SimpleRNN and LSTM; [2, 3H] (input row, recurrent row) for GRU.</param>
public sealed record RecurrentSpec(RecurrentKind Kind, int InFeatures, int Units, bool ReturnSequences,
    float[] Kernel, float[] RecurrentKernel, float[] Bias) : LayerSpec(InFeatures, Units)
{
    /// <summary>The number of gates G.</summary>
    public int Gates => Kind switch { RecurrentKind.Lstm => 4, RecurrentKind.Gru => 3, _ => 1 };
}
