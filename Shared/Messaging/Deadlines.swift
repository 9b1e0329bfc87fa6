import Synchronization

/// Time limits of work in progress, watched by one task.
///
/// A timer task per transaction would hold a sleeping task (and a dispatch timer) for the whole
/// limit even after the transaction ended, so memory would grow with rate × limit. Here the limits
/// are entries in a table; one watcher looks at them every `tick` and exists only while some are
/// waiting, so an idle service has none.
package final class Deadlines: Sendable {
    private struct Entry {
        let deadline: ContinuousClock.Instant
        let expire: @Sendable () -> Void
    }
    private struct State {
        var next = 0
        var entries: [Int: Entry] = [:]
        var watching = false
    }
    private let state = Mutex(State())
    private let tick: Duration

    /// - Parameter tick: How often the watcher looks; a limit fires up to this late.
    package init(tick: Duration = .milliseconds(250)) {
        self.tick = tick
    }

    /// Calls `expire` once `deadline` has passed, unless ``remove(_:)`` came first.
    /// - Parameters:
    ///   - deadline: When.
    ///   - expire: What to do then; it runs on the watcher's task and must not block.
    /// - Returns: A ticket for ``remove(_:)``.
    package func add(_ deadline: ContinuousClock.Instant, expire: @escaping @Sendable () -> Void) -> Int {
        let (ticket, start) = state.withLock { s -> (Int, Bool) in
            s.next += 1
            s.entries[s.next] = Entry(deadline: deadline, expire: expire)
            defer { s.watching = true }
            return (s.next, !s.watching)
        }
        if start { Task.detached { await self.watch() } }
        return ticket
    }

    /// Forgets a limit whose work has ended.
    package func remove(_ ticket: Int) {
        state.withLock { _ = $0.entries.removeValue(forKey: ticket) }
    }

    /// How many limits are waiting.
    package var count: Int { state.withLock { $0.entries.count } }

    /// Whether a watcher task exists.
    package var isWatching: Bool { state.withLock { $0.watching } }

    private func watch() async {
        while true {
            try? await Task.sleep(for: tick)
            let now = ContinuousClock.now
            let (due, goOn) = state.withLock { s -> ([Entry], Bool) in
                var due: [Entry] = []
                for (ticket, entry) in s.entries where entry.deadline <= now {
                    due.append(entry)
                    s.entries.removeValue(forKey: ticket)
                }
                if s.entries.isEmpty { s.watching = false }
                return (due, s.watching)
            }
            for entry in due { entry.expire() }
            if !goOn { return }
        }
    }
}
