namespace Viewstamped.Simulation;

/// <summary>x</summary>
public static class Placeholder2 { }
