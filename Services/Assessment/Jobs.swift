import Contracts
import Foundation
import Logging
import Messaging
import PostgresNIO
import ServiceKit
import ServiceLifecycle
import Storage

/// Re-assesses subjects whose time has come without a new event: a signal
/// ageing out (each assessment sets `review_at` to the earliest expiry), or a
/// newly activated model (activation sets it to now). Replicas share the work
/// with `FOR UPDATE SKIP LOCKED`; each subject is re-assessed once. Runs as a ``RepeatingJob``.
struct ReviewSweep: Sendable {
    let originator: Originator
    let model: ActiveModel
    let configuration: AssessmentConfiguration
    let clock: any WallClock
    let logger: Logger

    /// Re-assesses one batch of due subjects.
    /// - Returns: How many were due.
    @discardableResult
    func reviewOnce(now: Date) async throws -> Int {
        let (due, events) = try await originator.transaction { connection -> (Int, [Emission]) in
            let due = try await AssessmentStore.claimDueForReview(now: now, limit: configuration.reviewBatch, on: connection, logger: logger)
            guard !due.isEmpty else { return (0, []) }
            let model = try await model.current(on: connection, logger: logger)
            return (due.count, try await AssessmentStore.apply([], others: due, model: model, now: now, cause: "review", on: connection, logger: logger))
        }
        if due > 0 { logger.info("subjects reviewed", metadata: ["assessment.subjects": "\(due)", "assessment.events": "\(events)"]) }
        return due
    }
}
