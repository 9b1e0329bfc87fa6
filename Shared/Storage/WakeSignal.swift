import Synchronization

/// Wakes one waiter early; a signal sent while nobody waits is kept for the next wait.
///
/// A wait's timeout is kept by one sleeping task, which a signal does not cancel: when it wakes it ends the
/// current wait if that wait's time is up, or sleeps again until it is. A relay woken by every commit thus
/// waits without starting (and cancelling) a timer per wait — under load that was a task, a dispatch timer
/// and several thread wake-ups for each transaction — and its timer wakes about once per timeout.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
        /// When the current wait times out.
        var deadline: ContinuousClock.Instant?
        /// When the sleeping task wakes; nil when none sleeps.
        var sleeperWakes: ContinuousClock.Instant?
    }
    private let state = Mutex(State())
    /// How many sleeping tasks have been started, ever (tests check that waits share them).
    private let sleepers = Atomic(0)
    var sleepersStarted: Int { sleepers.load(ordering: .relaxed) }
    /// Whether a sleeping task exists.
    var isSleeping: Bool { state.withLock { $0.sleeperWakes != nil } }

    func signal() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let waiter = s.waiter else {
                s.pending = true
                return nil
            }
            s.waiter = nil
            s.deadline = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns at the next signal or after `timeout`, whichever comes first.
    func wait(timeout: Duration) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let deadline = ContinuousClock.now + timeout
            let wait = state.withLock { s -> (immediately: Bool, sleepUntil: ContinuousClock.Instant?) in
                if s.pending {
                    s.pending = false
                    return (true, nil)
                }
                s.waiter = continuation
                s.deadline = deadline
                // The sleeping task wakes in time for this wait: nothing to start.
                if let wakes = s.sleeperWakes, wakes <= deadline { return (false, nil) }
                s.sleeperWakes = deadline
                return (false, deadline)
            }
            if wait.immediately {
                continuation.resume()
            } else if let until = wait.sleepUntil {
                sleepers.add(1, ordering: .relaxed)
                Task { await self.sleep(until: until) }
            }
        }
    }

    /// Sleeps until `until`, then ends the wait whose time is up, and sleeps again while a wait goes on.
    private func sleep(until first: ContinuousClock.Instant) async {
        var until = first
        while true {
            try? await Task.sleep(until: until, clock: .continuous)
            let (expired, next) = state.withLock { s -> (CheckedContinuation<Void, Never>?, ContinuousClock.Instant?) in
                // A sleeper started later for an earlier deadline keeps the time from now on.
                guard s.sleeperWakes == until else { return (nil, nil) }
                if let deadline = s.deadline, deadline <= .now, let waiter = s.waiter {
                    s.waiter = nil
                    s.deadline = nil
                    s.sleeperWakes = nil
                    return (waiter, nil)
                }
                s.sleeperWakes = s.deadline
                return (nil, s.deadline)
            }
            expired?.resume()
            guard let next else { return }
            until = next
        }
    }
}
