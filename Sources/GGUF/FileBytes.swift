// A whole file's bytes in memory, read-only after loading: mapped from the file (pages load on first touch and
// are shared with the page cache), or read into a `PageRegion` of the process's own (resident, on huge pages).

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a loaded GGUF file's bytes live.
public enum FileStorage: Sendable, Equatable {
    /// A read-only mapping of the file: nothing is read up front, pages are shared with other processes.
    case mapped
    /// Read into anonymous memory on 2 MB pages (`PageRegion`): the whole file is read at load and held by this
    /// process, and streaming the weights costs a TLB miss per 2 MB instead of per 4 KB.
    case resident
}

final class FileBytes: @unchecked Sendable {
    /// The file's bytes (empty, with no base address, for an empty file: mmap cannot map 0 bytes).
    let bytes: UnsafeRawBufferPointer
    /// The memory of a `.resident` file; nil for a mapping.
    private let region: PageRegion?
    /// Whether the kernel took the request to back a resident file with huge pages (false for a mapping, a small
    /// file, or THP set to `never`).
    var onHugePages: Bool { region?.advisedHugePages ?? false }

    init(path: String, storage: FileStorage = .mapped) throws {
        // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever (the regular-file check
        // below then refuses it); on a regular file it changes nothing. A NUL would cut the path short in C.
        guard !path.utf8.contains(0) else { throw GGUFError.cannotOpen(path: path, reason: "the path contains a NUL byte") }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { throw GGUFError.cannotOpen(path: path, reason: lastSystemError()) }
        // A mapping stays valid after the descriptor is closed.
        defer { close(descriptor) }

        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw GGUFError.cannotOpen(path: path, reason: lastSystemError())
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw GGUFError.cannotOpen(path: path, reason: "not a regular file")
        }
        guard let size = Int(exactly: status.st_size), size > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            region = nil
            return
        }
        switch storage {
        case .mapped:
            let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0)
            guard let address, address != UnsafeMutableRawPointer(bitPattern: -1) else {
                throw GGUFError.cannotOpen(path: path, reason: "mmap failed: \(lastSystemError())")
            }
            bytes = UnsafeRawBufferPointer(start: address, count: size)
            region = nil
        case .resident:
            // Read straight into the region (no mapping of the file, so its pages never count twice).
            let region = PageRegion(bytes: size)
            let target = region.take(size)
            var done = 0
            while done < size {
                let n = pread(descriptor, target + done, size - done, off_t(done))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    throw GGUFError.cannotOpen(path: path, reason: n == 0 ? "file shrank while being read"
                                                                           : "read failed: \(lastSystemError())")
                }
                done += n
            }
            bytes = UnsafeRawBufferPointer(start: target, count: size)
            self.region = region
        }
    }

    deinit {
        if region == nil, let base = bytes.baseAddress {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
    }
}
