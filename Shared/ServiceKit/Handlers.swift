import Contracts
import Foundation
import Logging
import Messaging
import PostgresNIO
import ServiceLifecycle
import Storage
import Synchronization

/// What a handler did with a message.
public enum HandlerResult: Sendable, Hashable {
    /// The effect was applied (or nothing was to be done).
    case applied
    /// The handler recorded the message as rejected (committed with the rest of
    /// its transaction) and the message is also kept in `<service>.dead`.
    case setAside(reason: String)
}

/// A message that can never be handled: it is set aside in `<service>.dead`
/// with ``reason`` at once, without retries.
public struct MessageRejection: Error, Sendable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// What a handler works with: the event's envelope and the open transaction
/// in which it records its effect and the events it emits.
public struct HandlerContext: Sendable {
    /// The incoming event's attributes.
    public let envelope: EventEnvelope
    /// The connection holding the transaction; everything written through it commits or rolls back together.
    public let connection: PostgresConnection
    /// The service's schema.
    public let schema: String
    /// The service's name (the `source` of the events it emits).
    public let service: String
    /// A logger carrying the event's id, type and correlation id.
    public let logger: Logger
    /// The announcements the service publishes; an emitted announcement of another type is not written.
    let announcements: Announcements
    /// What the handler emitted, written to the outbox in one statement when it returns.
    let emitted = Emitted()
    /// What the handlers of this transaction read once for all of them (``readOnce(_:_:)``).
    let shared: Shared

    /// Answers read once per transaction, by key.
    final class Shared: Sendable {
        private let answers = Mutex<[String: any Sendable]>([:])
        /// The answers of earlier transactions, reused at the same configuration version; nil keeps none.
        let remembered: ConfigurationCache?
        /// The version of what people set, as this transaction's inbox claim read it.
        let configurationVersion: Int64?

        init(remembered: ConfigurationCache? = nil, configurationVersion: Int64? = nil) {
            self.remembered = remembered
            self.configurationVersion = configurationVersion
        }
        /// The answer kept for `key`: nil when none was, `.some(nil)` when the answer kept was nil.
        func answer<Value: Sendable>(_ key: String, as type: Value.Type) -> Value? {
            answers.withLock { answers in answers[key].flatMap { $0 as? Answer<Value> }?.value }
        }
        func keep<Value: Sendable>(_ value: Value, as key: String) { answers.withLock { $0[key] = Answer(value: value) } }
        private struct Answer<Value: Sendable>: Sendable { var value: Value }
    }

    /// The events a handler emits, kept until it returns.
    final class Emitted: Sendable {
        private let messages = Mutex<[OutgoingMessage]>([])
        func add(_ message: OutgoingMessage) { messages.withLock { $0.append(message) } }
        func take() -> [OutgoingMessage] { messages.withLock { taken in defer { taken = [] }; return taken } }
    }

    init(
        envelope: EventEnvelope, connection: PostgresConnection, schema: String, service: String, logger: Logger,
        announcements: Announcements = .none, shared: Shared = Shared()
    ) {
        self.announcements = announcements
        self.envelope = envelope
        self.shared = shared
        self.connection = connection
        self.schema = schema
        self.service = service
        self.logger = logger
    }

    /// Emits an event caused by the one being handled: it goes to the outbox
    /// in this transaction (when the handler returns) and is published after commit — unless it is an
    /// announcement the service does not publish (``Announcements``), which is not written at all.
    /// - Parameters:
    ///   - payload: The event's body.
    ///   - subject: What the event is about (an id, never personal data).
    /// - Returns: The emitted event's envelope.
    @discardableResult
    public func emit<P: EventPayload>(_ payload: P, subject: String? = nil) async throws -> EventEnvelope {
        let out = envelope.caused(type: P.eventType, source: service, subject: subject)
        if announcements.publishes(payload) { emitted.add(try OutgoingMessage(payload, envelope: out)) }
        return out
    }

    /// Emits an event to another exchange and routing key than its type's
    /// (e.g. a receipt on `huhang.replies` keyed by the agency).
    @discardableResult
    public func emit<P: EventPayload>(_ payload: P, subject: String? = nil, exchange: String, routingKey: String) async throws -> EventEnvelope {
        let out = envelope.caused(type: P.eventType, source: service, subject: subject)
        guard announcements.publishes(payload) else { return out }
        var message = try OutgoingMessage(payload, envelope: out, exchange: exchange)
        message.routingKey = routingKey
        emitted.add(message)
        return out
    }

    /// Reads what every handler of the transaction would read alike — an agency's registration, the active
    /// model, a routing rule: the first handler of a batch reads it, the others handled with it in the same
    /// transaction are given the same answer, and later transactions of the process are too while the version of
    /// what people set (counted by a trigger on each table read this way, read by the batch's inbox claim) has not
    /// changed. Only for what events do not change (what people set through the API or the admin tool), from tables
    /// that carry the `configuration_changed` trigger, since neither a later handler of the batch nor a later batch
    /// would see another change.
    /// - Parameters:
    ///   - key: What is read, e.g. `notification.rule.task.assigned.v1`.
    ///   - read: Reads it.
    public func readOnce<Value: Sendable>(_ key: String, _ read: () async throws -> Value) async throws -> Value {
        if let answer = shared.answer(key, as: Value.self) { return answer }
        let version = shared.configurationVersion
        if let version, let answer = shared.remembered?.answer(key, at: version, as: Value.self) {
            shared.keep(answer, as: key)
            return answer
        }
        let answer = try await read()
        shared.keep(answer, as: key)
        if let version { shared.remembered?.keep(answer, as: key, at: version) }
        return answer
    }

    /// Decodes the body as a contract; a body that does not match is rejected for good.
    public func decode<P: EventPayload>(_ type: P.Type, from body: [UInt8]) throws -> P {
        do {
            // Decoded where the body lies, not from a copy: a body near the size limit is held once.
            return try body.withUnsafeBytes { raw in
                guard let base = raw.baseAddress else { return try ContractCoding.decoder().decode(P.self, from: Data()) }
                let view = Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: raw.count, deallocator: .none)
                return try ContractCoding.decoder().decode(P.self, from: view)
            }
        } catch let error as DecodingError {
            throw MessageRejection("body does not match \(P.eventType.name): \(Self.explain(error))")
        } catch {
            throw MessageRejection("body is not JSON")
        }
    }

    /// A readable account of a decoding error: the field path and what was wrong.
    static func explain(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            "/" + keys.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: "/")
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context.codingPath + [key])) is required"
        case .typeMismatch(_, let context): return "\(path(context.codingPath)) has the wrong type: \(context.debugDescription)"
        case .valueNotFound(_, let context): return "\(path(context.codingPath)) is null"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON" : "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default: return "undecodable"
        }
    }
}

/// Event types handled together: a batch's events of the group's types are made into items and applied in one call —
/// more than one when a subject's other events come between them (``HandlerRegistry/on(_:from:in:_:)``,
/// ``HandlerRegistry/together(_:_:)``).
public struct HandlerGroup<Item: Sendable>: Sendable {
    /// The group's name, e.g. `assessment.observations`.
    public let name: String
    public init(_ name: String) { self.name = name }
}

/// The event types a service handles and what it does with each.
public struct HandlerRegistry: Sendable {
    public typealias RawHandler = @Sendable (_ body: [UInt8], _ context: HandlerContext) async throws -> HandlerResult
    /// Applies the events of a batch handled together, each as the item its body was made into, with its own context.
    typealias RawGroupHandler = @Sendable (_ events: [(item: any Sendable, context: HandlerContext)]) async throws -> Void

    struct Entry: Sendable {
        var exchange: String
        /// Applies one event (for a type handled together, a group of one).
        var handler: RawHandler
        /// For a type handled together: its group, and how an event's body becomes one of the group's items.
        var grouped: Grouped?
    }

    struct Grouped: Sendable {
        var group: String
        var item: @Sendable (_ body: [UInt8], _ context: HandlerContext) throws -> any Sendable
        /// Whether the type has a one-event handler of its own (``onRaw(_:from:in:item:alone:)``), rather than the group's
        /// handler given a group of one.
        var alone = false
    }

    private(set) var entries: [String: Entry] = [:]
    private(set) var groups: [String: RawGroupHandler] = [:]
    /// The routing keys the queue is bound to for a type, where not just its name (``bind(_:only:)``).
    private var routingKeys: [String: [String]] = [:]

    public init() {}

    /// Handles an event type, decoding its body into the contract type first.
    /// - Parameters:
    ///   - type: The contract.
    ///   - exchange: Where the event is published (`huhang.events` for services' events).
    ///   - handler: Applies the event inside the transaction.
    public mutating func on<P: EventPayload>(
        _ type: P.Type,
        from exchange: String = ExchangeName.events,
        _ handler: @escaping @Sendable (P, HandlerContext) async throws -> HandlerResult
    ) {
        entries[P.eventType.name] = Entry(exchange: exchange) { body, context in
            try await handler(try context.decode(P.self, from: body), context)
        }
    }

    /// Handles the events of a type that a batch holds together, in one call after the batch's other events — e.g.
    /// to record them all in one statement. The call gets them in the batch's order (by subject, then as they
    /// arrived); an event of another type about a subject the call holds events of is applied after it (the call
    /// comes first, with what it holds then, and a second call takes the rest), so that each subject's events keep
    /// their order. If a call fails, each event is handled again alone, under its own savepoint, so that a failing
    /// one is retried by itself.
    /// - Parameters:
    ///   - type: The contract.
    ///   - exchange: Where the event is published (`huhang.events` for services' events).
    ///   - handler: Applies the events inside the transaction; each comes with its own context (its envelope,
    ///     and what it emits).
    public mutating func onEach<P: EventPayload>(
        _ type: P.Type,
        from exchange: String = ExchangeName.events,
        together handler: @escaping @Sendable ([(event: P, context: HandlerContext)]) async throws -> Void
    ) {
        let group = HandlerGroup<P>(P.eventType.name)
        on(type, from: exchange, in: group) { event, _ in event }
        together(group) { events in try await handler(events.map { ($0.item, $0.context) }) }
    }

    /// Handles an event type as one of a group's: every event of the group's types that a batch holds is made
    /// into an item and the group's handler (``together(_:_:)``) takes them all in one call, in the batch's
    /// order, after the batch's other events — except that an event outside the group about a subject the group
    /// holds events of makes the group's handler apply what it holds first (a later call takes the rest). If a
    /// call fails, each event is handled again alone, under its own savepoint, so that a failing one is retried by itself.
    /// - Parameters:
    ///   - type: The contract.
    ///   - exchange: Where the event is published.
    ///   - group: The group it joins.
    ///   - item: What the group's handler is given of the event (a body that does not decode is rejected first).
    public mutating func on<P: EventPayload, Item: Sendable>(
        _ type: P.Type,
        from exchange: String = ExchangeName.events,
        in group: HandlerGroup<Item>,
        _ item: @escaping @Sendable (P, HandlerContext) throws -> Item
    ) {
        let name = group.name
        entries[P.eventType.name] = Entry(
            exchange: exchange,
            handler: { _, _ in throw MessageRejection("no handler for the group \(name)") },
            grouped: Grouped(group: name) { body, context in try item(try context.decode(P.self, from: body), context) })
        wire(name)
    }

    /// What a group's events are applied by: one call with the events of the group a batch holds (more than one
    /// when a subject's other events come between them; see ``on(_:from:in:_:)``).
    /// - Parameters:
    ///   - group: The group.
    ///   - handler: Applies the events inside the transaction; each item comes with its event's own context (its
    ///     envelope, and what it emits).
    public mutating func together<Item: Sendable>(
        _ group: HandlerGroup<Item>, _ handler: @escaping @Sendable ([(item: Item, context: HandlerContext)]) async throws -> Void
    ) {
        groups[group.name] = { events in
            try await handler(events.map { event in
                guard let item = event.item as? Item else { preconditionFailure("an item of another type in the group \(group.name)") }
                return (item, event.context)
            })
        }
        wire(group.name)
    }

    /// Gives the group's types their one-event handler (a group of one), once both the types and the group's handler are known.
    private mutating func wire(_ group: String) {
        guard let handle = groups[group] else { return }
        for (type, entry) in entries {
            guard let grouped = entry.grouped, grouped.group == group, !grouped.alone else { continue }
            entries[type]?.handler = { body, context in
                try await handle([(try grouped.item(body, context), context)])
                return .applied
            }
        }
    }

    /// Handles an event type with the raw body (for services that validate bodies themselves).
    public mutating func onRaw(_ type: EventType, from exchange: String, _ handler: @escaping RawHandler) {
        entries[type.name] = Entry(exchange: exchange, handler: handler)
    }

    /// Handles an event type with the raw body, in a batch together with the other events of a group — one call of
    /// the group's handler (``together(_:_:)``) for all of them, in the batch's order — and alone with a handler of its
    /// own, which may also set an event aside. The group's handler takes the common case in few statements: it must
    /// apply every event it is given, or throw, and the batch then runs again with each event alone, under its own
    /// savepoint, through `handler` (e.g. when one of them is to be refused or is a duplicate).
    /// - Parameters:
    ///   - type: The event type.
    ///   - exchange: Where it is published.
    ///   - group: The group it joins in a batch.
    ///   - item: What the group's handler is given of the event.
    ///   - handler: Handles the event alone.
    public mutating func onRaw<Item: Sendable>(
        _ type: EventType, from exchange: String, in group: HandlerGroup<Item>,
        item: @escaping @Sendable (_ body: [UInt8], _ context: HandlerContext) throws -> Item,
        alone handler: @escaping RawHandler
    ) {
        entries[type.name] = Entry(
            exchange: exchange, handler: handler, grouped: Grouped(group: group.name, item: { try item($0, $1) }, alone: true))
    }

    /// Binds the service's queue to only these routing keys of a type it handles, instead of the type's name: for a
    /// type published with a qualifier in its key (``EventPayload/routingKey-swift.property``, e.g.
    /// `risk.assessed.v1.critical`), the events the service acts on. Its handler must still pass over the others:
    /// a queue keeps bindings a version before made, and a replica of the version before may still publish
    /// under the plain name.
    /// - Parameters:
    ///   - type: The contract, handled by an ``on(_:from:_:)`` of its own.
    ///   - routingKeys: The keys.
    public mutating func bind<P: EventPayload>(_ type: P.Type, only routingKeys: [String]) {
        self.routingKeys[P.eventType.name] = routingKeys
    }

    /// The event types the service handles, by name.
    public var types: [String] { entries.keys.sorted() }

    /// The (exchange, routing key) bindings of the service's queue.
    public var bindings: [(exchange: String, routingKey: String)] {
        entries.sorted { $0.key < $1.key }.flatMap { type, entry in
            (routingKeys[type] ?? [type]).map { (entry.exchange, $0) }
        }
    }

    func entry(for type: String) -> Entry? { entries[type] }
}

/// What became of an event handed to a service's handlers.
public enum DispatchOutcome: Sendable, Hashable {
    /// The effect was applied and committed.
    case applied
    /// The event's id was already in the inbox: nothing changed.
    case duplicate
    /// The handler committed a rejection of its own; the event is also to be kept aside.
    case setAside(reason: String)
    /// The event can never be handled (unknown type, wrong shape): nothing was committed.
    case rejected(reason: String)
    /// The handler failed; trying again later may succeed.
    case failed(reason: String)
    /// The database could not be reached.
    case unavailable
}

/// Runs an event through a service's handlers: inbox, handler and effect in
/// one transaction. The consumer uses it for deliveries; a service's HTTP
/// ingress (intake's gateway) for events that arrive over HTTP, so both paths
/// apply the same rules exactly once.
public struct EventDispatcher: Sendable {
    let registry: HandlerRegistry
    let database: Database
    let service: String
    /// The announcements the service publishes (``ServiceConfiguration/announcements``).
    let announcements: Announcements
    let logger: Logger
    /// What handlers read through ``HandlerContext/readOnce(_:_:)``, kept across transactions.
    let remembered = ConfigurationCache()

    private struct FailpointError: Error, CustomStringConvertible {
        var description: String { "failpoint handler.fail-id: this message always fails" }
    }

    /// Handles one event.
    /// - Parameters:
    ///   - envelope: Its attributes; `id` is the inbox key.
    ///   - body: Its JSON body.
    ///   - holdWhileUnavailable: Wait for the database to come back instead of answering ``DispatchOutcome/unavailable``.
    public func dispatch(_ envelope: EventEnvelope, body: [UInt8], holdWhileUnavailable: Bool) async -> DispatchOutcome {
        await dispatch([Incoming(envelope: envelope, body: body)], holdWhileUnavailable: holdWhileUnavailable)[0]
    }

    /// The handler of an event's type, or why there is none.
    private func lookUp(_ envelope: EventEnvelope) -> Result<HandlerRegistry.Entry, MessageRejection> {
        if let entry = registry.entry(for: envelope.type) { return .success(entry) }
        if let type = EventType(name: envelope.type),
           registry.entries.keys.contains(where: { EventType(name: $0)?.family == type.family }) {
            return .failure(MessageRejection("unsupported major version: \(envelope.type) is not handled by \(service)"))
        }
        return .failure(MessageRejection("unknown event type \(envelope.type) for \(service)"))
    }

    /// The service's logger carrying the event's id, type, correlation and trace.
    private func logger(for envelope: EventEnvelope) -> Logger {
        var logger = self.logger
        logger[metadataKey: "event.id"] = .string(envelope.id)
        logger[metadataKey: "event.type"] = .string(envelope.type)
        logger[metadataKey: "event.correlation_id"] = .string(envelope.correlationID)
        if let trace = envelope.traceparent.flatMap(TraceContext.init(traceparent:)) {
            logger[metadataKey: "trace.id"] = .string(trace.traceID)
        }
        return logger
    }

    /// Runs an event's handler on the open transaction.
    /// - Returns: The handler's result and the messages it emitted (not yet in the outbox).
    private func run(
        _ entry: HandlerRegistry.Entry, envelope: EventEnvelope, body: [UInt8], on connection: PostgresConnection, logger: Logger,
        shared: HandlerContext.Shared
    ) async throws -> (HandlerResult, [OutgoingMessage]) {
        let context = try await prepare(envelope, on: connection, logger: logger, shared: shared)
        let result = try await entry.handler(body, context)
        return (result, context.emitted.take())
    }

    /// The context an event is handled in (after the failpoints tests set for it).
    private func prepare(
        _ envelope: EventEnvelope, on connection: PostgresConnection, logger: Logger, shared: HandlerContext.Shared
    ) async throws -> HandlerContext {
        if let poisoned = Failpoint.value("handler.fail-id"), poisoned == envelope.id {
            throw FailpointError()
        }
        if Failpoint.value("handler.delay-id") == envelope.id, let delay = Failpoint.value("handler.delay-ms").flatMap(Int.init) {
            try await Task.sleep(for: .milliseconds(delay))
        }
        return HandlerContext(
            envelope: envelope, connection: connection, schema: database.schema, service: service, logger: logger,
            announcements: announcements, shared: shared)
    }

    /// An event handed over with others, e.g. the deliveries a consumer received together.
    public struct Incoming: Sendable {
        public var envelope: EventEnvelope
        public var body: [UInt8]
        public init(envelope: EventEnvelope, body: [UInt8]) {
            self.envelope = envelope
            self.body = body
        }
    }

    /// A handler that failed inside a batch handled without savepoints: the batch is run again with one
    /// (a batch of one takes the failure as its outcome).
    private struct HandlerFailedInBatch: Error { let error: any Error }

    /// Handles several events in one transaction: one statement claims them all in the inbox, each handler
    /// runs in turn, one statement writes all that they emitted to the outbox, and one commit makes it
    /// durable. The outcome of each is what ``dispatch(_:body:holdWhileUnavailable:)`` would have given it.
    ///
    /// The handlers run first without savepoints. If one fails, the transaction is rolled back and the batch
    /// runs again with each handler under its own savepoint: the failing one is rolled back alone (its inbox
    /// claim with it, so that its retry is not taken for a duplicate) and the others commit once.
    /// Events are handled in the order given, except that events about different subjects are taken in the
    /// order of their subjects, so that two batches mostly lock the subjects' rows in the same order; events handled
    /// together come after the others (each subject's events still in order). Two replicas' batches that do lock
    /// rows in opposite orders meet as a deadlock, which PostgreSQL breaks; the batch that lost runs again.
    /// - Parameters:
    ///   - batch: The events.
    ///   - holdWhileUnavailable: Wait for the database to come back instead of answering ``DispatchOutcome/unavailable``.
    /// - Returns: One outcome per event, in the order given.
    public func dispatch(_ batch: [Incoming], holdWhileUnavailable: Bool) async -> [DispatchOutcome] {
        var outcomes = [DispatchOutcome?](repeating: nil, count: batch.count)
        var pending: [(index: Int, entry: HandlerRegistry.Entry)] = []
        for (index, item) in batch.enumerated() {
            switch lookUp(item.envelope) {
            case .success(let entry): pending.append((index, entry))
            case .failure(let rejection): outcomes[index] = .rejected(reason: rejection.reason)
            }
        }
        // The same order of subjects in every batch; within a subject, the order of arrival.
        pending.sort { ((batch[$0.index].envelope.subject ?? ""), $0.index) < ((batch[$1.index].envelope.subject ?? ""), $1.index) }
        let schema = database.schema
        var savepoints = false
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(5))
        var conflicts = 0
        var warned = false
        while !pending.isEmpty {
            let withSavepoints = savepoints
            let work = pending
            do {
                let results = try await database.withTransaction(within: .seconds(30)) { connection -> [(Int, DispatchOutcome)] in
                    let claim = try await Inbox.claim(
                        work.map { (batch[$0.index].envelope.id, batch[$0.index].envelope.type) }, on: connection, schema: schema, logger: logger)
                    let claimed = claim.ids
                    var handled = Set<String>()
                    var results: [(Int, DispatchOutcome)] = []
                    var emitted: [OutgoingMessage] = []
                    var rolledBack: [String] = []
                    let shared = HandlerContext.Shared(remembered: remembered, configurationVersion: claim.configurationVersion)
                    // Events of types handled together: kept for a call per group after the others, or before a later event
                    // of one of their subjects (not with savepoints, where each is handled alone).
                    var together: [String: [(index: Int, item: any Sendable, context: HandlerContext)]] = [:]
                    var togetherOrder: [String] = []
                    // The subjects of the events a group holds, so that a later event of one of them is applied after them.
                    var waiting: [String: Set<String>] = [:]
                    // Applies what the groups named hold now, in the order they were first met.
                    func apply(_ names: Set<String>) async throws {
                        for name in togetherOrder where names.contains(name) {
                            guard let group = together.removeValue(forKey: name) else { continue }
                            guard let handle = registry.groups[name] else {
                                // A type joined a group no handler takes (a service's mistake): handled alone, each is
                                // rejected by its one-event handler and set aside, its inbox claim rolled back with it.
                                throw HandlerFailedInBatch(error: MessageRejection("no handler for the group \(name)"))
                            }
                            do {
                                try await handle(group.map { ($0.item, $0.context) })
                            } catch {
                                switch DatabaseFailure(error) {
                                case .unavailable, .conflict: throw error
                                case .other: throw HandlerFailedInBatch(error: error)
                                }
                            }
                            for (index, _, context) in group {
                                emitted += context.emitted.take()
                                results.append((index, .applied))
                            }
                        }
                        togetherOrder.removeAll { names.contains($0) }
                        for (subject, groups) in waiting {
                            let left = groups.subtracting(names)
                            waiting[subject] = left.isEmpty ? nil : left
                        }
                    }
                    for (index, entry) in work {
                        let envelope = batch[index].envelope
                        guard claimed.contains(envelope.id), handled.insert(envelope.id).inserted else {
                            logger(for: envelope).debug("duplicate message ignored")
                            results.append((index, .duplicate))
                            continue
                        }
                        let logger = logger(for: envelope)
                        // A lone event of a type with a handler of its own for one event is handled by it.
                        if !withSavepoints, let grouped = entry.grouped, !(grouped.alone && work.count == 1) {
                            // Another group's events about the same subject come first.
                            if let subject = envelope.subject, let others = waiting[subject]?.subtracting([grouped.group]), !others.isEmpty {
                                try await apply(others)
                            }
                            if together[grouped.group] == nil { togetherOrder.append(grouped.group) }
                            do {
                                let context = try await prepare(envelope, on: connection, logger: logger, shared: shared)
                                together[grouped.group, default: []].append((index, try grouped.item(batch[index].body, context), context))
                            } catch {
                                throw HandlerFailedInBatch(error: error)
                            }
                            if let subject = envelope.subject { waiting[subject, default: []].insert(grouped.group) }
                            continue
                        }
                        // An event about a subject a group holds events of comes after them: the group is applied first.
                        if !withSavepoints, let subject = envelope.subject, let groups = waiting[subject] {
                            try await apply(groups)
                        }
                        if !withSavepoints {
                            do {
                                let (result, messages) = try await run(entry, envelope: envelope, body: batch[index].body, on: connection, logger: logger, shared: shared)
                                emitted += messages
                                results.append((index, Self.outcome(result)))
                            } catch {
                                switch DatabaseFailure(error) {
                                case .unavailable, .conflict: throw error
                                case .other: throw HandlerFailedInBatch(error: error)
                                }
                            }
                            continue
                        }
                        try await connection.query("SAVEPOINT handler", logger: logger)
                        do {
                            let (result, messages) = try await run(entry, envelope: envelope, body: batch[index].body, on: connection, logger: logger, shared: shared)
                            try await connection.query("RELEASE SAVEPOINT handler", logger: logger)
                            emitted += messages
                            results.append((index, Self.outcome(result)))
                        } catch {
                            if DatabaseFailure(error) == .unavailable { throw error }
                            try await connection.query("ROLLBACK TO SAVEPOINT handler", logger: logger)
                            rolledBack.append(envelope.id)
                            results.append((index, Self.outcome(failure: error)))
                        }
                    }
                    try await apply(Set(togetherOrder))
                    try await Inbox.release(rolledBack, on: connection, schema: schema, logger: logger)
                    try await Outbox.enqueue(emitted, on: connection, schema: schema, logger: logger)
                    if work.count > 1 { Failpoint.crash("dispatcher.before-commit") }
                    return results
                }
                for (index, outcome) in results { outcomes[index] = outcome }
                pending = []
            } catch let failure as HandlerFailedInBatch {
                if work.count == 1 {
                    outcomes[work[0].index] = Self.outcome(failure: failure.error)
                    pending = []
                } else {
                    savepoints = true
                }
            } catch {
                // Cancelled (a service past its shutdown time): nothing is acknowledged; the broker delivers again.
                if Task.isCancelled {
                    for (index, _) in work { outcomes[index] = .unavailable }
                    pending = []
                    continue
                }
                switch DatabaseFailure(error) {
                case .unavailable:
                    // A service that is stopping holds nothing for a database that is gone: unacknowledged, its
                    // messages go back to the broker, which gives them to another replica (or to this one again).
                    if !holdWhileUnavailable || Task.isShuttingDownGracefully {
                        for (index, _) in work { outcomes[index] = .unavailable }
                        pending = []
                        continue
                    }
                    if !warned {
                        logger.warning("database unavailable; holding the messages until it returns", metadata: [
                            "error.message": "\(DatabaseFailure.describe(error))", "batch.size": "\(work.count)",
                        ])
                        warned = true
                    }
                    let pause = backoff.next()
                    await cancelWhenGracefulShutdown { try? await Task.sleep(for: pause) }
                    if Task.isCancelled || Task.isShuttingDownGracefully {
                        for (index, _) in work { outcomes[index] = .unavailable }
                        pending = []
                    }
                case .conflict where conflicts < 5:
                    conflicts += 1
                default:
                    // Not a handler's failure (the claim, the outbox or the commit): each takes the retry path.
                    for (index, _) in work { outcomes[index] = .failed(reason: DatabaseFailure.describe(error)) }
                    pending = []
                }
            }
        }
        return outcomes.map { $0 ?? .unavailable }
    }

    /// What a handler's error makes of its event: set aside for good when it can never be handled, else retried.
    private static func outcome(failure error: any Error) -> DispatchOutcome {
        if let rejection = error as? MessageRejection { return .rejected(reason: rejection.reason) }
        return .failed(reason: DatabaseFailure.describe(error))
    }

    private static func outcome(_ result: HandlerResult) -> DispatchOutcome {
        switch result {
        case .applied: return .applied
        case .setAside(let reason): return .setAside(reason: reason)
        }
    }
}

/// Runs deliveries through the dispatcher; the consumer acknowledges after.
struct MessageProcessor: Sendable {
    let dispatcher: EventDispatcher

    /// Handles a batch of deliveries in one transaction; undecodable ones are set aside at once.
    func process(_ deliveries: [Delivery]) async -> [HandlingOutcome] {
        var outcomes = [HandlingOutcome?](repeating: nil, count: deliveries.count)
        var batch: [EventDispatcher.Incoming] = []
        var positions: [Int] = []
        for (index, delivery) in deliveries.enumerated() {
            do {
                batch.append(EventDispatcher.Incoming(envelope: try EventEnvelope(delivery: delivery), body: delivery.body))
                positions.append(index)
            } catch {
                outcomes[index] = .dead(reason: error.reason)
            }
        }
        if !batch.isEmpty {
            let dispatched = await dispatcher.dispatch(batch, holdWhileUnavailable: true)
            for (position, outcome) in zip(positions, dispatched) { outcomes[position] = Self.handling(outcome) }
        }
        return outcomes.map { $0 ?? .abandon }
    }

    static func handling(_ outcome: DispatchOutcome) -> HandlingOutcome {
        switch outcome {
        case .applied, .duplicate: return .done
        case .setAside(let reason): return .setAside(reason: reason)
        case .rejected(let reason): return .dead(reason: reason)
        case .failed(let reason): return .retry(reason: reason)
        case .unavailable: return .abandon
        }
    }

    func process(_ delivery: Delivery) async -> HandlingOutcome {
        let envelope: EventEnvelope
        do {
            envelope = try EventEnvelope(delivery: delivery)
        } catch {
            return .dead(reason: error.reason)
        }
        return Self.handling(await dispatcher.dispatch(envelope, body: delivery.body, holdWhileUnavailable: true))
    }
}

/// How a database error bears on the message being handled.
enum DatabaseFailure: Equatable {
    /// The database cannot be reached or is shutting down.
    case unavailable
    /// A serialization failure or deadlock: run the transaction again.
    case conflict
    /// Anything else.
    case other

    init(_ error: any Error) {
        if let error = error as? StorageError, error.code == .timedOut {
            self = .unavailable
            return
        }
        guard let error = error as? PSQLError else {
            self = .other
            return
        }
        switch error.code {
        case .serverClosedConnection, .connectionError, .clientClosedConnection, .uncleanShutdown:
            self = .unavailable
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            if state == "40001" || state == "40P01" {
                self = .conflict
            } else if state.hasPrefix("08") || state.hasPrefix("57P") || state == "53300" {
                self = .unavailable
            } else {
                self = .other
            }
        default:
            self = .other
        }
    }

    /// A readable account without bind values: the server's message and SQLSTATE, or the error's type.
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                return "database: \(message) (SQLSTATE \(error.serverInfo?[.sqlState] ?? "?"))"
            }
            return "database: \(error.code)"
        }
        return String(String(describing: error).prefix(500))
    }
}

/// An event domain logic wants emitted, with its CloudEvents subject: returned
/// by code that runs both in message handlers and in API calls or timers.
public struct Emission: Sendable {
    public var payload: any EventPayload
    public var subject: String?
    /// The event this one follows, when it is not the one being handled: e.g. the event a notice was about,
    /// kept with the delivery and told as delivered by a timer later. Nil starts a new chain.
    public var cause: EventEnvelope?

    /// - Parameters:
    ///   - payload: The event.
    ///   - subject: Its subject (the ordering key), e.g. a case id.
    ///   - cause: The event it follows, when not the one being handled.
    public init(_ payload: any EventPayload, subject: String?, cause: EventEnvelope? = nil) {
        self.payload = payload
        self.subject = subject
        self.cause = cause
    }
}

extension HandlerContext {
    /// Emits each, caused by the event being handled.
    public func emit(_ emissions: [Emission]) async throws {
        for emission in emissions {
            try await emitOne(emission.payload, subject: emission.subject)
        }
    }

    private func emitOne(_ payload: some EventPayload, subject: String?) async throws {
        try await emit(payload, subject: subject)
    }
}

/// Work that is not the handling of an event — an API call, a timer, a review sweep — done in one
/// transaction, with the events it causes written to the outbox in that same transaction. No service
/// builds an envelope by hand: each event starts a new chain, or follows the ``Emission/cause`` it names.
///
///     let count = try await originator.transaction { connection in
///         try await store.close(caseID: id, …, on: connection)     // returns [Emission]
///     }
public struct Originator: Sendable {
    let database: Database
    let source: String
    let announcements: Announcements

    /// - Parameters:
    ///   - database: The service's database.
    ///   - source: The service's name, the events' `source`.
    ///   - announcements: The announcements the service publishes; others it causes are not written.
    public init(database: Database, source: String, announcements: Announcements = .none) {
        self.database = database
        self.source = source
        self.announcements = announcements
    }

    /// Runs `body` in a transaction and puts the events it returns in the outbox before the commit.
    /// - Returns: How many events it caused.
    @discardableResult
    public func transaction(_ body: (PostgresConnection) async throws -> [Emission]) async throws -> Int {
        try await transaction { connection in ((), try await body(connection)) }.events
    }

    /// Runs `body` in a transaction and puts the events it returns in the outbox before the commit.
    /// - Returns: What `body` returned beside its events, and how many events were written.
    public func transaction<Value: Sendable>(
        _ body: (PostgresConnection) async throws -> (Value, [Emission])
    ) async throws -> (value: Value, events: Int) {
        try await database.withTransaction { connection in
            let (value, emissions) = try await body(connection)
            return (value, try await write(emissions, on: connection))
        }
    }

    /// Writes events to the outbox on a transaction the caller holds (announcements the service does not
    /// publish are left out).
    /// - Returns: How many were written.
    @discardableResult
    public func write(_ emissions: [Emission], on connection: PostgresConnection) async throws -> Int {
        let published = emissions.filter { announcements.publishes($0.payload) }
        guard !published.isEmpty else { return 0 }
        let messages = try published.map { try Self.message($0.payload, subject: $0.subject, cause: $0.cause, source: source) }
        try await Outbox.enqueue(messages, on: connection, schema: database.schema, logger: database.logger)
        return messages.count
    }

    static func message(_ payload: some EventPayload, subject: String?, cause: EventEnvelope?, source: String) throws -> OutgoingMessage {
        let type = type(of: payload).eventType
        let envelope = cause?.caused(type: type, source: source, subject: subject) ?? EventEnvelope(
            type: type.name, source: source, subject: subject, dataschema: type.dataschema, traceparent: TraceContext.random().traceparent)
        return try OutgoingMessage(payload, envelope: envelope)
    }
}
