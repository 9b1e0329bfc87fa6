import Foundation
import Logging
import ServiceKit
import Storage

/// Fires due escalation steps, follow-ups and the daily digest; replicas share
/// the timers without firing one twice. Runs as a ``RepeatingJob``.
struct Escalator: Sendable {
    let stores: InterventionStores
    let database: Database
    let clock: any WallClock
    let logger: Logger

    /// Fires one batch of due steps. - Returns: How many fired.
    @discardableResult
    func fireOnce() async throws -> Int {
        try await database.withTransaction { connection in
            let now = clock.now()
            let emissions = try await stores.escalation.fireDue(at: now, limit: 100, on: connection)
                + stores.reports.digestIfDue(at: now, on: connection)
            try await Origination.enqueue(emissions, source: InterventionService.name, on: connection, schema: database.schema, logger: logger)
            if !emissions.isEmpty { logger.info("escalation steps fired", metadata: ["intervention.steps": "\(emissions.count)"]) }
            return emissions.count
        }
    }
}
