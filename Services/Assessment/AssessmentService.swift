import Contracts
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import ServiceKit
import ServiceLifecycle
import Storage

/// Assessment (研判): what every event says about a minor becomes signals on
/// the factors of the risk model; each subject is re-assessed from all its
/// signals, its tier kept with the factors that produced it and the model
/// version, and the watch ledgers (台账) kept live.
public struct AssessmentService: HuhangService {
    public static let name = "assessment"
    public static let defaultHTTPPort = 8082
    public static var migrations: [Migration] { AssessmentMigrations.all }

    let database: Database
    let model = ActiveModel()
    let configuration: AssessmentConfiguration
    let logger: Logger
    let clock: any WallClock

    public init(context: ServiceContext) throws {
        database = context.database
        clock = context.clock
        configuration = try AssessmentConfiguration()
        logger = context.logger
    }

    public func register(_ handlers: inout HandlerRegistry) {
        func assess<P: EventPayload>(_ type: P.Type, _ observe: @escaping @Sendable (P, String) -> [Observation]) {
            handlers.on(P.self) { event, context in
                try await self.assess(observe(event, context.envelope.id), context)
                return .applied
            }
        }
        assess(ReportAcceptedV1.self, FactorMapping.observations)
        assess(HotlineCallAcceptedV1.self, FactorMapping.observations)
        // A screening batch is also kept as a count, so that the school sees how many rows were applied.
        handlers.on(ScreeningBatchAcceptedV1.self) { batch, context in
            try await context.connection.query("""
                INSERT INTO assessment.screenings (intake_id, agency, school_code, scale, screened_at, rows, positive, rejected_rows)
                VALUES (\(batch.intakeID), \(batch.agency), \(batch.schoolCode), \(batch.scale), \(batch.screenedAt), \(batch.results.count),
                        \(batch.results.filter(\.positive).count), \(batch.rejectedRows))
                ON CONFLICT (intake_id) DO NOTHING
                """, logger: context.logger)
            try await self.assess(FactorMapping.observations(batch, eventID: context.envelope.id), context)
            return .applied
        }
        assess(AttendanceSignalAcceptedV1.self, FactorMapping.observations)
        assess(FamilySituationAcceptedV1.self, FactorMapping.observations)
        assess(VenueFindingAcceptedV1.self, FactorMapping.observations)
        assess(CaseLeadAcceptedV1.self, FactorMapping.observations)
        // A seal order (档案封存): the minor's offence record is kept but neither counted nor shown.
        handlers.on(SubjectSealedV1.self) { order, context in
            let model = try await model.current(on: context.connection, logger: context.logger)
            try await context.emit(try await AssessmentStore.seal(
                order.subjectID, sealed: order.sealed, model: model, now: clock.now(), cause: context.envelope.id,
                on: context.connection, logger: context.logger))
            return .applied
        }
    }

    func assess(_ observations: [Observation], _ context: HandlerContext) async throws {
        guard !observations.isEmpty else { return }
        let model = try await model.current(on: context.connection, logger: context.logger)
        // A lead under a seal order seals the minor's whole offence record, as an order through intervention does.
        for subject in Set(observations.filter { $0.signals.contains { $0.sealed } }.map(\.subjectID)).sorted() {
            try await context.emit(try await AssessmentStore.seal(
                subject, sealed: true, model: model, now: clock.now(), cause: context.envelope.id, on: context.connection, logger: context.logger))
        }
        let emissions = try await AssessmentStore.apply(
            observations, model: model, now: clock.now(), cause: context.envelope.id, on: context.connection, logger: context.logger)
        try await context.emit(emissions)
    }

    public func addRoutes(to v1: RouterGroup<HuhangRequestContext>) {
        AssessmentRoutes.add(to: v1, database: database, model: model)
    }

    public func backgroundServices() -> [any Service] {
        let sweep = ReviewSweep(database: database, model: model, configuration: configuration, clock: clock, logger: logger)
        return [RepeatingJob("review", every: configuration.reviewInterval, logger: logger) { [clock, configuration] in
            try await sweep.reviewOnce(now: clock.now()) >= configuration.reviewBatch
        }]
    }
}

/// Assessment's own settings.
///
/// | variable | default | meaning |
/// |---|---|---|
/// | `ASSESSMENT_REVIEW_INTERVAL_MS` | `5000` | how often the review sweep looks for subjects due for re-assessment (signals ageing out, a new model) |
/// | `ASSESSMENT_REVIEW_BATCH` | `500` | subjects re-assessed per transaction by the sweep |
struct AssessmentConfiguration: Sendable {
    var reviewInterval: Duration
    var reviewBatch: Int

    init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let environment = EnvironmentReader(environment)
        reviewInterval = .milliseconds(try environment.integer("ASSESSMENT_REVIEW_INTERVAL_MS", default: 5000))
        reviewBatch = try environment.integer("ASSESSMENT_REVIEW_BATCH", default: 500)
    }
}
