import Contracts
import Foundation
import Hummingbird
import Logging
import Messaging
import ServiceKit
import ServiceLifecycle
import Storage

/// Notification: every person who must act is told, and that is recorded.
/// Routing rules (data) name who hears of each event and on which channels;
/// the in-app inbox is written at once; webhooks, SMS and e-mail are sent by the
/// ``DeliverySender``, every attempt recorded, retried with back-off and jitter,
/// one delivery per event, recipient and channel however often the event comes.
public struct NotificationService: HuhangService {
    public static let name = "notification"
    public static let defaultHTTPPort = 8085
    public static let migrations = NotificationMigrations.all
    public static var apiDocument: URL? { Bundle.module.url(forResource: "openapi", withExtension: "yaml") }

    let database: Database
    /// Writes the events the delivery rounds cause (as the service's settings say, `ANNOUNCE` included).
    let originator: Originator
    let configuration: NotificationConfiguration
    let deliveries: DeliveryStore
    let recipients: RecipientStore
    let handlers: NotificationHandlers
    let clock: any WallClock
    let cipher: PersonalDataCipher
    let logger: Logger

    public init(context: ServiceContext) throws {
        database = context.database
        originator = context.originator
        configuration = try NotificationConfiguration()
        clock = context.clock
        cipher = try PersonalDataCipher.fromEnvironment(logger: context.logger)
        logger = context.logger
        deliveries = DeliveryStore(database: database)
        recipients = RecipientStore(database: database)
        handlers = NotificationHandlers(configuration: configuration, clock: clock, cipher: cipher)
    }

    public func register(_ registry: inout HandlerRegistry) {
        handlers.register(&registry)
    }

    public func addRoutes(to v1: RouterGroup<HuhangRequestContext>) {
        v1.addRoutes(InboxRoutes(deliveries: deliveries, clock: clock, database: database).collection, atPath: "inbox")
        v1.addRoutes(DeliveryRoutes(deliveries: deliveries).collection, atPath: "deliveries")
        v1.addRoutes(RecipientRoutes(recipients: recipients).collection, atPath: "recipients")
        v1.addRoutes(EndpointRoutes(recipients: recipients).collection, atPath: "endpoints")
        v1.addRoutes(RuleRoutes(recipients: recipients, noticeTypes: handlers.noticeTypes).collection, atPath: "rules")
    }

    public func backgroundServices() -> [any Service] {
        let sender = DeliverySender(database: database, originator: originator, configuration: configuration, clock: clock, cipher: cipher, logger: logger)
        return [RepeatingJob("notification-dispatch", every: .milliseconds(200), logger: logger) { try await sender.round() }]
    }
}
