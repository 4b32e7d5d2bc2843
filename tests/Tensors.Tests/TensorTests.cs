using Nn.Simd.Tensors;

namespace Nn.Simd.Tensors.Tests;

public class TensorTests
{
    [Fact]
    public void Shape_PrependAndDropFirst_AddAndRemoveTheFirstAxis()
    {
        Assert.Equal(new TensorShape(64, 28, 28, 1), new TensorShape(28, 28, 1).Prepend(64));
        Assert.Equal(new TensorShape(28, 28, 1), new TensorShape(64, 28, 28, 1).DropFirst());
        Assert.Equal(new TensorShape(5), new TensorShape(3, 5).DropFirst());
        Assert.Contains("[2, 3, 4, 5]", Assert.Throws<ArgumentException>(() => new TensorShape(2, 3, 4, 5).Prepend(1)).Message);
        Assert.Throws<InvalidOperationException>(() => new TensorShape(7).DropFirst());
    }

    [Fact]
    public void Reshape_SharesStorage()
    {
        var t = Tensor<float>.FromArray([1, 2, 3, 4, 5, 6], 2, 3);
        var r = t.Reshape(3, -1);
        Assert.Equal(new TensorShape(3, 2), r.Shape);
        r[5] = 60;
        Assert.Equal(60f, t[1, 2]);
    }

    [Fact]
    public void Slice_IsViewAlongFirstAxis()
    {
        var t = Tensor<double>.FromArray([1, 2, 3, 4, 5, 6, 7, 8], 4, 2);
        var s = t.Slice(1, 2);
        Assert.Equal(new TensorShape(2, 2), s.Shape);
        Assert.Equal([3.0, 4, 5, 6], s.ToArray());
        s[0] = -3;
        Assert.Equal(-3.0, t[1, 0]);
    }

    [Fact]
    public void Storage_Is64ByteAligned()
    {
        for (int n = 1; n < 40; n++)
        {
            var t = new Tensor<float>(n);
            unsafe
            {
                fixed (float* p = t.Span) Assert.Equal(0, (long)p % 64);
            }
        }
    }

    [Fact]
    public void Reshape_WrongLength_NamesBothShapes()
    {
        var t = new Tensor<float>(2, 3);
        var ex = Assert.Throws<ArgumentException>(() => t.Reshape(4, 2));
        Assert.Contains("[2, 3]", ex.Message);
        Assert.Contains("[4, 2]", ex.Message);
    }

    [Fact]
    public void FromArray_LengthMismatch_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor<float>.FromArray([1, 2, 3], 2, 2));
        Assert.Equal("data", ex.ParamName);
        Assert.Contains("[2, 2]", ex.Message);
    }

    [Fact]
    public void ToString_ShowsShapeAndFirstValues()
    {
        var t = Tensor<float>.FromArray([1, 2.5f, 3], 3);
        Assert.Equal("Tensor<Single>[3] [1, 2.5, 3]", t.ToString());
    }

    [Fact]
    public void Random_IsSeeded()
    {
        var a = Tensor<float>.RandomNormal(new TensorShape(5, 7), seed: 42);
        var b = Tensor<float>.RandomNormal(new TensorShape(5, 7), seed: 42);
        Assert.Equal(a.ToArray(), b.ToArray());
    }

    [Fact]
    public void Tolerance_ReportsWorstIndex()
    {
        var r = Tolerance.Compare<double>([1, 2, 3], [1, 2.1, 3], 1e-6, 1e-6);
        Assert.False(r.Passed);
        Assert.Equal(1, r.WorstIndex);
    }
}
