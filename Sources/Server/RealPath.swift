#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Path facts from the system, without Foundation's normalisations (which do not resolve every link).
enum RealPath {
    /// The canonical absolute path with every symbolic link resolved (realpath(3)); nil when it does not exist or
    /// the path holds a NUL (which C would cut it at).
    static func resolve(_ path: String) -> String? {
        guard !path.utf8.contains(0), let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Whether `path` (links followed) is a regular file: not a FIFO, device, socket or folder. Never opens it.
    static func isRegularFile(_ path: String) -> Bool {
        var status = stat()
        guard !path.utf8.contains(0), stat(path, &status) == 0 else { return false }
        return status.st_mode & S_IFMT == S_IFREG
    }
}
