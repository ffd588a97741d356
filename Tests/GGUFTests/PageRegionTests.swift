import GGUF
import Testing

/// A region hands out consecutive, aligned, zero-filled slices; a large one starts on a huge page boundary.
struct PageRegionTests {
    @Test(arguments: [100, 5000, 3 << 20])
    func slicesAreConsecutiveAlignedAndZero(bytes: Int) {
        let sizes = [bytes / 3, 1, max(0, bytes / 3 - 70), 64]
        let region = PageRegion(bytes: PageRegion.bytesNeeded(for: sizes))
        #expect(region.capacity >= PageRegion.bytesNeeded(for: sizes))
        if bytes >= PageRegion.hugePageThreshold {
            #expect(Int(bitPattern: region.base) % PageRegion.hugePageBytes == 0)
            #expect(region.capacity % PageRegion.hugePageBytes == 0)
        }
        var previousEnd = 0
        for size in sizes {
            let slice = region.take(size)
            let offset = slice - region.base
            #expect(offset % 64 == 0)
            #expect(offset >= previousEnd && offset - previousEnd < 64, "slices follow each other")
            let bytes = UnsafeMutableRawBufferPointer(start: slice, count: size)
            #expect(bytes.allSatisfy { $0 == 0 })
            for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: i &+ size) }
            previousEnd = offset + size
        }
        #expect(region.used == previousEnd)
        #expect(previousEnd <= PageRegion.bytesNeeded(for: sizes))
    }

    @Test func bytesNeededCountsTheAlignmentPadding() {
        #expect(PageRegion.bytesNeeded(for: []) == 0)
        #expect(PageRegion.bytesNeeded(for: [1]) == 1)
        #expect(PageRegion.bytesNeeded(for: [1, 1]) == 65)
        #expect(PageRegion.bytesNeeded(for: [64, 64]) == 128)
        #expect(PageRegion.bytesNeeded(for: [70, 0, 10]) == 138)
    }
}
