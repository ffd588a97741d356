import Kernels
import Testing

/// The lookahead requests every cache line of its spans once, spread over the steps, and nothing after.
struct LookaheadTests {
    @Test(arguments: [1, 3, 7, 40, 1000])
    func requestsEveryLineOnceOverTheSteps(steps: Int) {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 8192, alignment: 64)
        defer { buffer.deallocate() }
        var ahead = Lookahead()
        ahead.add(buffer + 10, bytes: 100)      // bytes 10..<110: lines 0 and 1
        ahead.add(buffer + 1024, bytes: 64)     // one whole line
        ahead.add(buffer + 4000, bytes: 0)      // nothing
        ahead.add(buffer + 4095, bytes: 2)      // straddles two lines
        #expect(ahead.spanCount == 3)
        #expect(ahead.lineCount == 5)
        ahead.spread(over: steps)
        let perStep = (5 + steps - 1) / steps
        for s in 1...steps {
            ahead.step()
            #expect(ahead.requested == min(5, s * perStep))
        }
        ahead.step()
        #expect(ahead.requested == 5)
    }

    @Test func spansPastCapacityAreIgnored() {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 64 * 32, alignment: 64)
        defer { buffer.deallocate() }
        var ahead = Lookahead()
        for i in 0..<(Lookahead.capacity + 4) { ahead.add(buffer + 64 * i, bytes: 64) }
        #expect(ahead.spanCount == Lookahead.capacity)
        ahead.spread(over: 1)
        ahead.step()
        #expect(ahead.requested == Lookahead.capacity)
    }

    @Test func emptyLookaheadRequestsNothing() {
        var ahead = Lookahead()
        ahead.spread(over: 10)
        for _ in 0..<10 { ahead.step() }
        #expect(ahead.requested == 0)
    }
}
