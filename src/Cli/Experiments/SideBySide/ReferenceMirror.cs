using Nn.Simd.Layers;
using Nn.Simd.Reference;
using Nn.Simd.Tensors;
using Nn.Simd.Training;

namespace Nn.Simd.Cli.Experiments.SideBySide;

/// <summary>
/// Describes a built Nn.Simd model as reference-engine layer specs carrying copies of its current Keras-layout
/// weights, so <see cref="TorchModel"/> starts from exactly the same weights.
/// </summary>
internal static class ReferenceMirror
{
    /// <summary>The Dense activations <see cref="TorchModel.Activate"/> knows.</summary>
    private static readonly HashSet<string> SupportedDenseActivations = ["linear", "relu", "sigmoid", "tanh", "softmax"];

    /// <summary>The Conv2D activations the reference applies (element-wise ones: torch runs them on NCHW).</summary>
    private static readonly HashSet<string> SupportedConvActivations = ["linear", "relu", "sigmoid", "tanh"];

    /// <summary>The specs for <paramref name="model"/> (Dense, SimpleRNN, LSTM, GRU (<c>reset_after</c>), Conv2D (undilated),
    /// MaxPooling2D (<c>valid</c>) and Flatten layers).</summary>
    /// <exception cref="ArgumentException">The model is not built, or holds a layer the reference engine lacks.</exception>
    public static IReadOnlyList<LayerSpec> Specs(Sequential<float> model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!model.IsBuilt) throw new ArgumentException("Build the model before mirroring it.", nameof(model));
        var specs = new List<LayerSpec>();
        var shape = new TensorShape([1, .. model.InputShape!.Value.ToArray()]);
        foreach (var layer in model.Layers)
        {
            switch (layer)
            {
                // The reference's Conv2DSpec has no dilation: a dilated Conv2D falls to "no reference counterpart".
                case Conv2D<float> c when SupportedConvActivations.Contains(c.Activation.Name) && c.DilationRate == (1, 1):
                    specs.Add(new Conv2DSpec(shape[-1], c.Filters, c.KernelSize.Height, c.KernelSize.Width, c.Strides.Height, c.Strides.Width,
                        c.Padding, c.Activation.Name, c.Kernel.Value.ToArray(), c.Bias?.Value.ToArray()));
                    break;
                case MaxPooling2D<float> p when p.Padding == "valid":
                    specs.Add(new MaxPooling2DSpec(shape[-1], p.PoolSize.Height, p.PoolSize.Width, p.Strides.Height, p.Strides.Width));
                    break;
                case Flatten<float> f:
                    specs.Add(new FlattenSpec(f.ComputeOutputShape(shape)[1]));
                    break;
                case Dense<float> d when SupportedDenseActivations.Contains(d.Activation.Name):
                    specs.Add(new DenseSpec(d.Kernel.Value.Shape[0], d.Units, d.Activation.Name, d.Kernel.Value.ToArray(),
                        d.Bias?.Value.ToArray()));
                    break;
                case RecurrentLayer<float> r when r.Activation.Name == "tanh" && !r.GoBackwards && !r.Stateful && !r.ReturnState:
                {
                    RecurrentKind kind = r switch
                    {
                        SimpleRnn<float> => RecurrentKind.SimpleRnn,
                        Lstm<float> l when l.RecurrentActivation.Name == "sigmoid" => RecurrentKind.Lstm,
                        Gru<float> g when g.RecurrentActivation.Name == "sigmoid" && g.ResetAfter => RecurrentKind.Gru,
                        _ => throw new ArgumentException($"Layer '{r.Name}' ({r.GetType().Name}) has no reference counterpart.", nameof(model)),
                    };
                    var p = r.Parameters;
                    if (p.Count != 3)
                        throw new ArgumentException($"Layer '{r.Name}' has {p.Count} parameters; the reference needs kernel, recurrent kernel and bias.", nameof(model));
                    specs.Add(new RecurrentSpec(kind, p[0].Value.Shape[0], r.Units, r.ReturnSequences,
                        p[0].Value.ToArray(), p[1].Value.ToArray(), p[2].Value.ToArray()));
                    break;
                }
                default:
                    throw new ArgumentException($"Layer '{layer.Name}' ({layer.GetType().Name}) has no reference counterpart.", nameof(model));
            }
            shape = layer.ComputeOutputShape(shape);
        }
        return specs;
    }
}
