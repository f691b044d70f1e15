namespace Viewstamped.Runtime.Storage;

/// <summary>
/// The id of the running machine's boot: Linux draws a random one at every boot
/// (<c>/proc/sys/kernel/random/boot_id</c>). A storage that finds another boot than the one it last wrote
/// under knows the page cache was lost since, with whatever the disk had not really written.
/// </summary>
internal static class MachineBoot
{
    private const string BootIdPath = "/proc/sys/kernel/random/boot_id";
    private static readonly Lazy<Guid?> Current = new(Read);

    /// <summary>This boot's id, read once per process; null where the system has none to offer.</summary>
    public static Guid? Id => Current.Value;

    private static Guid? Read()
    {
        try
        {
            return File.Exists(BootIdPath) && Guid.TryParse(File.ReadAllText(BootIdPath).Trim(), out var id) && id != Guid.Empty ? id : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
