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

/// <summary>
/// A 2-D convolution over channels-last images <c>[batch, height, width, channels]</c>:
/// <c>y[n, oy, ox, f] = activation(Σ x[n, oy·sh − pt + i, ox·sw − pl + j, c]·Kernel[i, j, c, f] + Bias[f])</c>.
/// </summary>
/// <param name="InFeatures">C, the input channels.</param>
/// <param name="Units">F, the filters (output channels).</param>
/// <param name="KernelHeight">kh.</param>
/// <param name="KernelWidth">kw.</param>
/// <param name="StrideHeight">sh.</param>
/// <param name="StrideWidth">sw.</param>
/// <param name="Padding"><c>valid</c> or <c>same</c> (Keras': the padding a stride leaves over is split with the
/// extra row or column after, as TensorFlow pads).</param>
/// <param name="Activation">An element-wise activation: linear, relu, sigmoid or tanh.</param>
/// <param name="Kernel">[kh, kw, C, F].</param>
/// <param name="Bias">[F], or null for no bias.</param>
public sealed record Conv2DSpec(int InFeatures, int Units, int KernelHeight, int KernelWidth, int StrideHeight, int StrideWidth,
    string Padding, string Activation, float[] Kernel, float[]? Bias) : LayerSpec(InFeatures, Units);

/// <summary>Keras' <c>MaxPooling2D</c> with <c>valid</c> padding over channels-last images:
/// <c>y[n, oy, ox, c] = max over i &lt; ph, j &lt; pw of x[n, oy·sh + i, ox·sw + j, c]</c>.</summary>
/// <param name="Channels">C (in and out).</param>
/// <param name="PoolHeight">ph.</param>
/// <param name="PoolWidth">pw.</param>
/// <param name="StrideHeight">sh.</param>
/// <param name="StrideWidth">sw.</param>
public sealed record MaxPooling2DSpec(int Channels, int PoolHeight, int PoolWidth, int StrideHeight, int StrideWidth)
    : LayerSpec(Channels, Channels);

/// <summary>Keras' <c>Flatten</c>: each sample's values in channels-last (row-major <c>[h, w, c]</c>) order.</summary>
/// <param name="Units">The values per sample (the same on both sides: flattening moves no value).</param>
public sealed record FlattenSpec(int Units) : LayerSpec(Units, Units);
