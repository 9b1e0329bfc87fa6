import Foundation
import Logging
import ServiceKit
import Storage

/// Fires due escalation steps, follow-ups and the daily digest; replicas share
/// the timers without firing one twice. Runs as a ``RepeatingJob``.
struct Escalator: Sendable {
    let stores: InterventionStores
    let originator: Originator
    let clock: any WallClock
    let logger: Logger

    /// Fires one batch of due steps. - Returns: How many fired.
    @discardableResult
    func fireOnce() async throws -> Int {
        let fired = try await originator.transaction { connection in
            let now = clock.now()
            return try await stores.escalation.fireDue(at: now, limit: 100, on: connection) + stores.reports.digestIfDue(at: now, on: connection)
        }
        if fired > 0 { logger.info("escalation steps fired", metadata: ["intervention.steps": "\(fired)"]) }
        return fired
    }
}
