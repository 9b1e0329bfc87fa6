import Foundation
import Hummingbird
import Logging
import Messaging
import ServiceLifecycle
import Storage

/// What a service is: its name, its schema's migrations, the events it
/// handles, its HTTP routes. Everything else — connections, outbox, inbox,
/// health, metrics, shutdown — is ServiceKit's.
public protocol HuhangService: Sendable {
    /// The service's name; also its schema, its queue prefix and its AMQP connection name.
    static var name: String { get }
    /// The HTTP port when `HTTP_PORT` is not set.
    static var defaultHTTPPort: Int { get }
    /// The schema's migrations, numbered from 1.
    static var migrations: [Migration] { get }
    /// The service's HTTP API described in OpenAPI 3.1 (its folder's `openapi.yaml`, a resource of its
    /// module), served at `/openapi.yaml`; nil for a service without an API document.
    static var apiDocument: URL? { get }

    /// Creates the service once its database exists.
    init(context: ServiceContext) throws

    /// Registers the events the service handles.
    func register(_ handlers: inout HandlerRegistry)

    /// Adds the service's API routes to the `/v1` group; every request there
    /// carries a verified bearer token (``HuhangRequestContext/identity``).
    func addRoutes(to v1: RouterGroup<HuhangRequestContext>)

    /// Adds API routes that hand events to the service's own handlers (an
    /// HTTP ingress); by default the same as ``addRoutes(to:)``.
    func addRoutes(to v1: RouterGroup<HuhangRequestContext>, events: EventDispatcher)

    /// Long-running work of the service's own (timers, schedulers), started after migrations.
    func backgroundServices() -> [any Service]

    /// Adds routes outside `/v1` that carry no bearer token: the console's pages, which sign people in
    /// with a session of their own. The other services have none.
    func addPages(to router: Router<HuhangRequestContext>)
}

extension HuhangService {
    public static var apiDocument: URL? { nil }
    public func addRoutes(to v1: RouterGroup<HuhangRequestContext>) {}
    public func addRoutes(to v1: RouterGroup<HuhangRequestContext>, events: EventDispatcher) { addRoutes(to: v1) }
    public func backgroundServices() -> [any Service] { [] }
    public func addPages(to router: Router<HuhangRequestContext>) {}
}

/// What a service gets to work with.
public struct ServiceContext: Sendable {
    public let configuration: ServiceConfiguration
    public let database: Database
    /// Work that starts a chain (API calls, timers) runs in its transactions, its events in the outbox.
    public let originator: Originator
    public let logger: Logger
    /// The time of day for deadlines and timers; tests pass a ``ManualWallClock``.
    public let clock: any WallClock
}
