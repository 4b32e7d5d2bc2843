using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Tensors.Tests;

/// <summary>The new activation kernels reject short destinations, mismatched gradients and partial overlap, naming the argument.</summary>
public class ActivationKernelArgumentTests
{
    private delegate void Unary(float[] x, float[] destination);
    private delegate void Binary(float[] x, float[] dy, float[] dx);

    public static TheoryData<string> Kernels() => ["elu", "selu", "silu", "softplus", "softsign", "mish", "relu6", "hard_sigmoid", "hard_silu"];

    private static (Unary Forward, Binary Backward) Get(string name) => name switch
    {
        "elu" => ((x, d) => Elementwise.Elu<float>(x, 1f, d), (x, g, d) => Elementwise.EluBackward<float>(x, g, 1f, d)),
        "selu" => ((x, d) => Elementwise.Selu<float>(x, d), (x, g, d) => Elementwise.SeluBackward<float>(x, g, d)),
        "silu" => ((x, d) => Elementwise.Silu<float>(x, d), (x, g, d) => Elementwise.SiluBackward<float>(x, g, d)),
        "softplus" => ((x, d) => Elementwise.Softplus<float>(x, d), (x, g, d) => Elementwise.SoftplusBackward<float>(x, g, d)),
        "softsign" => ((x, d) => Elementwise.Softsign<float>(x, d), (x, g, d) => Elementwise.SoftsignBackward<float>(x, g, d)),
        "mish" => ((x, d) => Elementwise.Mish<float>(x, d), (x, g, d) => Elementwise.MishBackward<float>(x, g, d)),
        "relu6" => ((x, d) => Elementwise.Relu6<float>(x, d), (y, g, d) => Elementwise.Relu6Backward<float>(y, g, d)),
        "hard_sigmoid" => ((x, d) => Elementwise.HardSigmoid<float>(x, d), (x, g, d) => Elementwise.HardSigmoidBackward<float>(x, g, d)),
        "hard_silu" => ((x, d) => Elementwise.HardSilu<float>(x, d), (x, g, d) => Elementwise.HardSiluBackward<float>(x, g, d)),
        _ => throw new ArgumentException(name, nameof(name)),
    };

    [Theory]
    [MemberData(nameof(Kernels))]
    public void Kernels_RejectBadArguments_NamingThem(string name)
    {
        var (forward, backward) = Get(name);
        var ex = Assert.Throws<ArgumentException>(() => forward(new float[9], new float[8]));
        Assert.Equal("destination", ex.ParamName);
        ex = Assert.Throws<ArgumentException>(() => backward(new float[9], new float[8], new float[9]));
        Assert.Equal("dy", ex.ParamName);
        ex = Assert.Throws<ArgumentException>(() => backward(new float[9], new float[9], new float[5]));
        Assert.Equal("dx", ex.ParamName);
        Assert.Contains("9", ex.Message);
        float[] buffer = new float[20];
        ex = Assert.Throws<ArgumentException>(() => Elementwise.Silu<float>(buffer.AsSpan(0, 10), buffer.AsSpan(3, 10)));
        Assert.Equal("destination", ex.ParamName);
        // The destination may be longer than the input; only the first elements are written.
        float[] longer = Enumerable.Repeat(7f, 12).ToArray();
        forward(new float[10], longer);
        Assert.Equal([7f, 7f], longer[10..]);
    }
}
