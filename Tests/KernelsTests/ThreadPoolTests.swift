import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import Kernels

@Suite struct ThreadPoolTests {
    /// Runs parallelFor(count) and returns how often each index was visited.
    func visits(_ pool: ThreadPool, _ count: Int) -> [Int] {
        let counters = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: max(count, 1))
        for i in 0..<count { (counters + i).initialize(to: Atomic(0)) }
        defer { counters.deallocate() }
        pool.parallelFor(count) { i in counters[i].add(1, ordering: .relaxed) }
        return (0..<count).map { counters[$0].load(ordering: .relaxed) }
    }

    @Test(arguments: [1, 2, 3, 4])
    func everyIndexVisitedOnce(threads: Int) {
        let pool = ThreadPool(threads: threads)
        #expect(pool.threadCount == threads)
        for count in [0, 1, 2, 3, 5, 7, 16, 17, 100, 1023] {
            #expect(visits(pool, count) == Array(repeating: 1, count: count), "count \(count)")
        }
    }

    @Test func manyConsecutiveCalls() {
        let pool = ThreadPool(threads: 2)
        let total = Atomic<Int>(0)
        for call in 0..<20_000 {
            let count = 1 + call % 9
            pool.parallelFor(count) { i in total.add(i + 1, ordering: .relaxed) }
        }
        var expected = 0
        for call in 0..<20_000 { let c = 1 + call % 9; expected += c * (c + 1) / 2 }
        #expect(total.load(ordering: .relaxed) == expected)
    }

    @Test func nestedCallsRunInline() {
        let pool = ThreadPool(threads: 3)
        let total = Atomic<Int>(0)
        pool.parallelFor(5) { outer in
            pool.parallelFor(7) { inner in total.add(outer * 7 + inner, ordering: .relaxed) }
        }
        #expect(total.load(ordering: .relaxed) == (0..<35).reduce(0, +))
    }

    @Test func wakesAfterSleeping() {
        let pool = ThreadPool(threads: 2, spinMicroseconds: 10)
        for _ in 0..<5 {
            usleep(2_000)   // let the worker fall asleep
            #expect(visits(pool, 64) == Array(repeating: 1, count: 64))
        }
    }

    @Test func bodyWritesAreVisibleAfterReturn() {
        let pool = ThreadPool(threads: 2)
        let n = 4096
        let buffer = UnsafeMutablePointer<Int>.allocate(capacity: n)
        defer { buffer.deallocate() }
        for round in 0..<200 {
            pool.parallelFor(n / 64) { chunk in
                for i in chunk * 64..<(chunk + 1) * 64 { buffer[i] = i &+ round }
            }
            var ok = true
            for i in 0..<n where buffer[i] != i &+ round { ok = false }
            #expect(ok)
        }
    }

    @Test func poolsCanBeCreatedAndDestroyed() {
        for _ in 0..<20 {
            let pool = ThreadPool(threads: 2)
            #expect(visits(pool, 3) == [1, 1, 1])
        }
    }
}
