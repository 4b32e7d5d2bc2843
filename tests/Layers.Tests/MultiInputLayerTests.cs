using Nn.Simd.Tensors;

namespace Nn.Simd.Layers.Tests;

/// <summary>The plumbing every multi-input layer shares (<see cref="MultiInputLayer{T}"/>, <see cref="AttentionBase{T}"/>):
/// default names, the exact messages of the backward checks, and the order of the constructor checks.</summary>
public class MultiInputLayerTests
{
    public static TheoryData<string> Kinds => ["add", "attention", "multi_head_attention"];

    private static IMergeLayer<float> Create(string kind) => kind switch
    {
        "add" => new Add<float>(),
        "attention" => new Attention<float>(seed: 1),
        _ => new MultiHeadAttention<float>(numHeads: 2, keyDim: 3, seed: 1),
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void DefaultName_IsTypeNameAndACount_UniquePerLayer(string kind)
    {
        var a = Create(kind);
        var b = Create(kind);
        Assert.Matches($"^{a.TypeName}_[0-9]+$", a.Name);
        Assert.Matches($"^{b.TypeName}_[0-9]+$", b.Name);
        Assert.NotEqual(a.Name, b.Name);
        Assert.Equal($"{a.Name} ({kind})", a.ToString());
        Assert.Throws<ArgumentException>(() => a.Name = " ");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Backward_ChecksItsArgument_WithMessagesNamingLayerAndShapes(string kind)
    {
        var layer = Create(kind);
        layer.Name = "m";
        var before = Assert.Throws<InvalidOperationException>(() => layer.Backward(new Tensor<float>(2, 3, 4)));
        Assert.Equal("m: Backward was called before Forward.", before.Message);

        var x = Tensor<float>.RandomNormal(new TensorShape(2, 3, 4), seed: 5);
        var y = layer.Forward([x, x], training: false);
        Assert.Equal(new TensorShape(2, 3, 4), y.Shape);
        var wrong = Assert.Throws<ArgumentException>(() => layer.Backward(new Tensor<float>(2, 3, 5)));
        Assert.Equal("dOutput", wrong.ParamName);
        Assert.StartsWith($"m: dOutput has shape {new TensorShape(2, 3, 5)} but the last output was {y.Shape}.", wrong.Message);
        Assert.Equal("dOutput", Assert.Throws<ArgumentNullException>(() => layer.Backward(null!)).ParamName);
        Assert.Equal(2, layer.Backward(new Tensor<float>(y.Shape)).Count);
    }

    [Fact]
    public void AttentionConstructors_CheckDropout_AndMultiHeadAttentionChecksSizesFirst()
    {
        Assert.Equal("dropout", Assert.Throws<ArgumentOutOfRangeException>(() => new Attention<float>(dropout: 1)).ParamName);
        Assert.Equal("dropout", Assert.Throws<ArgumentOutOfRangeException>(() => new AdditiveAttention<float>(dropout: -0.1)).ParamName);
        Assert.Equal("dropout", Assert.Throws<ArgumentOutOfRangeException>(() => new MultiHeadAttention<float>(1, 1, dropout: 1)).ParamName);
        Assert.Equal("numHeads", Assert.Throws<ArgumentOutOfRangeException>(() => new MultiHeadAttention<float>(0, 1, dropout: 1)).ParamName);
        Assert.Equal("outputShape", Assert.Throws<ArgumentOutOfRangeException>(
            () => new MultiHeadAttention<float>(1, 1, outputShape: 0, dropout: 1)).ParamName);
    }
}
