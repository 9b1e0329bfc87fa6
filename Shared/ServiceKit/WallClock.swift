import Foundation
import Synchronization

/// Where a service reads the time of day: deadlines, escalations, reviews.
/// Production uses the system clock; tests use ``ManualWallClock`` and move it.
public protocol WallClock: Sendable {
    func now() -> Date
}

/// The system's clock.
public struct SystemWallClock: WallClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// A clock that stands still until moved, for tests of deadlines and escalation.
public final class ManualWallClock: WallClock {
    private let time: Mutex<Date>

    /// - Parameter start: The time it shows until moved.
    public init(_ start: Date = Date()) { time = Mutex(start) }

    public func now() -> Date { time.withLock { $0 } }

    /// Moves the clock forward (or back, with a negative interval).
    /// - Parameter interval: How far.
    public func advance(by interval: TimeInterval) { time.withLock { $0 = $0.addingTimeInterval(interval) } }
}
