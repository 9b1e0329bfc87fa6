import Contracts
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import ServiceKit
import Storage

/// The kinds of agency Huhang works with.
enum AgencyKind: String, Codable, CaseIterable {
    case police, procuratorate, court, justice, education, school
    /// The Youth League's 12355 hotline.
    case youthLeagueHotline = "youth_league_hotline"
    case civilAffairs = "civil_affairs"
    case cultureTourism = "culture_tourism"
    case fire
    case urbanManagement = "urban_management"
    case health
    case socialWork = "social_work"
    case community
    case other

    /// What an agency of this kind may send when its registration names no list.
    var defaultEventTypes: [EventType] {
        let feedback = TaskFeedbackV1.eventType
        switch self {
        case .school:
            return [IncidentReportV1.eventType, ScreeningBatchV1.eventType, AttendanceSignalV1.eventType,
                    FamilySituationV1.eventType, InspectionReportV1.eventType, feedback]
        case .education:
            return [IncidentReportV1.eventType, AttendanceSignalV1.eventType, InspectionReportV1.eventType, feedback]
        case .police:
            return [IncidentReportV1.eventType, VenueFindingV1.eventType, CaseLeadV1.eventType, InspectionReportV1.eventType, feedback]
        case .procuratorate, .court, .justice:
            return [CaseLeadV1.eventType, feedback]
        case .youthLeagueHotline:
            return [HotlineCallV1.eventType, IncidentReportV1.eventType, feedback]
        case .civilAffairs, .community, .socialWork:
            return [FamilySituationV1.eventType, IncidentReportV1.eventType, feedback]
        case .cultureTourism:
            return [VenueFindingV1.eventType, feedback]
        case .fire:
            return [InspectionReportV1.eventType, feedback]
        case .health:
            return [ScreeningBatchV1.eventType, IncidentReportV1.eventType, feedback]
        case .urbanManagement, .other:
            return [IncidentReportV1.eventType, feedback]
        }
    }
}

/// A registered agency: who may publish on `huhang.intake`, and what.
struct Agency: Codable, Equatable {
    /// The agency's code; also its RabbitMQ login, checked by the broker on every publish.
    var code: String
    var name: String
    var kind: AgencyKind
    /// Event types the agency may send.
    var eventTypes: [String]
    var active: Bool
    /// The unit the agency is to the services: its tasks, notices and inbox. A school's is its school code
    /// (what its reports name as `schoolCode`); for other agencies it is the code itself.
    var unit: String

    init(code: String, name: String, kind: AgencyKind, eventTypes: [String], active: Bool, unit: String? = nil) {
        self.code = code
        self.name = name
        self.kind = kind
        self.eventTypes = eventTypes
        self.active = active
        self.unit = unit.flatMap { $0.isEmpty ? nil : $0 } ?? code
    }
}

/// What the registry says of a sender: refused with a reason, or allowed and acting as a unit.
enum AgencyAuthorization: Equatable {
    case allowed(unit: String, kind: AgencyKind)
    case refused(String)
}

/// The registry, in intake's schema.
struct AgencyRegistry: Sendable {
    let database: Database

    static let codePattern = #"^[a-z0-9][a-z0-9._-]{1,63}$"#

    /// Whether `agency` may send `type`, and the unit it acts as; the reason when it may not.
    func authorize(_ agency: String, type: String, on connection: PostgresConnection, logger: Logger) async throws -> AgencyAuthorization {
        let rows = try await connection.query(
            "SELECT active, event_types, coalesce(unit, code), kind FROM intake.agencies WHERE code = \(agency)", logger: logger)
        for try await (active, types, unit, kind) in rows.decode((Bool, [String], String, String).self) {
            if !active { return .refused("agency \(agency) is deactivated") }
            if !types.contains(type) {
                return .refused("agency \(agency) may not send \(type); it may send \(types.sorted().joined(separator: ", "))")
            }
            return .allowed(unit: unit, kind: AgencyKind(rawValue: kind) ?? .other)
        }
        return .refused("agency \(agency) is not registered with Huhang")
    }

    /// The same check outside a transaction.
    func authorize(_ agency: String, type: String) async throws -> AgencyAuthorization {
        try await database.withConnection { connection in
            try await authorize(agency, type: type, on: connection, logger: database.logger)
        }
    }

    func upsert(_ agency: Agency) async throws {
        try await database.query("""
            INSERT INTO intake.agencies (code, name, kind, event_types, active, unit)
            VALUES (\(agency.code), \(agency.name), \(agency.kind.rawValue), \(agency.eventTypes), \(agency.active), \(agency.unit))
            ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind,
                event_types = excluded.event_types, active = excluded.active, unit = excluded.unit, updated_at = now()
            """, logger: database.logger)
    }

    func list() async throws -> [Agency] {
        let rows = try await database.query(
            "SELECT code, name, kind, event_types, active, unit FROM intake.agencies ORDER BY code", logger: database.logger)
        var agencies: [Agency] = []
        for try await (code, name, kind, types, active, unit) in rows.decode((String, String, String, [String], Bool, String?).self) {
            agencies.append(Agency(code: code, name: name, kind: AgencyKind(rawValue: kind) ?? .other, eventTypes: types, active: active, unit: unit))
        }
        return agencies
    }
}

/// `POST /v1/agencies` registers or updates an agency (operators only); `GET /v1/agencies` lists them.
enum AgencyRoutes {
    struct Registration: Codable {
        var code: String
        var name: String
        var kind: AgencyKind
        var eventTypes: [String]?
        var active: Bool?
        var unit: String?
    }

    /// A unit's name: a school code (`370102-M03`) or a unit such as `psb-370102`.
    static let unitPattern = #"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$"#

    static func add(to v1: RouterGroup<HuhangRequestContext>, registry: AgencyRegistry) {
        v1.post("agencies") { request, context in
            let identity = try context.requireIdentity()
            guard identity.role == "operator" else { throw HTTPError(.forbidden, message: "only operators register agencies") }
            let registration: Registration
            do {
                registration = try await request.decodeJSON(Registration.self)
            } catch let error as HTTPError {
                throw HTTPError(.badRequest, message: "\(error.body ?? "the body does not match"); expected {code, name, kind, eventTypes?, active?, unit?}, kind one of \(AgencyKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if registration.kind == .school, (registration.unit ?? "").isEmpty {
                throw HTTPError(.badRequest, message: "unit: a school registers with its school code as its unit (the schoolCode its reports carry, e.g. 370102-M03), so that its tasks, notices and inbox are its own")
            }
            if let unit = registration.unit, unit.range(of: Self.unitPattern, options: .regularExpression) == nil {
                throw HTTPError(.badRequest, message: "unit must match \(Self.unitPattern)")
            }
            guard registration.code.range(of: AgencyRegistry.codePattern, options: .regularExpression) != nil else {
                throw HTTPError(.badRequest, message: "code must match \(AgencyRegistry.codePattern)")
            }
            let known = Set(Contracts.agencyPayloads.map { $0.eventType.name })
            let types = registration.eventTypes ?? registration.kind.defaultEventTypes.map(\.name)
            if let unknown = types.first(where: { !known.contains($0) }) {
                throw HTTPError(.badRequest, message: "unknown event type \(unknown); agencies may send \(known.sorted().joined(separator: ", "))")
            }
            let agency = Agency(code: registration.code, name: registration.name, kind: registration.kind,
                                eventTypes: types.sorted(), active: registration.active ?? true, unit: registration.unit)
            try await registry.upsert(agency)
            context.logger.notice("agency registered", metadata: ["intake.agency": "\(agency.code)", "api.operator": "\(identity.agency)"])
            return try JSONResponse.make(agency, status: .created)
        }
        v1.get("agencies") { _, context in
            let identity = try context.requireIdentity()
            guard ["operator", "task-force"].contains(identity.role) else { throw HTTPError(.forbidden, message: "operators and the task force only") }
            return try JSONResponse.make(try await registry.list())
        }
    }
}
