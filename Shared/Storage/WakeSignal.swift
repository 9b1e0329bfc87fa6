import Synchronization

/// Wakes one waiter early; a signal sent while nobody waits is kept for the next wait.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
        /// Ends the current wait at its timeout; cancelled when a signal ends it first.
        var timer: Task<Void, Never>?
        var generation = 0
    }
    private let state = Mutex(State())

    func signal() {
        let (waiter, timer) = state.withLock { s -> (CheckedContinuation<Void, Never>?, Task<Void, Never>?) in
            guard let waiter = s.waiter else {
                s.pending = true
                return (nil, nil)
            }
            s.waiter = nil
            defer { s.timer = nil }
            return (waiter, s.timer)
        }
        timer?.cancel()
        waiter?.resume()
    }

    /// Returns at the next signal or after `timeout`, whichever comes first.
    func wait(timeout: Duration) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let generation = state.withLock { s -> Int? in
                if s.pending {
                    s.pending = false
                    return nil
                }
                s.generation += 1
                s.waiter = continuation
                return s.generation
            }
            guard let generation else {
                continuation.resume()
                return
            }
            let timer = Task {
                try? await Task.sleep(for: timeout)
                guard !Task.isCancelled else { return }
                self.timeOut(generation: generation)
            }
            let ended = state.withLock { s -> Bool in
                guard s.generation == generation, s.waiter != nil else { return true }
                s.timer = timer
                return false
            }
            if ended { timer.cancel() }
        }
    }

    private func timeOut(generation: Int) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard s.generation == generation, let waiter = s.waiter else { return nil }
            s.waiter = nil
            s.timer = nil
            return waiter
        }
        waiter?.resume()
    }
}
