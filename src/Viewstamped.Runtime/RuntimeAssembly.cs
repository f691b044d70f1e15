namespace Viewstamped.Runtime;

/// <summary>Marks the runtime assembly.</summary>
public static class RuntimeAssembly
{
}
