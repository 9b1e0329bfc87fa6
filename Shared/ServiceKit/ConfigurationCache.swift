import Synchronization

/// What a service's handlers read of the tables people set (an agency's registration, a notice rule, the active
/// risk model), kept across transactions for as long as the schema's configuration version stays the same.
///
/// A trigger on each such table counts its changes in `configuration_version`, and every batch's inbox claim
/// reads the count in the same statement; an answer is reused only by a transaction that saw the count it was
/// read at. So a batch uses what it would have read itself, as of its claim — never an answer from before a
/// change its claim could see — and the reads cost nothing while nobody changes anything.
final class ConfigurationCache: Sendable {
    private struct State {
        var version: Int64?
        var answers: [String: any Sendable] = [:]
    }
    private let state = Mutex(State())
    /// Most answers kept; past it, they are dropped and read again.
    let capacity: Int

    init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    /// The answer kept for `key` at `version`, if there is one.
    /// - Parameters:
    ///   - key: What was read.
    ///   - version: The configuration version the asking transaction saw.
    func answer<Value: Sendable>(_ key: String, at version: Int64, as type: Value.Type) -> Value? {
        state.withLock { state in
            guard state.version == version else { return nil }
            return state.answers[key].flatMap { $0 as? Answer<Value> }?.value
        }
    }

    /// Keeps an answer read by a transaction that saw `version`; answers kept at another version are dropped.
    /// - Parameters:
    ///   - value: The answer.
    ///   - key: What was read.
    ///   - version: The configuration version the reading transaction saw.
    func keep<Value: Sendable>(_ value: Value, as key: String, at version: Int64) {
        state.withLock { state in
            if state.version != version || state.answers.count >= capacity {
                state.version = version
                state.answers = [:]
            }
            state.answers[key] = Answer(value: value)
        }
    }

    /// How many answers are kept (for tests).
    var count: Int { state.withLock { $0.answers.count } }

    private struct Answer<Value: Sendable>: Sendable { var value: Value }
}
