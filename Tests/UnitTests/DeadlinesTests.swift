import Synchronization
import Testing
@testable import Messaging

@Suite("Time limits of transactions")
struct DeadlinesTests {
    /// Polls until `condition` holds or a second passes.
    func eventually(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<100 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    @Test("a limit fires once it has passed, and the watcher then ends")
    func fires() async {
        let deadlines = Deadlines(tick: .milliseconds(20))
        let fired = Atomic(0)
        let firedCount = { fired.load(ordering: .relaxed) }
        _ = deadlines.add(.now + .milliseconds(100)) { fired.add(1, ordering: .relaxed) }
        #expect(deadlines.isWatching)
        try? await Task.sleep(for: .milliseconds(40))
        #expect(firedCount() == 0)
        #expect(await eventually { firedCount() == 1 })
        #expect(await eventually { !deadlines.isWatching })
        #expect(deadlines.count == 0)
        try? await Task.sleep(for: .milliseconds(100))
        #expect(firedCount() == 1)
    }

    @Test("a limit removed before it passes never fires, and nothing stays behind")
    func removed() async {
        let deadlines = Deadlines(tick: .milliseconds(20))
        let fired = Atomic(0)
        for _ in 0..<10_000 {
            let ticket = deadlines.add(.now + .milliseconds(50)) { fired.add(1, ordering: .relaxed) }
            deadlines.remove(ticket)
        }
        let kept = deadlines.add(.now + .milliseconds(50)) { fired.add(1, ordering: .relaxed) }
        #expect(deadlines.count == 1)
        #expect(await eventually { !deadlines.isWatching })
        #expect(fired.load(ordering: .relaxed) == 1)
        deadlines.remove(kept)
        #expect(deadlines.count == 0)
    }

    @Test("a new limit after the watcher ended starts another")
    func restarts() async {
        let deadlines = Deadlines(tick: .milliseconds(20))
        let fired = Atomic(0)
        _ = deadlines.add(.now) { fired.add(1, ordering: .relaxed) }
        #expect(await eventually { !deadlines.isWatching })
        _ = deadlines.add(.now + .milliseconds(30)) { fired.add(1, ordering: .relaxed) }
        #expect(deadlines.isWatching)
        #expect(await eventually { fired.load(ordering: .relaxed) == 2 && !deadlines.isWatching })
    }
}
