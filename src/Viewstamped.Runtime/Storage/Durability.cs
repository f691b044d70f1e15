using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Viewstamped.Runtime.Storage;

/// <summary>
/// Making writes durable. Files: <c>fdatasync(2)</c> on Linux (it flushes the data and the size an
/// append changed, not the timestamps), <see cref="RandomAccess.FlushToDisk"/> elsewhere (fsync, or
/// F_FULLFSYNC on macOS, FlushFileBuffers on Windows). Directories: .NET cannot open a directory as a
/// <see cref="SafeFileHandle"/> (<c>File.OpenHandle</c> refuses directories on Unix), so on Linux and
/// macOS this opens it with libc <c>open(O_RDONLY|O_DIRECTORY)</c> and calls <c>fsync</c> on that
/// descriptor; that makes a created, renamed or deleted name durable. Windows has no directory fsync
/// (NTFS journals names itself), so it is a no-op there.
/// </summary>
internal static class Durability
{
    private const int OpenReadOnly = 0;
    private const int LinuxOpenDirectory = 0x10000;
    private const int MacOpenDirectory = 0x100000;

    /// <summary>Makes every write to <paramref name="handle"/> so far durable.</summary>
    public static void SyncData(SafeFileHandle handle)
    {
        if (OperatingSystem.IsLinux())
        {
            var added = false;
            try
            {
                handle.DangerousAddRef(ref added);
                if (NativeMethods.fdatasync((int)handle.DangerousGetHandle()) != 0)
                {
                    throw new IOException($"fdatasync failed: errno {Marshal.GetLastPInvokeError()}");
                }
            }
            finally
            {
                if (added)
                {
                    handle.DangerousRelease();
                }
            }
        }
        else
        {
            RandomAccess.FlushToDisk(handle);
        }
    }

    /// <summary>Makes the names in <paramref name="directory"/> (created, renamed, deleted files) durable.</summary>
    public static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return;
        }

        var flags = OpenReadOnly | (OperatingSystem.IsLinux() ? LinuxOpenDirectory : MacOpenDirectory);
        var fd = NativeMethods.open(directory, flags);
        if (fd < 0)
        {
            throw new IOException($"cannot open directory '{directory}' to fsync it: errno {Marshal.GetLastPInvokeError()}");
        }

        try
        {
            if (NativeMethods.fsync(fd) != 0)
            {
                throw new IOException($"fsync of directory '{directory}' failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }
        finally
        {
            _ = NativeMethods.close(fd);
        }
    }

    /// <summary>Writes <paramref name="data"/> to a new file through a temporary name: write, fsync, rename, fsync the directory.</summary>
    public static void WriteFileAtomically(string path, ReadOnlySpan<byte> data) => WriteFileAtomically(path, data, []);

    /// <summary>
    /// Writes <paramref name="head"/> then each of <paramref name="tail"/> to a new file, as
    /// <see cref="WriteFileAtomically(string, ReadOnlySpan{byte})"/> does, without joining them in
    /// memory first (a checkpoint's state can be hundreds of megabytes, in chunks).
    /// </summary>
    public static void WriteFileAtomically(string path, ReadOnlySpan<byte> head, IEnumerable<ReadOnlyMemory<byte>> tail)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var temporary = path + ".tmp";
        using (var handle = File.OpenHandle(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            RandomAccess.Write(handle, head, 0);
            long at = head.Length;
            foreach (var piece in tail)
            {
                RandomAccess.Write(handle, piece.Span, at);
                at += piece.Length;
            }

            SyncData(handle);
        }

        File.Move(temporary, path, overwrite: true);
        SyncDirectory(directory);
    }

    private static class NativeMethods
    {
#pragma warning disable SYSLIB1054 // LibraryImport needs unsafe code, which this project does not allow.
#pragma warning disable CA5392, CA2101, IDE1006 // libc is resolved by the runtime; names are libc's.
        [DllImport("libc", SetLastError = true)]
        public static extern int fdatasync(int fd);

        [DllImport("libc", SetLastError = true)]
        public static extern int fsync(int fd);

        [DllImport("libc", SetLastError = true)]
        public static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", SetLastError = true)]
        public static extern int close(int fd);
#pragma warning restore CA5392, CA2101, IDE1006
#pragma warning restore SYSLIB1054
    }
}
