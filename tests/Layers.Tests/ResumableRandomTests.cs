using Nn.Simd.Tensors;

namespace Nn.Simd.Layers.Tests;

/// <summary>ResumableRandom gives the sequence of a seeded System.Random (so ordinary runs keep their shuffle orders and
/// masks) and its saved state continues it exactly.</summary>
public class ResumableRandomTests
{
    public static TheoryData<int> Seeds => [0, 1, -1, 7, 42, 12345, 161803398, -161803398, 161803399, 1 << 30, int.MaxValue, int.MinValue, int.MinValue + 1, -987654321];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Sequence_IsThatOfSystemRandom_ForEveryKindOfDraw(int seed)
    {
        var reference = new Random(seed);
        var mine = new ResumableRandom(seed);
        // Mixed draws in a fixed pattern, long enough to wrap the 55-word lag table many times.
        for (int i = 0; i < 20_000; i++)
        {
            switch (i % 5)
            {
                case 0: Assert.Equal(reference.NextDouble(), mine.NextDouble()); break;
                case 1: Assert.Equal(reference.Next(i + 1), mine.Next(i + 1)); break;
                case 2: Assert.Equal(reference.Next(int.MaxValue), mine.Next(int.MaxValue)); break;
                case 3: Assert.Equal(reference.NextGaussian(), mine.NextGaussian()); break;
                default: Assert.Equal(reference.Next(0), mine.Next(0)); break;
            }
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(34)]
    [InlineData(35)]
    [InlineData(1000)]
    public void SavedState_ContinuesTheSequence_InAnotherGenerator(int drawsBefore)
    {
        var a = new ResumableRandom(99);
        for (int i = 0; i < drawsBefore; i++) a.NextDouble();
        var state = a.GetState();
        Assert.Null(ResumableRandom.CheckState(state));
        var b = new ResumableRandom(-5);
        b.NextDouble();
        b.SetState(state);
        for (int i = 0; i < 500; i++) Assert.Equal(a.NextDouble(), b.NextDouble());
        Assert.Equal(a.GetState(), b.GetState());
    }

    [Fact]
    public void SetState_RejectsAWrongLength_OrUnreachableIndices_AndKeepsItsState()
    {
        var g = new ResumableRandom(3);
        var before = g.GetState();
        var e = Assert.Throws<ArgumentException>(() => g.SetState(new byte[57 * 4]));
        Assert.Contains("232 bytes", e.Message);
        var bad = (byte[])before.Clone();
        bad[4 * 57] = 30;   // inextp 30 with inext 0: not a pair the generator reaches
        e = Assert.Throws<ArgumentException>(() => g.SetState(bad));
        Assert.Contains("(0, 30)", e.Message);
        Assert.Equal(before, g.GetState());
        Assert.Throws<ArgumentOutOfRangeException>(() => g.Next(-1));
    }
}
