// The few POSIX calls the reader and writer need, with errno turned into messages.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The message for the current `errno`.
func lastSystemError() -> String {
    String(cString: strerror(errno))
}

/// Writes all of `bytes`, retrying short writes and interrupted calls; returns the error message on failure.
func writeFully(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) -> String? {
    guard let base = bytes.baseAddress else { return nil }
    var written = 0
    while written < bytes.count {
        let result = write(descriptor, base + written, bytes.count - written)
        if result < 0 && errno == EINTR { continue }
        guard result > 0 else { return lastSystemError() }
        written += result
    }
    return nil
}
