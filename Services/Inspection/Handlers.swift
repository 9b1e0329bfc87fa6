import Contracts
import Foundation
import Messaging
import ServiceKit

/// What inspection does with each event it consumes: a report at a school counts toward the school's
/// quarter, an inspection report becomes checks and hazards, a venue finding may flag the venue. Each
/// runs in the handler's one transaction.
struct InspectionHandlers: Sendable {
    let configuration: InspectionConfiguration
    let clock: any WallClock

    func register(_ handlers: inout HandlerRegistry) {
        handlers.onEach(ReportAcceptedV1.self) { reports in try await self.countIncidents(reports) }
        handlers.on(InspectionReportAcceptedV1.self) { report, context in
            try await context.emit(try await self.recordInspection(report, context))
            return .applied
        }
        handlers.on(VenueFindingAcceptedV1.self) { finding, context in
            try await context.emit(try await self.recordFinding(finding, context))
            return .applied
        }
    }

    /// Reports that name a school: each school is known from then on, and each report counts toward the
    /// incidents of its quarter (a safety rating rule) — a batch's reports in one statement.
    func countIncidents(_ reports: [(event: ReportAcceptedV1, context: HandlerContext)]) async throws {
        guard let first = reports.first?.context else { return }
        try await SchoolStore.countIncidents(
            reports.compactMap { report, _ in report.schoolCode.map { ($0, Quarter.of(report.occurredAt)) } }, on: first.connection, logger: first.logger)
    }

    /// An inspection: its school is known from then on; failed items become hazards, passed items close them.
    /// - Returns: `hazard.reported.v1` for each new hazard.
    func recordInspection(_ report: InspectionReportAcceptedV1, _ context: HandlerContext) async throws -> [Emission] {
        try await SchoolStore.know(report.schoolCode, on: context.connection, logger: context.logger)
        return try await InspectionStore.record(report, at: clock.now(), on: context.connection, logger: context.logger)
    }

    /// A finding of minors in a venue, which may flag the venue for its regulator.
    /// - Returns: `venue.flagged.v1` when the finding flags the venue.
    func recordFinding(_ finding: VenueFindingAcceptedV1, _ context: HandlerContext) async throws -> [Emission] {
        try await VenueStore.record(
            finding, flagAfter: configuration.venueFlagFindings, within: configuration.venueFlagDays,
            rectifyDays: configuration.venueRectifyDays, at: clock.now(), on: context.connection, logger: context.logger)
    }
}
