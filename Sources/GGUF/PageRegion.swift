// One block of anonymous memory for read-mostly data that a decode step streams through (a model's weights, an
// adapter's serving copies), backed by 2 MB pages where the kernel allows it.
//
// A decode step reads every weight once: on 4 KB pages that is a TLB miss per 4 KB, and in a VM each miss walks two
// page tables. On huge pages SmolLM2's 98 MB are 49 pages, and an adapter's matrices (three small heap allocations
// each before) are a few (docs/benchmarks-history.md, 2026-11-30, 2eb14ac and 8d94ec8).
//
// Layout: `take(bytes)` hands out consecutive 64-byte-aligned slices in the order it is called, so data that is
// read in sequence can be laid out in sequence.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public final class PageRegion: @unchecked Sendable {
    /// Huge page size on x86-64 and arm64 Linux.
    public static let hugePageBytes = 2 << 20
    /// Below this a region is an ordinary allocation: a huge page would be mostly empty.
    public static let hugePageThreshold = 1 << 20

    public let base: UnsafeMutableRawPointer
    public let capacity: Int
    /// Whether the kernel was asked to back the region with huge pages (and accepted the request).
    public let advisedHugePages: Bool
    public private(set) var used = 0
    private let mapping: (address: UnsafeMutableRawPointer, bytes: Int)?

    /// A zero-filled region of at least `bytes` bytes: 2 MB-aligned and advised for huge pages when it is at least
    /// `hugePageThreshold`, else a plain 64-byte-aligned allocation.
    public init(bytes: Int) {
        let rounded = max(64, (bytes + 63) & ~63)
        #if os(Linux)
        if rounded >= Self.hugePageThreshold {
            let pages = (rounded + Self.hugePageBytes - 1) / Self.hugePageBytes * Self.hugePageBytes
            let mapped = pages + Self.hugePageBytes   // room to align the start
            if let address = mmap(nil, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
               address != UnsafeMutableRawPointer(bitPattern: -1) {
                let start = (Int(bitPattern: address) + Self.hugePageBytes - 1) & ~(Self.hugePageBytes - 1)
                base = UnsafeMutableRawPointer(bitPattern: start)!
                capacity = pages
                mapping = (address, mapped)
                advisedHugePages = madvise(base, pages, MADV_HUGEPAGE) == 0   // a hint: 4 KB pages still work
                return
            }
        }
        #endif
        base = .allocate(byteCount: rounded, alignment: 64)
        base.initializeMemory(as: UInt8.self, repeating: 0, count: rounded)
        capacity = rounded
        mapping = nil
        advisedHugePages = false
    }

    deinit {
        if let mapping { munmap(mapping.address, mapping.bytes) } else { base.deallocate() }
    }

    /// The next `bytes` bytes (64-byte aligned). Not thread-safe: fill a region before it is shared.
    public func take(_ bytes: Int) -> UnsafeMutableRawPointer {
        let start = (used + 63) & ~63
        precondition(start + bytes <= capacity, "PageRegion: \(bytes) bytes asked with \(capacity - start) left")
        used = start + bytes
        return base + start
    }

    /// Bytes a sequence of `take` calls of these sizes needs.
    public static func bytesNeeded<S: Sequence>(for sizes: S) -> Int where S.Element == Int {
        sizes.reduce(0) { (($0 + 63) & ~63) + $1 }
    }
}
