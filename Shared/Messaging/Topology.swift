/// Exchanges, queues and bindings to declare.
///
/// Declarations are idempotent: every service declares what it uses each time
/// it connects, so a broker that lost its definitions gets them back.
public struct Topology: Sendable, Hashable {
    public struct Exchange: Sendable, Hashable {
        public var name: String
        public var type: String
        public var arguments: AMQPTable
        /// Only check that the exchange exists (the operator's broker definitions declare it).
        public var passive: Bool
        public init(name: String, type: String = "topic", arguments: AMQPTable = [:], passive: Bool = false) {
            self.name = name
            self.type = type
            self.arguments = arguments
            self.passive = passive
        }
    }

    public struct Queue: Sendable, Hashable {
        public var name: String
        public var arguments: AMQPTable
        /// Only check that the queue exists, whatever its arguments.
        public var passive: Bool
        /// A queue of this connection's own, for watching rather than for work (e.g. a benchmark's view of the
        /// events it caused): not durable, exclusive to the connection that declares it, deleted with it, so the
        /// broker keeps what it holds in memory only. Every queue of the platform is durable.
        public var transient: Bool
        public init(name: String, arguments: AMQPTable, passive: Bool = false, transient: Bool = false) {
            self.name = name
            self.arguments = arguments
            self.passive = passive
            self.transient = transient
        }
    }

    /// The same topology, with the named queues only checked, not declared.
    public func passive(_ names: Set<String>) -> Topology {
        var copy = self
        for index in copy.queues.indices where names.contains(copy.queues[index].name) {
            copy.queues[index].passive = true
        }
        return copy
    }

    public struct Binding: Sendable, Hashable {
        public var queue: String
        public var exchange: String
        public var routingKey: String
        public init(queue: String, exchange: String, routingKey: String) {
            self.queue = queue
            self.exchange = exchange
            self.routingKey = routingKey
        }
    }

    public var exchanges: [Exchange]
    public var queues: [Queue]
    public var bindings: [Binding]

    public init(exchanges: [Exchange] = [], queues: [Queue] = [], bindings: [Binding] = []) {
        self.exchanges = exchanges
        self.queues = queues
        self.bindings = bindings
    }

    /// The exchanges of the platform: `huhang.intake`, where agencies
    /// publish; `huhang.events`, where services publish domain events;
    /// `huhang.replies`, where intake answers each agency (routing key = the
    /// agency's code). A receipt for an agency without a reply queue goes to
    /// `huhang.replies.unclaimed` instead of bouncing back; a domain event no
    /// service is bound to yet (a producer deployed before its consumers) goes
    /// to `huhang.events.unrouted`. Both keep what they catch for a week; the broker definitions' policy
    /// `huhang-catch-alls` bounds each to 1 GiB, dropping the oldest first.
    public static let exchanges = Topology(
        exchanges: [
            Exchange(name: ExchangeName.intake),
            Exchange(name: ExchangeName.unroutedEvents, type: "fanout"),
            Exchange(name: ExchangeName.events, arguments: ["alternate-exchange": .string(ExchangeName.unroutedEvents)]),
            Exchange(name: ExchangeName.unclaimedReplies, type: "fanout"),
            Exchange(name: ExchangeName.replies, type: "direct", arguments: ["alternate-exchange": .string(ExchangeName.unclaimedReplies)]),
        ],
        queues: [ExchangeName.unclaimedReplies, ExchangeName.unroutedEvents].map {
            Queue(name: $0, arguments: ["x-queue-type": .string("quorum"), "x-message-ttl": .int(7 * 24 * 3600 * 1000)])
        },
        bindings: [
            Binding(queue: ExchangeName.unclaimedReplies, exchange: ExchangeName.unclaimedReplies, routingKey: ""),
            Binding(queue: ExchangeName.unroutedEvents, exchange: ExchangeName.unroutedEvents, routingKey: ""),
        ])
}

/// Exchange names.
public enum ExchangeName {
    /// The only exchange agencies may publish to; routing key = event type.
    public static let intake = "huhang.intake"
    /// Domain events published by the services.
    public static let events = "huhang.events"
    /// Intake's answers to agencies; routing key = the agency's code.
    public static let replies = "huhang.replies"
    /// Answers no agency queue was bound for.
    public static let unclaimedReplies = "huhang.replies.unclaimed"
    /// Where domain events no service is bound to are kept.
    public static let unroutedEvents = "huhang.events.unrouted"

    /// The queue an agency reads its answers from.
    public static func agencyReplyQueue(_ agency: String) -> String { "agency.\(agency).replies" }
}

/// A service's queues: where its events arrive, where failed ones wait to be
/// retried, and where the ones that cannot succeed are set aside.
///
///     <service>.events      quorum; bound to the keys the service handles;
///                           delivery limit, dead-letters to <service>.dead
///     <service>.retry.<n>   quorum; holds a message for the n-th delay, then
///                           dead-letters it back to <service>.events
///     <service>.dead        quorum; kept until an operator looks
public struct ServiceQueues: Sendable, Hashable {
    /// The consumer group, e.g. `assessment`.
    public var service: String
    /// (exchange, routing key) pairs the service consumes.
    public var bindings: [(exchange: String, routingKey: String)] {
        get { storedBindings.map { ($0.exchange, $0.routingKey) } }
        set { storedBindings = newValue.map { BindingKey(exchange: $0.exchange, routingKey: $0.routingKey) } }
    }
    /// Delays before the 1st, 2nd, … retry of a message whose handler failed transiently.
    public var retryDelays: [Duration]
    /// Whether the service declares the platform's shared exchanges and queues (a development broker), or only
    /// checks that they exist and declares its own (a broker set up least-privilege from the definitions file,
    /// where a service may configure only its own queues).
    public var declaresShared: Bool
    /// How many times the broker may deliver a message before dead-lettering it
    /// (covers consumers that crash on it, where no retry could be recorded).
    public var deliveryLimit: Int

    private struct BindingKey: Sendable, Hashable { var exchange: String; var routingKey: String }
    private var storedBindings: [BindingKey]

    public init(
        service: String,
        bindings: [(exchange: String, routingKey: String)],
        retryDelays: [Duration] = [.seconds(1), .seconds(5), .seconds(30), .seconds(120), .seconds(600)],
        deliveryLimit: Int = 10,
        declaresShared: Bool = true
    ) {
        self.service = service
        self.declaresShared = declaresShared
        self.storedBindings = bindings.map { BindingKey(exchange: $0.exchange, routingKey: $0.routingKey) }
        self.retryDelays = retryDelays
        self.deliveryLimit = deliveryLimit
    }

    public static func == (lhs: ServiceQueues, rhs: ServiceQueues) -> Bool {
        lhs.service == rhs.service && lhs.storedBindings == rhs.storedBindings
            && lhs.retryDelays == rhs.retryDelays && lhs.deliveryLimit == rhs.deliveryLimit && lhs.declaresShared == rhs.declaresShared
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(service)
        hasher.combine(storedBindings)
    }

    public var mainQueue: String { "\(service).events" }
    public var deadQueue: String { "\(service).dead" }
    /// The service's own direct exchange to its queues (routing key = queue name): moves to the retry and dead
    /// queues go through it, and so do the broker's dead-lettering and the retry queues' way back, so that no
    /// service needs a right to the default exchange, which reaches every queue. Only the service may publish to it.
    public var asideExchange: String { "\(service).aside" }

    /// The queue holding a message before its `attempt`-th retry. The delay is
    /// in the name (`assessment.retry.5s`): a queue's TTL cannot change once
    /// declared, so a new delay makes a new queue and the old one drains.
    public func retryQueue(_ attempt: Int) -> String {
        let delay = retryDelays[min(max(attempt, 1), retryDelays.count) - 1]
        let milliseconds = Self.milliseconds(delay)
        let label = milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms"
        return "\(service).retry.\(label)"
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    /// Everything to declare for this service, exchanges included.
    public var topology: Topology {
        var queues = [Topology.Queue]()
        queues.append(Topology.Queue(name: deadQueue, arguments: ["x-queue-type": .string("quorum")]))
        queues.append(Topology.Queue(name: mainQueue, arguments: [
            "x-queue-type": .string("quorum"),
            "x-delivery-limit": .int(Int64(deliveryLimit)),
            "x-dead-letter-exchange": .string(asideExchange),
            "x-dead-letter-routing-key": .string(deadQueue),
            "x-dead-letter-strategy": .string("at-least-once"),
            "x-overflow": .string("reject-publish"),
        ]))
        for (index, delay) in retryDelays.enumerated() {
            let milliseconds = Self.milliseconds(delay)
            queues.append(Topology.Queue(name: retryQueue(index + 1), arguments: [
                "x-queue-type": .string("quorum"),
                "x-message-ttl": .int(milliseconds),
                "x-dead-letter-exchange": .string(asideExchange),
                "x-dead-letter-routing-key": .string(mainQueue),
                "x-dead-letter-strategy": .string("at-least-once"),
                "x-overflow": .string("reject-publish"),
            ]))
        }
        let bindings = storedBindings.map {
            Topology.Binding(queue: mainQueue, exchange: $0.exchange, routingKey: $0.routingKey)
        } + queues.map {
            Topology.Binding(queue: $0.name, exchange: asideExchange, routingKey: $0.name)
        }
        let aside = Topology.Exchange(name: asideExchange, type: "direct")
        guard declaresShared else {
            return Topology(
                exchanges: Topology.exchanges.exchanges.map { var e = $0; e.passive = true; return e } + [aside],
                queues: queues, bindings: bindings)
        }
        return Topology(
            exchanges: Topology.exchanges.exchanges + [aside],
            queues: Topology.exchanges.queues + queues,
            bindings: Topology.exchanges.bindings + bindings)
    }
}
