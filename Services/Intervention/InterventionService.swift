import Contracts
import Crypto
import Foundation
import Hummingbird
import Logging
import Messaging
import PostgresNIO
import ServiceKit
import ServiceLifecycle
import Storage

/// Intervention (交办 · 管控 · 反馈): a case for every subject at high or
/// critical, a care team, a plan whose measures become tasks for responsible
/// units with deadlines by tier, feedback from those units, escalation of
/// what is late, and closure with a review.
public struct InterventionService: HuhangService {
    public static let name = "intervention"
    public static let defaultHTTPPort = 8083
    public static let migrations = InterventionMigrations.all
    public static var apiDocument: URL? { Bundle.module.url(forResource: "openapi", withExtension: "yaml") }

    let configuration: InterventionConfiguration
    let stores: InterventionStores
    let database: Database
    let originator: Originator
    let clock: any WallClock
    let cipher: PersonalDataCipher
    let logger: Logger

    public init(context: ServiceContext) throws {
        originator = context.originator
        configuration = try InterventionConfiguration()
        database = context.database
        stores = InterventionStores(database: database, configuration: configuration)
        clock = context.clock
        cipher = try PersonalDataCipher.fromEnvironment(logger: context.logger)
        logger = context.logger
    }

    public func register(_ registry: inout HandlerRegistry) {
        InterventionHandlers(stores: stores, configuration: configuration, clock: clock).register(&registry)
    }


    public func addRoutes(to v1: RouterGroup<HuhangRequestContext>) {
        let operations = CaseOperations(database: database, originator: originator)
        v1.addRoutes(
            CaseRoutes(stores: stores, operations: operations, clock: clock, cipher: cipher, configuration: configuration).collection,
            atPath: "cases")
        v1.addRoutes(TaskRoutes(stores: stores, operations: operations, clock: clock).collection, atPath: "tasks")
        v1.addRoutes(UnitRoutes(stores: stores, operations: operations, clock: clock).collection, atPath: "units")
        v1.addRoutes(ReferralRoutes(stores: stores, operations: operations, clock: clock).collection, atPath: "referrals")
        v1.addRoutes(DepartmentRoutes(stores: stores, operations: operations, clock: clock).collection, atPath: "departments")
        v1.addRoutes(ReportRoutes(stores: stores, operations: operations, clock: clock).collection)
    }

    public func backgroundServices() -> [any Service] {
        let escalator = Escalator(stores: stores, originator: originator, clock: clock, logger: logger)
        return [RepeatingJob("escalation", every: configuration.escalationPoll, logger: logger) { try await escalator.fireOnce() >= 100 }]
    }
}

/// The service's stores, one per aggregate.
struct InterventionStores: Sendable {
    let cases: CaseStore
    let tasks: TaskStore
    let escalation: EscalationStore
    let referrals: ReferralStore
    let reports: ReportStore
    let units: UnitStore

    init(database: Database, configuration: InterventionConfiguration) {
        cases = CaseStore(database: database, configuration: configuration)
        tasks = TaskStore(database: database, configuration: configuration)
        escalation = EscalationStore(database: database, configuration: configuration)
        referrals = ReferralStore(database: database, configuration: configuration)
        reports = ReportStore(database: database, configuration: configuration)
        units = UnitStore(database: database, configuration: configuration)
    }
}

extension Optional {
    func asyncFlatMap<U>(_ transform: (Wrapped) async throws -> U?) async rethrows -> U? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}

/// A school's own case — hazards to rectify, supervision after a falling rating — under a subject id
/// derived from the school code, shaped like every other subject id.
enum SchoolCase {
    static func subjectID(_ schoolCode: String) -> String {
        "s-" + Hex.string(SHA256.hash(data: Data("school|\(schoolCode)".utf8)).prefix(16))
    }
}
