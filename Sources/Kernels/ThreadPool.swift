// A fixed set of persistent worker threads for data-parallel loops with low dispatch latency.
//
// A decode step at batch 1 issues a few hundred matrix products of ~50 µs each, so handing a loop to the
// workers must cost a few µs at most. Workers therefore spin on an atomic ticket for a while after each
// job (`spinMicroseconds`) and only then sleep on a condition variable.
//
// Job protocol (one 64-bit atomic, the ticket):
//     ticket = generation (20 bits) << 44 | count (22 bits) << 22 | next index (22 bits)
// The caller publishes the loop body and `remaining = count`, then stores a new ticket with a new generation
// and index 0. Every thread (workers and the caller) claims indices with a compare-and-swap of the ticket
// (index + 1), runs body(index), and decrements `remaining`. The caller returns when `remaining` is 0.
// Because generation and count live in the same word as the index, a worker that wakes up late with a stale
// ticket can never claim an index of a newer job by mistake: its compare-and-swap fails unless the ticket is
// bit-for-bit the current one, and then the claim is genuinely valid for the current job.
//
// Re-entrancy: a parallelFor issued while the pool is busy (from inside a body, or concurrently from
// another thread) runs serially on the calling thread.

import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public final class ThreadPool: @unchecked Sendable {
    /// Number of threads that execute a parallelFor, the calling thread included.
    public let threadCount: Int

    private let shared: PoolShared
    private var workers: [pthread_t] = []
    /// Grow-only scratch memory for the kernels (see withScratch).
    private var scratch: UnsafeMutableRawPointer?
    private var scratchBytes = 0
    private let scratchInUse = Atomic<Bool>(false)

    /// A pool of the calling thread alone: its loops run serially, with no hand-off.
    public static let serial = ThreadPool(threads: 1)

    /// Creates the pool and starts `threads - 1` worker threads (the caller of parallelFor is the last one).
    /// - Parameter spinMicroseconds: how long an idle worker busy-waits for the next job before sleeping.
    public init(threads: Int, spinMicroseconds: Int = 300) {
        precondition(threads >= 1, "a thread pool needs at least one thread")
        threadCount = threads
        shared = PoolShared(spinNanoseconds: UInt64(max(0, spinMicroseconds)) * 1000)
        for _ in 1..<threads {
            let context = Unmanaged.passRetained(shared).toOpaque()
            var thread = pthread_t()
            let status = pthread_create(&thread, nil, { argument in
                let shared = Unmanaged<PoolShared>.fromOpaque(argument!).takeRetainedValue()
                shared.workerLoop()
                return nil
            }, context)
            precondition(status == 0, "pthread_create failed with \(status)")
            workers.append(thread)
        }
    }

    deinit {
        shared.shutDown()
        for thread in workers { pthread_join(thread, nil) }
        scratch?.deallocate()
    }

    /// Runs body with at least `bytes` bytes of 64-byte-aligned scratch memory. The pool keeps one grow-only
    /// buffer, so repeated calls allocate nothing; a call made while the buffer is in use (nested, or from
    /// another thread) gets a temporary allocation instead.
    func withScratch<R>(bytes: Int, _ body: (UnsafeMutableRawPointer) -> R) -> R {
        let size = max(bytes, 64)
        guard scratchInUse.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            let temporary = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
            defer { temporary.deallocate() }
            return body(temporary)
        }
        defer { scratchInUse.store(false, ordering: .releasing) }
        if scratchBytes < size {
            scratch?.deallocate()
            scratchBytes = max(size, scratchBytes * 2)
            scratch = .allocate(byteCount: scratchBytes, alignment: 64)
        }
        return body(scratch!)
    }

    /// Runs body(i) for every i in 0..<count, spread over the threads; returns when all are done.
    /// Indices are claimed one at a time, so a body should be a chunk of work (≥ a few µs), not one element.
    public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        if count <= 0 { return }
        if threadCount == 1 || count == 1 || !shared.tryAcquire() {
            for i in 0..<count { body(i) }
            return
        }
        defer { shared.release() }
        if count > PoolShared.maxCount {
            // The ticket holds at most maxCount indices: hand out contiguous groups instead.
            let groups = PoolShared.maxCount
            withoutActuallyEscaping(body) { body in
                shared.run(count: groups) { g in
                    for i in (g * count / groups)..<((g + 1) * count / groups) { body(i) }
                }
            }
        } else {
            withoutActuallyEscaping(body) { body in shared.run(count: count, body) }
        }
    }
}

/// The state the workers share with the pool (a separate object so that the pool's deinit can stop them).
final class PoolShared: @unchecked Sendable {
    static let indexBits = 22
    static let maxCount = (1 << indexBits) - 1
    static let fieldMask = (1 << indexBits) - 1
    static let generationMask = (1 << 20) - 1

    /// generation << 44 | count << 22 | next index.
    let ticket = Atomic<Int>(0)
    /// Indices of the current job not yet finished.
    let remaining = Atomic<Int>(0)
    /// Address of the current job's body closure (a `(Int) -> Void` on the caller's stack).
    let body = Atomic<UInt>(0)
    /// Workers blocked (or about to block) on the condition variable.
    let sleepers = Atomic<Int>(0)
    let busy = Atomic<Bool>(false)
    let stopping = Atomic<Bool>(false)
    let spinNanoseconds: UInt64
    private var generation = 0
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    init(spinNanoseconds: UInt64) {
        self.spinNanoseconds = spinNanoseconds
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    func tryAcquire() -> Bool {
        busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    }

    func release() { busy.store(false, ordering: .releasing) }

    /// Publishes a job, takes part in it, and returns when every index has been run.
    func run(count: Int, _ job: @escaping (Int) -> Void) {
        var job = job
        withUnsafeMutablePointer(to: &job) { jobAddress in
            body.store(UInt(bitPattern: jobAddress), ordering: .relaxed)
            remaining.store(count, ordering: .relaxed)
            generation = (generation + 1) & PoolShared.generationMask
            let start = generation << (2 * PoolShared.indexBits) | count << PoolShared.indexBits
            // Sequentially consistent so that it pairs with the `sleepers` handshake in `waitForJob`.
            ticket.store(start, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(mutex)
                pthread_cond_broadcast(condition)
                pthread_mutex_unlock(mutex)
            }
            claimAndRun(from: start)
            while remaining.load(ordering: .acquiring) > 0 { spinPause() }
        }
    }

    /// Claims indices of the job described by `observed` until none is left (or a newer job replaced it).
    @inline(__always)
    func claimAndRun(from observed: Int) {
        var current = observed
        let fieldMask = PoolShared.fieldMask
        while true {
            let index = current & fieldMask
            let count = (current >> PoolShared.indexBits) & fieldMask
            if index >= count { return }
            let (exchanged, original) = ticket.compareExchange(
                expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if !exchanged {
                // Someone else claimed it, or a new job started: only continue within the same generation.
                if original >> (2 * PoolShared.indexBits) != current >> (2 * PoolShared.indexBits) { return }
                current = original
                continue
            }
            let job = UnsafePointer<(Int) -> Void>(bitPattern: body.load(ordering: .relaxed))!
            job.pointee(index)
            remaining.subtract(1, ordering: .releasing)
            current += 1
        }
    }

    func workerLoop() {
        var seen = ticket.load(ordering: .acquiring) >> (2 * PoolShared.indexBits)
        while true {
            guard let observed = waitForJob(after: seen) else { return }
            seen = observed >> (2 * PoolShared.indexBits)
            claimAndRun(from: observed)
        }
    }

    /// Spins, then sleeps, until the ticket's generation differs from `generation`; nil when shutting down.
    private func waitForJob(after generation: Int) -> Int? {
        let shift = 2 * PoolShared.indexBits
        var spins = 0
        var deadline: UInt64 = 0
        while true {
            let t = ticket.load(ordering: .acquiring)
            if t >> shift != generation { return t }
            if stopping.load(ordering: .relaxed) { return nil }
            spins += 1
            if spins & 255 != 0 { spinPause(); continue }
            let now = monotonicNanoseconds()
            if deadline == 0 { deadline = now + spinNanoseconds; continue }
            if now < deadline { continue }
            // Sleep until a job is published (or shutdown).
            pthread_mutex_lock(mutex)
            sleepers.add(1, ordering: .sequentiallyConsistent)
            while ticket.load(ordering: .sequentiallyConsistent) >> shift == generation,
                  !stopping.load(ordering: .sequentiallyConsistent) {
                pthread_cond_wait(condition, mutex)
            }
            sleepers.subtract(1, ordering: .relaxed)
            pthread_mutex_unlock(mutex)
            deadline = 0
            spins = 0
        }
    }

    func shutDown() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }
}

/// One busy-wait step. (`_mm_pause` is a clang builtin that Swift cannot call, so this is a plain
/// compiler barrier: the atomic load in the caller's loop is what paces it.)
@inline(never)
func spinPause() {}

@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
