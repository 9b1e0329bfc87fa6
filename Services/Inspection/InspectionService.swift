import Contracts
import Foundation
import Hummingbird
import Logging
import Messaging
import PostgresNIO
import ServiceKit
import ServiceLifecycle
import Storage

/// Inspection (校园安全): the schools registry, inspections against a
/// configurable checklist, hazards with responsible units and deadlines,
/// venue checks, and the quarterly school safety rating with its bulletin.
public struct InspectionService: HuhangService {
    public static let name = "inspection"
    public static let defaultHTTPPort = 8084
    public static let migrations = InspectionMigrations.all

    let store: InspectionStore
    let database: Database
    let clock: any WallClock
    let logger: Logger
    let configuration: InspectionConfiguration

    public init(context: ServiceContext) throws {
        configuration = try InspectionConfiguration()
        store = InspectionStore(rules: configuration.rules, logger: context.logger)
        database = context.database
        clock = context.clock
        logger = context.logger
    }

    static func quarter(of date: Date) -> String { Quarter.of(date) }

    public func register(_ handlers: inout HandlerRegistry) {
        handlers.on(ReportAcceptedV1.self) { report, context in
            guard let school = report.schoolCode else { return .applied }
            try await store.knowSchool(school, on: context.connection)
            try await context.connection.query("""
                INSERT INTO inspection.school_incidents (school_code, quarter, incidents)
                VALUES (\(school), \(Quarter.of(report.occurredAt)), 1)
                ON CONFLICT (school_code, quarter) DO UPDATE SET incidents = inspection.school_incidents.incidents + 1
                """, logger: context.logger)
            return .applied
        }
        handlers.on(InspectionReportAcceptedV1.self) { report, context in
            try await context.emit(try await store.record(report, at: clock.now(), on: context.connection))
            return .applied
        }
        handlers.on(VenueFindingAcceptedV1.self) { finding, context in
            try await context.emit(try await store.record(
                finding, flagAfter: configuration.venueFlagFindings, within: configuration.venueFlagDays,
                rectifyDays: configuration.venueRectifyDays, at: clock.now(), on: context.connection))
            return .applied
        }
    }

    public func addRoutes(to v1: RouterGroup<HuhangRequestContext>) {
        InspectionRoutes(store: store, database: database, clock: clock).add(to: v1)
    }

    public func backgroundServices() -> [any Service] {
        let watch = HazardWatch(store: store, database: database, clock: clock, logger: logger)
        return [RepeatingJob("hazard-watch", every: configuration.poll, logger: logger) { try await watch.watchOnce() >= 100 }]
    }
}

/// Inspection's own settings.
///
/// | variable | default | meaning |
/// |---|---|---|
/// | `NON_COMPLIANT_LATE_HAZARDS`, `MODEL_MIN_INSPECTIONS`, `MODEL_MAX_INCIDENTS` | 2, 3, 1 | the rating rules (``RatingRules``) |
/// | `VENUE_FLAG_FINDINGS` | `3` | findings at one venue that flag it |
/// | `VENUE_FLAG_DAYS` | `90` | within how many days |
/// | `VENUE_RECTIFY_DAYS` | `15` | the regulator's deadline to see a flagged venue rectified (责令限期整改) |
/// | `HAZARD_POLL_MS` | `1000` | how often late hazards are looked for |
struct InspectionConfiguration: Sendable {
    var rules: RatingRules
    var venueFlagFindings: Int
    var venueFlagDays: Int
    var venueRectifyDays: Int
    var poll: Duration

    init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        rules = try RatingRules(environment: environment)
        let environment = EnvironmentReader(environment)
        venueFlagFindings = try environment.integer("VENUE_FLAG_FINDINGS", default: 3)
        venueFlagDays = try environment.integer("VENUE_FLAG_DAYS", default: 90)
        venueRectifyDays = try environment.integer("VENUE_RECTIFY_DAYS", default: 15)
        poll = .milliseconds(try environment.integer("HAZARD_POLL_MS", default: 1000))
    }
}

/// Emits `hazard.overdue.v1` once for each hazard past its deadline, shared among replicas. Runs as a ``RepeatingJob``.
struct HazardWatch: Sendable {
    let store: InspectionStore
    let database: Database
    let clock: any WallClock
    let logger: Logger

    /// Announces one batch of late hazards. - Returns: How many.
    func watchOnce() async throws -> Int {
        try await database.withTransaction { connection in
            let emissions = try await store.overdue(at: clock.now(), limit: 100, on: connection)
            try await Origination.enqueue(emissions, source: InspectionService.name, on: connection, schema: database.schema, logger: logger)
            return emissions.count
        }
    }
}
