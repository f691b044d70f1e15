namespace Viewstamped;

/// <summary>x</summary>
public static class Placeholder { }
