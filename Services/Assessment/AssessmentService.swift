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
    public static var apiDocument: URL? { Bundle.module.url(forResource: "openapi", withExtension: "yaml") }

    let database: Database
    let originator: Originator
    let model = ActiveModel()
    let configuration: AssessmentConfiguration
    let logger: Logger
    let clock: any WallClock

    public init(context: ServiceContext) throws {
        originator = context.originator
        database = context.database
        clock = context.clock
        configuration = try AssessmentConfiguration()
        logger = context.logger
    }

    public func register(_ registry: inout HandlerRegistry) {
        AssessmentHandlers(model: model, clock: clock).register(&registry)
    }

    public func addRoutes(to v1: RouterGroup<HuhangRequestContext>) {
        let subjects = SubjectStore(database: database)
        v1.addRoutes(SubjectRoutes(subjects: subjects, database: database).collection, atPath: "subjects")
        v1.addRoutes(LedgerRoutes(subjects: subjects, database: database).collection, atPath: "ledgers")
        v1.addRoutes(ScreeningRoutes(screenings: ScreeningStore(database: database)).collection, atPath: "screenings")
        v1.addRoutes(StatisticsRoutes(subjects: subjects).collection, atPath: "stats")
        v1.addRoutes(ModelRoutes(models: ModelStore(database: database), database: database).collection, atPath: "models")
    }

    public func backgroundServices() -> [any Service] {
        let sweep = ReviewSweep(originator: originator, model: model, configuration: configuration, clock: clock, logger: logger)
        return [RepeatingJob("review", every: configuration.reviewInterval, logger: logger) { [clock, configuration] in
            try await sweep.reviewOnce(now: clock.now()) >= configuration.reviewBatch
        }]
    }
}
