namespace Viewstamped.Runtime.Tests;

public class PlaceholderTests
{
    [Fact]
    public void Runtime_assembly_loads() => Assert.Equal("Viewstamped.Runtime", typeof(Viewstamped.Runtime.RuntimeAssembly).Assembly.GetName().Name);
}
