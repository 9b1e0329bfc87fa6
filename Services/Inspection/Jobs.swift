import Foundation
import Logging
import ServiceKit
import Storage

/// Emits `hazard.overdue.v1` once for each hazard past its deadline, shared among replicas. Runs as a ``RepeatingJob``.
struct HazardWatch: Sendable {
    let originator: Originator
    let clock: any WallClock
    let logger: Logger

    /// Announces one batch of late hazards.
    /// - Returns: How many.
    func watchOnce() async throws -> Int {
        try await originator.transaction { connection in
            try await InspectionStore.overdue(at: clock.now(), limit: 100, on: connection, logger: logger)
        }
    }
}
