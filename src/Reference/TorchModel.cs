using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Nn.Simd.Reference;

/// <summary>
/// A sequential model built in libtorch (TorchSharp) from Keras-layout weights, so it computes the same
/// function as the Nn.Simd model it was copied from.
/// </summary>
/// <remarks>
/// Weight mapping (Keras → torch):
/// <list type="bullet">
/// <item>Dense: <c>weight = Kernelᵀ</c>, <c>bias = Bias</c>.</item>
/// <item>SimpleRNN and LSTM: <c>weight_ih = Kernelᵀ</c>, <c>weight_hh = RecurrentKernelᵀ</c>,
/// <c>bias_ih = Bias</c>, and <c>bias_hh = 0</c> frozen (not trainable), because Keras has one bias and two
/// trainable torch biases would receive the same gradient and move the sum twice as fast.</item>
/// <item>GRU: Keras packs gates as (z, r, h), torch as (r, z, n), so the blocks are reordered;
/// <c>bias_ih</c> = Keras bias row 0 and <c>bias_hh</c> = Keras bias row 1 (reordered), both trainable, which
/// is the same function because <c>reset_after = true</c> keeps the recurrent bias inside the reset product.</item>
/// <item>Conv2D: <c>weight = Kernel.permute(3, 2, 0, 1)</c> (<c>[kh, kw, in, out]</c> → <c>[out, in, kh, kw]</c>),
/// <c>bias = Bias</c>; <c>same</c> padding is an explicit zero pad with TensorFlow's split (the odd row or column
/// after), which torch's symmetric <c>padding</c> cannot express for even kernels or strides above 1.</item>
/// </list>
/// Images enter channels-last <c>[batch, height, width, channels]</c>, as in Nn.Simd. The first Conv2D or
/// MaxPooling2D permutes them to torch's NCHW, and any other layer (Flatten above all) permutes back to NHWC
/// first. Flatten therefore orders each sample's values (h, w, c) as Keras does, and the Dense layer after it
/// maps by the plain transpose, its kernel rows and gradients in Keras order with no reindexing (the alternative,
/// flattening NCHW and permuting the Dense rows, would compute the same function but make every weight and
/// gradient read-back permute too).
/// </remarks>
public sealed class TorchModel : IDisposable
{
    private readonly List<(LayerSpec Spec, nn.Module? Module)> _layers = [];
    private readonly List<Parameter> _trainable = [];

    /// <summary>Builds the model.</summary>
    /// <param name="layers">The layers in order, with their weights.</param>
    public TorchModel(IReadOnlyList<LayerSpec> layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        foreach (var spec in layers)
        {
            switch (spec)
            {
                case DenseSpec d:
                {
                    var lin = nn.Linear(d.InFeatures, d.Units, hasBias: d.Bias is not null);
                    using (no_grad())
                    {
                        lin.weight!.copy_(FromKeras(d.Kernel, d.InFeatures, d.Units).t());
                        if (d.Bias is not null) lin.bias!.copy_(tensor(d.Bias));
                    }
                    _trainable.Add(lin.weight!);
                    if (d.Bias is not null) _trainable.Add(lin.bias!);
                    _layers.Add((d, lin));
                    break;
                }
                case RecurrentSpec r:
                {
                    nn.Module m = r.Kind switch
                    {
                        RecurrentKind.SimpleRnn => nn.RNN(r.InFeatures, r.Units, batchFirst: true),
                        RecurrentKind.Lstm => nn.LSTM(r.InFeatures, r.Units, batchFirst: true),
                        _ => nn.GRU(r.InFeatures, r.Units, batchFirst: true),
                    };
                    var p = m.named_parameters().ToDictionary(t => t.name, t => t.parameter);
                    int g = r.Gates, h = r.Units;
                    using (no_grad())
                    {
                        var w = FromKeras(r.Kernel, r.InFeatures, g * h);
                        var u = FromKeras(r.RecurrentKernel, h, g * h);
                        if (r.Kind == RecurrentKind.Gru)
                        {
                            p["weight_ih_l0"].copy_(GruReorder(w, h).t());
                            p["weight_hh_l0"].copy_(GruReorder(u, h).t());
                            var b = FromKeras(r.Bias, 2, g * h);
                            p["bias_ih_l0"].copy_(GruReorder(b[0].unsqueeze(0), h).squeeze(0));
                            p["bias_hh_l0"].copy_(GruReorder(b[1].unsqueeze(0), h).squeeze(0));
                        }
                        else
                        {
                            p["weight_ih_l0"].copy_(w.t());
                            p["weight_hh_l0"].copy_(u.t());
                            p["bias_ih_l0"].copy_(tensor(r.Bias));
                            p["bias_hh_l0"].zero_();
                        }
                    }
                    if (r.Kind != RecurrentKind.Gru) p["bias_hh_l0"].requires_grad = false;
                    _trainable.Add(p["weight_ih_l0"]);
                    _trainable.Add(p["weight_hh_l0"]);
                    _trainable.Add(p["bias_ih_l0"]);
                    if (r.Kind == RecurrentKind.Gru) _trainable.Add(p["bias_hh_l0"]);
                    _layers.Add((r, m));
                    break;
                }
                case Conv2DSpec c:
                {
                    if (c.Padding is not ("valid" or "same"))
                        throw new ArgumentException($"Conv2D padding must be 'valid' or 'same'; got '{c.Padding}'.", nameof(layers));
                    if (c.Activation is not ("linear" or "" or "relu" or "sigmoid" or "tanh"))
                        throw new ArgumentException($"Conv2D activation '{c.Activation}' is not element-wise (linear, relu, sigmoid, tanh).", nameof(layers));
                    var conv = nn.Conv2d(c.InFeatures, c.Units, (c.KernelHeight, c.KernelWidth), stride: (c.StrideHeight, c.StrideWidth),
                        bias: c.Bias is not null);
                    using (no_grad())
                    {
                        conv.weight!.copy_(FromKeras(c.Kernel, c.KernelHeight * c.KernelWidth * c.InFeatures, c.Units)
                            .reshape(c.KernelHeight, c.KernelWidth, c.InFeatures, c.Units).permute(3, 2, 0, 1));
                        if (c.Bias is not null) conv.bias!.copy_(tensor(c.Bias));
                    }
                    _trainable.Add(conv.weight!);
                    if (c.Bias is not null) _trainable.Add(conv.bias!);
                    _layers.Add((c, conv));
                    break;
                }
                case MaxPooling2DSpec or FlattenSpec:
                    _layers.Add((spec, null));
                    break;
                default:
                    throw new ArgumentException($"Unsupported layer spec {spec.GetType().Name}.", nameof(layers));
            }
        }
    }

    /// <summary>The trainable torch parameters, in layer order.</summary>
    public IReadOnlyList<Parameter> Parameters => _trainable;

    /// <summary>The model's output for <paramref name="x"/> (autograd records it when enabled).</summary>
    /// <param name="x">The input in Nn.Simd's layout (images channels-last).</param>
    /// <returns>The output in Nn.Simd's layout (an image output channels-last).</returns>
    public Tensor Forward(Tensor x)
    {
        var cur = x;
        bool channelsFirst = false;
        foreach (var (spec, module) in _layers)
        {
            if (spec is Conv2DSpec or MaxPooling2DSpec)
            {
                if (!channelsFirst) cur = cur.permute(0, 3, 1, 2);
                channelsFirst = true;
            }
            else if (channelsFirst)
            {
                cur = cur.permute(0, 2, 3, 1);
                channelsFirst = false;
            }
            Tensor next;
            switch (spec)
            {
                case DenseSpec d:
                    next = Activate(((Linear)module!).forward(cur), d.Activation);
                    break;
                case Conv2DSpec c:
                    if (c.Padding == "same")
                    {
                        var (top, bottom) = SamePadding(cur.shape[2], c.KernelHeight, c.StrideHeight);
                        var (left, right) = SamePadding(cur.shape[3], c.KernelWidth, c.StrideWidth);
                        cur = nn.functional.pad(cur, [left, right, top, bottom]);
                    }
                    next = Activate(((Conv2d)module!).forward(cur), c.Activation);
                    break;
                case MaxPooling2DSpec p:
                    next = nn.functional.max_pool2d(cur, [p.PoolHeight, p.PoolWidth], [p.StrideHeight, p.StrideWidth]);
                    break;
                case FlattenSpec:
                    next = cur.reshape(cur.shape[0], -1);
                    break;
                case RecurrentSpec r:
                    Tensor seq = r.Kind switch
                    {
                        RecurrentKind.SimpleRnn => ((RNN)module!).call(cur, null).Item1,
                        RecurrentKind.Lstm => ((LSTM)module!).call(cur, null).Item1,
                        _ => ((GRU)module!).call(cur, null).Item1,
                    };
                    next = r.ReturnSequences ? seq : seq[TensorIndex.Colon, -1, TensorIndex.Colon];
                    break;
                default:
                    throw new InvalidOperationException();
            }
            cur = next;
        }
        return channelsFirst ? cur.permute(0, 2, 3, 1) : cur;
    }

    /// <summary>TensorFlow's <c>same</c> padding along one axis: <c>ceil(n/s)</c> outputs, the total padding
    /// <c>max((out − 1)·s + k − n, 0)</c> split with the odd one after.</summary>
    private static (long Before, long After) SamePadding(long size, int kernel, int stride)
    {
        long outputs = (size + stride - 1) / stride;
        long total = Math.Max((outputs - 1) * stride + kernel - size, 0);
        return (total / 2, total - total / 2);
    }

    /// <summary>The weights converted back to Keras layout, in the same order as the Nn.Simd layers' parameters
    /// (Dense and Conv2D: kernel, bias; SimpleRNN/LSTM/GRU: kernel, recurrent_kernel, bias; pooling and Flatten: none).</summary>
    public IReadOnlyList<float[]> GetKerasWeights() => KerasTensors(grad: false);

    /// <summary>The gradients of the last backward pass, in Keras layout and parameter order.
    /// For SimpleRNN and LSTM the bias gradient is <c>∂/∂bias_ih</c> (equal to <c>∂/∂bias_hh</c>).</summary>
    public IReadOnlyList<float[]> GetKerasGradients() => KerasTensors(grad: true);

    private List<float[]> KerasTensors(bool grad)
    {
        var result = new List<float[]>();
        Tensor Get(Tensor p) => grad ? (p.grad ?? zeros_like(p)) : p;
        foreach (var (spec, module) in _layers)
        {
            using var scope = NewDisposeScope();
            switch (spec)
            {
                case DenseSpec d:
                {
                    var lin = (Linear)module!;
                    result.Add(ToArray(Get(lin.weight!).t()));
                    if (d.Bias is not null) result.Add(ToArray(Get(lin.bias!)));
                    break;
                }
                case Conv2DSpec c:
                {
                    var conv = (Conv2d)module!;
                    result.Add(ToArray(Get(conv.weight!).permute(2, 3, 1, 0)));
                    if (c.Bias is not null) result.Add(ToArray(Get(conv.bias!)));
                    break;
                }
                case RecurrentSpec r:
                {
                    var p = module!.named_parameters().ToDictionary(t => t.name, t => t.parameter);
                    int h = r.Units;
                    if (r.Kind == RecurrentKind.Gru)
                    {
                        result.Add(ToArray(GruReorder(Get(p["weight_ih_l0"]).t(), h)));
                        result.Add(ToArray(GruReorder(Get(p["weight_hh_l0"]).t(), h)));
                        var bi = GruReorder(Get(p["bias_ih_l0"]).unsqueeze(0), h);
                        var bh = GruReorder(Get(p["bias_hh_l0"]).unsqueeze(0), h);
                        result.Add(ToArray(cat([bi, bh], 0)));
                    }
                    else
                    {
                        result.Add(ToArray(Get(p["weight_ih_l0"]).t()));
                        result.Add(ToArray(Get(p["weight_hh_l0"]).t()));
                        var b = Get(p["bias_ih_l0"]);
                        if (!grad) b = b + p["bias_hh_l0"];
                        result.Add(ToArray(b));
                    }
                    break;
                }
            }
        }
        return result;
    }

    /// <summary>Clears the gradients of every trainable parameter.</summary>
    public void ZeroGrad()
    {
        foreach (var p in _trainable)
            p.grad?.zero_();
    }

    /// <summary>Applies a Keras activation by name.</summary>
    public static Tensor Activate(Tensor z, string activation) => activation switch
    {
        "linear" or "" => z,
        "relu" => nn.functional.relu(z),
        "sigmoid" => sigmoid(z),
        "tanh" => tanh(z),
        "softmax" => softmax(z, -1),
        _ => throw new ArgumentException($"The reference engine has no activation '{activation}'.", nameof(activation)),
    };

    /// <summary>Swaps the first two gate blocks along the last axis: Keras (z, r, h) ↔ torch (r, z, n). Its own inverse.</summary>
    private static Tensor GruReorder(Tensor m, int h)
    {
        var blocks = m.split([h, h, h], -1);
        return cat([blocks[1], blocks[0], blocks[2]], -1);
    }

    private static Tensor FromKeras(float[] data, int rows, int cols)
    {
        if (data.Length != rows * cols)
            throw new ArgumentException($"Weight array has {data.Length} elements but [{rows}, {cols}] was expected.", nameof(data));
        return tensor(data, [rows, cols]);
    }

    /// <summary>Copies a tensor's values into a new row-major float array.</summary>
    public static float[] ToArray(Tensor t) => t.detach().contiguous().to_type(ScalarType.Float32).data<float>().ToArray();

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var (_, m) in _layers) m?.Dispose();
        _layers.Clear();
    }
}
