using Nn.Simd.Tensors;
using Nn.Simd.Training.Optimizers;

namespace Nn.Simd.Training.Tests;

/// <summary>Tests that change the process-wide <see cref="Parallelism.MaxDegree"/> run alone.</summary>
[CollectionDefinition(nameof(GlobalParallelism), DisableParallelization = true)]
public sealed class GlobalParallelism;

[Collection(nameof(GlobalParallelism))]
public class DeterminismTests
{
    private static float[][] Train(int seed, int threads)
    {
        var (x, y, _) = TestData.Blobs(120, 11);
        var model = TestData.SmallMlp(seed);
        model.Threads = threads;
        model.Compile("sparse_categorical_crossentropy", new Adam(0.01), "accuracy");
        model.Fit(x, y, epochs: 3, batchSize: 16, validationSplit: 0.1);
        return model.Parameters.Select(p => p.Value.ToArray()).ToArray();
    }

    [Fact]
    public void SameSeed_GivesBitwiseIdenticalWeights_AtOneAndTwoThreads()
    {
        int saved = Parallelism.MaxDegree;
        var one = Train(42, 1);
        var two = Train(42, 2);
        var again = Train(42, 2);
        Assert.Equal(saved, Parallelism.MaxDegree); // Fit restores the global setting
        for (int i = 0; i < one.Length; i++)
        {
            Assert.Equal(one[i], two[i]);
            Assert.Equal(one[i], again[i]);
        }
        var other = Train(43, 1);
        Assert.NotEqual(one[0], other[0]);
    }

    [Fact]
    public void ModelSeed_FixesDropoutMasks_AndRecurrentTraining()
    {
        float[][] Run(int threads)
        {
            var x = Tensor<float>.RandomNormal(new TensorShape(24, 6, 3), 1);
            var y = Tensor<float>.RandomNormal(new TensorShape(24, 1), 2);
            var model = new Sequential(new Nn.Simd.Layers.Lstm<float>(8), new Nn.Simd.Layers.Dropout<float>(0.5), new Nn.Simd.Layers.Dense<float>(1))
                { Seed = 3, Threads = threads };
            model.Compile("mse", "adam");
            model.Fit(x, y, epochs: 2, batchSize: 8);
            return model.Parameters.Select(p => p.Value.ToArray()).ToArray();
        }
        var a = Run(1);
        var b = Run(2);   // each Dropout drew its own random seed, but the model seed overrides it
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i]);
    }

    [Fact]
    public void Threads_IsAppliedDuringFit()
    {
        int saved = Parallelism.MaxDegree;
        var (x, y, _) = TestData.Blobs(20, 1);
        var model = TestData.SmallMlp(1);
        model.Threads = 1;
        model.Compile("sparse_categorical_crossentropy", "sgd");
        var observed = new List<int>();
        model.Fit(x, y, epochs: 1, callbacks: [new ObserveThreads(observed)]);
        Assert.All(observed, d => Assert.Equal(1, d));
        Assert.NotEmpty(observed);
        Assert.Equal(saved, Parallelism.MaxDegree);
    }

    private sealed class ObserveThreads(List<int> seen) : Callbacks.Callback
    {
        public override void OnBatchEnd(in Callbacks.BatchInfo info) => seen.Add(Parallelism.MaxDegree);
    }
}

[Collection(nameof(GlobalParallelism))]
public class AllocationTests
{
    private static long AllocatedByFit(int n, bool weighted)
    {
        var (x, y, _) = TestData.Blobs(n, 3);
        var model = TestData.SmallMlp(1);
        model.Threads = 1;
        model.Compile("sparse_categorical_crossentropy", new Adam(0.01), "accuracy");
        var weights = weighted ? Tensor<float>.RandomUniform(new TensorShape(n), 4, 0, 2) : null;
        var classes = weighted ? new Dictionary<int, double> { [1] = 2 } : null;
        model.Fit(x, y, epochs: 1, batchSize: 16, sampleWeight: weights, classWeight: classes);   // warm-up: workspaces, optimizer state, JIT
        long before = GC.GetAllocatedBytesForCurrentThread();
        model.Fit(x, y, epochs: 1, batchSize: 16, sampleWeight: weights, classWeight: classes);
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TrainingSteps_DoNotAllocate(bool weighted)
    {
        // With weights, each call makes the training samples' weight array (4 bytes a sample).
        SteadyStateFit.AssertNoPerStepAllocation(n => AllocatedByFit(n, weighted), weighted ? 4 : 0);
    }
}
