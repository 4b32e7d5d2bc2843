using Nn.Simd.Tensors;
using Nn.Simd.Training;

namespace Nn.Simd.Layers.Tests;

/// <summary>TimeDistributed against its definition (the wrapped layer applied to each time slice on its own), finite
/// differences, masks, freezing, bad shapes and allocation.</summary>
public class TimeDistributedTests
{
    /// <summary>Time slice t of x [B, T, S] as its own tensor [B, S].</summary>
    private static Tensor<TT> SliceAt<TT>(Tensor<TT> x, int t) where TT : unmanaged, System.Numerics.IFloatingPointIeee754<TT>
    {
        var s = x.Shape;
        int b = s[0], steps = s[1], per = x.Length / (b * steps);
        var dims = s.ToArray().Where((_, i) => i != 1).ToArray();
        var slice = new Tensor<TT>(dims);
        for (int n = 0; n < b; n++) x.ReadOnlySpan.Slice((n * steps + t) * per, per).CopyTo(slice.Span.Slice(n * per, per));
        return slice;
    }

    /// <summary>Writes a slice [B, S'] back as time step t of y [B, T, S'].</summary>
    private static void PutAt<TT>(Tensor<TT> slice, Tensor<TT> y, int t) where TT : unmanaged, System.Numerics.IFloatingPointIeee754<TT>
    {
        int b = y.Shape[0], steps = y.Shape[1], per = y.Length / (b * steps);
        for (int n = 0; n < b; n++) slice.ReadOnlySpan.Slice(n * per, per).CopyTo(y.Span.Slice((n * steps + t) * per, per));
    }

    /// <summary>The reference: the wrapped layer run on each time slice by itself (forward and backward), its parameter
    /// gradients summed over the slices.</summary>
    private static (float[] Y, float[] Dx, float[][] Grads) SliceBySlice(ILayer<float> inner, Tensor<float> x, Tensor<float> dy)
    {
        foreach (var p in inner.Parameters) p.Grad.Clear();
        int steps = x.Shape[1];
        var y = new Tensor<float>(dy.Shape);
        var dx = new Tensor<float>(x.Shape);
        for (int t = 0; t < steps; t++)
        {
            PutAt(inner.Forward(SliceAt(x, t), training: true), y, t);
            PutAt(inner.Backward(SliceAt(dy, t)), dx, t);
        }
        return (y.ToArray(), dx.ToArray(), inner.Parameters.Select(p => p.Grad.ToArray()).ToArray());
    }

    /// <summary>Dense over the folded [B·T, F] rows is the same GEMM row by row as Dense over each [B, F] slice: each
    /// output and input-gradient element is one FMA chain over F (or H) in the same order, so those are bitwise equal.
    /// The kernel and bias gradients sum over all B·T rows, in one GEMM / column sum here and slice after slice in the
    /// reference: the same terms in another order, so equal to rounding.</summary>
    [Theory]
    [InlineData("linear")]
    [InlineData("tanh")]
    public void Dense_IsTheDenseLayerAtEveryStep_Bitwise(string activation)
    {
        var x = Tensor<float>.RandomNormal(new TensorShape(3, 5, 7), seed: 1);
        var inner = new Dense<float>(6, activation);
        var td = new TimeDistributed<float>(inner);
        td.Build(x.Shape, 4);
        RnnTestUtil.Randomize(td, 2);
        var y = td.Forward(x, training: true);
        Assert.Equal(new TensorShape(3, 5, 6), y.Shape);
        var yTd = y.ToArray();
        var dy = Tensor<float>.RandomNormal(y.Shape, seed: 3);
        var dxTd = td.Backward(dy).ToArray();
        var gradsTd = td.Parameters.Select(p => p.Grad.ToArray()).ToArray();

        var (yRef, dxRef, gradsRef) = SliceBySlice(inner, x, dy);
        Assert.Equal(yRef, yTd);
        Assert.Equal(dxRef, dxTd);
        for (int i = 0; i < gradsRef.Length; i++)
        {
            var r = Tolerance.Compare<float>(gradsRef[i], gradsTd[i], 1e-5, 1e-6);
            Assert.True(r.Passed, $"{td.Parameters[i].Name}: {r}");
        }
    }

    /// <summary>Rank 4: a Conv1D over each step's [steps', channels] ([B, T, S, C] folded to [B·T, S, C]). The
    /// convolution runs sample by sample, so outputs and input gradients are again bitwise those of the slices.</summary>
    [Fact]
    public void Conv1D_OverRank4Steps_IsTheConvolutionAtEveryStep()
    {
        var x = Tensor<float>.RandomNormal(new TensorShape(2, 4, 9, 3), seed: 5);
        var inner = new Conv1D<float>(5, 3, padding: "same", activation: "relu", dilationRate: 2);
        var td = new TimeDistributed<float>(inner);
        td.Build(x.Shape, 1);
        RnnTestUtil.Randomize(td, 6);
        var y = td.Forward(x, training: true);
        Assert.Equal(new TensorShape(2, 4, 9, 5), y.Shape);
        var yTd = y.ToArray();
        var dy = Tensor<float>.RandomNormal(y.Shape, seed: 7);
        var dxTd = td.Backward(dy).ToArray();
        var gradsTd = td.Parameters.Select(p => p.Grad.ToArray()).ToArray();
        var (yRef, dxRef, gradsRef) = SliceBySlice(inner, x, dy);
        Assert.Equal(yRef, yTd);
        Assert.Equal(dxRef, dxTd);
        for (int i = 0; i < gradsRef.Length; i++)
        {
            var r = Tolerance.Compare<float>(gradsRef[i], gradsTd[i], 1e-5, 1e-5);
            Assert.True(r.Passed, $"{td.Parameters[i].Name}: {r}");
        }
    }

    public static TheoryData<string> Wrapped => ["dense", "conv1d", "lstm", "flatten", "nested"];

    [Theory]
    [MemberData(nameof(Wrapped))]
    public void Backward_MatchesFiniteDifferences(string which)
    {
        (ILayer<double> inner, TensorShape shape) = which switch
        {
            "dense" => ((ILayer<double>)new Dense<double>(4, "tanh"), new TensorShape(2, 3, 5)),
            "conv1d" => (new Conv1D<double>(3, 2, padding: "causal", activation: "tanh"), new TensorShape(2, 3, 5, 2)),
            "lstm" => (new Lstm<double>(3), new TensorShape(2, 3, 4, 2)),
            "flatten" => (new Flatten<double>(), new TensorShape(2, 3, 2, 3)),
            _ => (new TimeDistributed<double>(new Dense<double>(3, "sigmoid")), new TensorShape(2, 3, 2, 4)),
        };
        var td = new TimeDistributed<double>(inner);
        var x = Tensor<double>.RandomNormal(shape, seed: 11);
        td.Build(x.Shape, 1);
        RnnTestUtil.Randomize(td, 12);
        var report = GradientCheck.Check(td, x);
        Assert.True(report.Passed, $"{which}: {report}");
        Assert.Equal(inner.Parameters.Count + 1, report.Tensors.Count);
    }

    [Fact]
    public void BadInputs_AreRejectedWithTheShapes()
    {
        var td = new TimeDistributed<float>(new Dense<float>(3));
        var e = Assert.Throws<ArgumentException>(() => td.Forward(new Tensor<float>(4, 5), false));
        Assert.Equal("input", e.ParamName);
        Assert.Contains("[4, 5]", e.Message);
        Assert.Contains("rank 3 or 4", e.Message);
        Assert.False(td.IsBuilt);
        Assert.Throws<ArgumentException>(() => td.ComputeOutputShape(new TensorShape(4)));
        Assert.Throws<ArgumentNullException>(() => new TimeDistributed<float>(null!));

        // Steps [2, 6] reshaped to [2, 2, 3] would make the output [B, T, 2, 2, 3]: rank 5.
        var tooDeep = new TimeDistributed<float>(new Reshape<float>(2, 2, 3));
        e = Assert.Throws<ArgumentException>(() => tooDeep.Forward(new Tensor<float>(1, 4, 2, 6), false));
        Assert.Contains("rank 5", e.Message);

        // Built for 5 features per step; the time axis may change, the features may not.
        td.Build(new TensorShape(2, 4, 5), 1);
        Assert.Equal(new TensorShape(2, 9, 3), td.Forward(new Tensor<float>(2, 9, 5), false).Shape);
        Assert.Throws<ArgumentException>(() => td.Forward(new Tensor<float>(2, 4, 6), false));

        // A mask must be [batch, time] of the input.
        td.InputMask = new SequenceMask(2, 3);
        e = Assert.Throws<ArgumentException>(() => td.Forward(new Tensor<float>(2, 4, 5), false));
        Assert.Contains("[2, 3]", e.Message);
    }

    /// <summary>A stateful recurrent layer would see the folded batch [B·T, a, b] and keep one state per (sample, step)
    /// from call to call; Build rejects it, bare or inside a Bidirectional, and the model's Build names the layer. The
    /// same layer with stateful: false is fine.</summary>
    [Fact]
    public void StatefulRecurrentLayer_IsRejectedAtBuild()
    {
        var shape = new TensorShape(2, 3, 4, 5);   // [batch, time, steps per sequence, features]
        var td = new TimeDistributed<float>(new Lstm<float>(6, stateful: true) { Name = "memory" });
        var e = Assert.Throws<ArgumentException>(() => td.Build(shape, 1));
        Assert.Equal("inputShape", e.ParamName);
        Assert.Contains("stateful recurrent layer memory", e.Message);
        Assert.Contains("2·3 = 6 rows", e.Message);
        Assert.False(td.IsBuilt);
        Assert.False(td.Layer.IsBuilt);
        Assert.Throws<ArgumentException>(() => td.Forward(new Tensor<float>(shape), training: false));

        var bi = new TimeDistributed<float>(new Bidirectional<float>(new Gru<float>(2, stateful: true) { Name = "g" }));
        Assert.Contains("stateful recurrent layer forward_g", Assert.Throws<ArgumentException>(() => bi.Build(shape, 1)).Message);

        var model = new Sequential(new TimeDistributed<float>(new SimpleRnn<float>(3, stateful: true)) { Name = "td" });
        e = Assert.Throws<ArgumentException>(() => model.Build(3, 4, 5));
        Assert.Contains("Layer 0 'td'", e.Message);
        Assert.Contains("stateful", e.Message);

        var stateless = new TimeDistributed<float>(new Lstm<float>(6));
        stateless.Build(shape, 1);
        Assert.Equal(new TensorShape(2, 3, 6), stateless.Forward(new Tensor<float>(shape), training: false).Shape);
    }

    /// <summary>As Keras 3 (supports_masking, no compute_mask of its own): the mask passes through unchanged, and the
    /// wrapped layer still runs on the masked steps.</summary>
    [Fact]
    public void Mask_PassesThroughUnchanged_AndMaskedStepsAreStillComputed()
    {
        var x = Tensor<float>.RandomNormal(new TensorShape(2, 4, 3), seed: 1);
        var td = new TimeDistributed<float>(new Dense<float>(2, useBias: false));
        var unmasked = td.Forward(x, false).ToArray();
        var mask = SequenceMask.FromLengths([2, 4], 4);
        td.InputMask = mask;
        var y = td.Forward(x, false);
        Assert.Same(mask, td.OutputMask);
        Assert.Equal(unmasked, y.ToArray());
        td.InputMask = null;
        Assert.Null(td.OutputMask);
    }

    [Fact]
    public void Parameters_AreTheWrappedLayers_AndFreezingTheWrapperFreezesThem()
    {
        var inner = new Dense<float>(3);
        var td = new TimeDistributed<float>(inner) { Trainable = false };
        var x = Tensor<float>.RandomNormal(new TensorShape(2, 3, 4), seed: 1);
        td.Build(x.Shape, 1);
        Assert.Equal(inner.Parameters, td.Parameters);
        Assert.All(td.Parameters, p => Assert.False(p.Trainable));
        Assert.False(inner.Trainable);
        td.Forward(x, true);
        td.Backward(Tensor<float>.Ones(2, 3, 3));
        Assert.All(inner.Parameters, p => Assert.All(p.Grad.ToArray(), g => Assert.Equal(0f, g)));
        td.Trainable = true;
        Assert.True(inner.Kernel.Trainable);
        Assert.Equal("dense", td.GetConfig()["layer"]);
        Assert.Equal("3", td.GetConfig()["layer.units"]);
    }

    [Fact]
    public void Steps_DoNotAllocate_AfterTheFirst()
    {
        foreach (var (inner, shape) in new (ILayer<float>, TensorShape)[]
                 {
                     (new Dense<float>(8, "relu"), new TensorShape(4, 6, 5)),
                     (new Flatten<float>(), new TensorShape(4, 6, 3, 2)),
                 })
        {
            var td = new TimeDistributed<float>(inner);
            var x = Tensor<float>.RandomNormal(shape, seed: 1);
            var dy = Tensor<float>.RandomNormal(td.ComputeOutputShape(shape), seed: 2);
            Tensor<float>? y = null, dx = null;
            SteadyState.AssertAllocatesNothing(() => { y = td.Forward(x, true); dx = td.Backward(dy); });
            Assert.Equal(shape, dx!.Shape);
            Assert.Equal(dy.Shape, y!.Shape);
        }
    }
}
