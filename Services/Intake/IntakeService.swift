import Contracts
import Foundation
import Hummingbird
import Messaging
import ServiceKit
import Storage

/// Intake: the agencies' front door. Validates each event, knows which agency
/// sent it (the broker-verified AMQP `user_id`), drops exact duplicates,
/// replaces identities by subject ids and passes accepted events on.
public struct IntakeService: HuhangService {
    public static let name = "intake"
    public static let defaultHTTPPort = 8081
    public static let migrations = IntakeMigrations.all
    public static var apiDocument: URL? { Bundle.module.url(forResource: "openapi", withExtension: "yaml") }

    let database: Database
    let agencies: AgencyStore
    let events: EventStore
    let identities: IdentityStore
    let handlers: IntakeHandlers
    let cipher: PersonalDataCipher
    /// The time of day (the injected clock, as in every service).
    let clock: any WallClock

    public init(context: ServiceContext) throws {
        database = context.database
        clock = context.clock
        cipher = try PersonalDataCipher.fromEnvironment(logger: context.logger)
        agencies = AgencyStore(database: database)
        events = EventStore(database: database)
        identities = IdentityStore(database: database)
        handlers = IntakeHandlers(
            subjects: try SubjectResolver(configuration: IntakeConfiguration(), logger: context.logger),
            agencies: agencies, cipher: cipher, clock: clock)
    }

    public func addRoutes(to v1: RouterGroup<HuhangRequestContext>, events dispatcher: EventDispatcher) {
        v1.addRoutes(AgencyRoutes(agencies: agencies).collection, atPath: "agencies")
        v1.addRoutes(EventRoutes(dispatcher: dispatcher, events: events, agencies: agencies).collection, atPath: "events")
        v1.addRoutes(IdentityRoutes(identities: identities, cipher: cipher, database: database).collection, atPath: "subjects")
        v1.addRoutes(MatchRoutes(identities: identities, database: database).collection, atPath: "matches")
        v1.addRoutes(StatisticsRoutes(events: events, clock: clock).collection, atPath: "stats")
    }

    public func register(_ registry: inout HandlerRegistry) {
        handlers.register(&registry)
    }
}
