/// Exponential back-off with full jitter, for reconnecting.
public struct Backoff: Sendable {
    public var initial: Duration
    public var maximum: Duration
    private var attempt = 0

    public init(initial: Duration = .milliseconds(200), maximum: Duration = .seconds(15)) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The next delay to wait.
    public mutating func next() -> Duration {
        let factor = 1 << min(attempt, 16)
        attempt += 1
        let ceiling = min(initial * factor, maximum)
        let millis = Int(ceiling.components.seconds * 1000) + Int(ceiling.components.attoseconds / 1_000_000_000_000_000)
        return .milliseconds(Int.random(in: max(1, millis / 2)...max(1, millis)))
    }

    public mutating func reset() { attempt = 0 }
}
