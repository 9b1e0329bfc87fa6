import Synchronization
import Testing
@testable import Storage

@Suite("The relay's wake-up signal")
struct WakeSignalTests {
    @Test("a wait ends at its timeout, a signal ends it at once, and a signal sent while nobody waits is kept for the next wait")
    func waits() async {
        let signal = WakeSignal()
        let clock = ContinuousClock()
        let timedOut = await clock.measure { await signal.wait(timeout: .milliseconds(50)) }
        #expect(timedOut >= .milliseconds(50))

        signal.signal()
        let kept = await clock.measure { await signal.wait(timeout: .seconds(30)) }
        #expect(kept < .seconds(5))

        let waiting = Task { await clock.measure { await signal.wait(timeout: .seconds(30)) } }
        try? await Task.sleep(for: .milliseconds(20))
        signal.signal()
        #expect(await waiting.value < .seconds(5))
    }

    @Test("a short wait after a long one ends at its own time, not at the long one's")
    func shorterAfterLonger() async {
        let signal = WakeSignal()
        let clock = ContinuousClock()
        let long = Task { await signal.wait(timeout: .seconds(30)) }
        try? await Task.sleep(for: .milliseconds(20))
        signal.signal()
        await long.value
        let short = await clock.measure { await signal.wait(timeout: .milliseconds(50)) }
        #expect(short >= .milliseconds(50))
        #expect(short < .seconds(10))
    }

    @Test("waits ended by signals share one sleeping task, which ends once nobody waits")
    func sharedTimer() async {
        let signal = WakeSignal()
        for _ in 0..<1_000 {
            let waiting = Task { await signal.wait(timeout: .milliseconds(200)) }
            // Signalled before or after it waits: either way the wait ends.
            await Task.yield()
            signal.signal()
            await waiting.value
        }
        // One timer per wait would be a thousand; waits of the same length reuse the one that sleeps.
        #expect(signal.sleepersStarted < 50)
        var ended = false
        for _ in 0..<100 where !ended {
            try? await Task.sleep(for: .milliseconds(20))
            ended = !signal.isSleeping
        }
        #expect(ended)
    }
}
