import Contracts
import Foundation
import Hummingbird
import Logging
import Messaging
import ServiceKit
import ServiceLifecycle
import Storage

/// Inspection (校园安全): the schools registry, inspections against a
/// configurable checklist, hazards with responsible units and deadlines,
/// venue checks, and the quarterly school safety rating with its bulletin.
///
/// Schools, inspections, hazards, ratings, coverage and venues hold no personal data; any valid token
/// reads them. Changing the registry, the checklist or computing a quarter's ratings is for the task
/// force and operators (the registry also the education bureau's role `education`).
public struct InspectionService: HuhangService {
    public static let name = "inspection"
    public static let defaultHTTPPort = 8084
    public static let migrations = InspectionMigrations.all
    public static var apiDocument: URL? { Bundle.module.url(forResource: "openapi", withExtension: "yaml") }

    let database: Database
    let originator: Originator
    let schools: SchoolStore
    let inspections: InspectionStore
    let ratings: RatingStore
    let venues: VenueStore
    let handlers: InspectionHandlers
    let configuration: InspectionConfiguration
    /// The time of day (the injected clock, as in every service).
    let clock: any WallClock
    let logger: Logger

    public init(context: ServiceContext) throws {
        originator = context.originator
        configuration = try InspectionConfiguration()
        database = context.database
        clock = context.clock
        logger = context.logger
        schools = SchoolStore(database: database)
        inspections = InspectionStore(database: database)
        ratings = RatingStore(database: database, rules: configuration.rules)
        venues = VenueStore(database: database)
        handlers = InspectionHandlers(configuration: configuration, clock: clock)
    }

    public func register(_ registry: inout HandlerRegistry) {
        handlers.register(&registry)
    }

    public func addRoutes(to v1: RouterGroup<HuhangRequestContext>) {
        v1.addRoutes(SchoolRoutes(schools: schools, ratings: ratings, database: database, originator: originator, clock: clock).collection, atPath: "schools")
        v1.addRoutes(InspectionRoutes(inspections: inspections).collection, atPath: "inspections")
        v1.addRoutes(HazardRoutes(inspections: inspections, clock: clock).collection, atPath: "hazards")
        v1.addRoutes(RatingRoutes(ratings: ratings, database: database, originator: originator, clock: clock).collection, atPath: "ratings")
        v1.addRoutes(CoverageRoutes(schools: schools).collection, atPath: "coverage")
        v1.addRoutes(VenueRoutes(venues: venues).collection, atPath: "venues")
        v1.addRoutes(ChecklistRoutes(inspections: inspections, database: database).collection, atPath: "checklist")
    }

    public func backgroundServices() -> [any Service] {
        let watch = HazardWatch(originator: originator, clock: clock, logger: logger)
        return [RepeatingJob("hazard-watch", every: configuration.poll, logger: logger) { try await watch.watchOnce() >= 100 }]
    }
}
