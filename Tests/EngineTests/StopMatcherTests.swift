import Engine
import Testing

struct StopMatcherTests {
    func run(_ pieces: [String], stops: [String]) -> (text: String, stopped: Bool, emitted: [String]) {
        var m = StopMatcher(stops: stops)
        var out = "", emitted: [String] = []
        for p in pieces {
            let (e, stopped) = m.feed(p)
            out += e
            emitted.append(e)
            if stopped { return (out, true, emitted) }
        }
        let rest = m.finish()
        return (out + rest, false, emitted + [rest])
    }

    @Test func stopsBeforeTheSequence() {
        let r = run(["Hello", " wor", "ld\n\nBye"], stops: ["\n\n"])
        #expect(r.text == "Hello world")
        #expect(r.stopped)
    }

    @Test func neverEmitsPartOfAStopSequenceSplitAcrossPieces() {
        let r = run(["The end", "<", "|st", "op|>", " more"], stops: ["<|stop|>"])
        #expect(r.text == "The end")
        #expect(r.emitted.allSatisfy { !$0.contains("<") })
    }

    @Test func releasesHeldTextWhenItIsNotAStop() {
        let r = run(["a <", "b"], stops: ["<|x|>"])
        #expect(r.text == "a <b")
        #expect(!r.stopped)
    }

    @Test func earliestOfSeveralStopsWins() {
        let r = run(["one two three"], stops: ["three", "two"])
        #expect(r.text == "one ")
    }

    @Test func noStopsPassesEverythingThrough() {
        let r = run(["x", "y"], stops: [])
        #expect(r.emitted == ["x", "y", ""])
    }

    @Test func multiByteCharactersAreKeptWhole() {
        let r = run(["café", " ☕️", "!"], stops: ["☕️!"])
        #expect(r.text == "café ")
    }
}
