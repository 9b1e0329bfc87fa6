import Contracts
import Foundation
import HTTPTypes
import Hummingbird
import PostgresNIO
import ServiceKit
import Storage

/// Intervention's API. The district task force (role `task-force`) runs cases;
/// a unit (any role, its agency code) sees the cases it has tasks in, reports
/// on its tasks, and reads its task ledger. Reading a case (its care team is
/// personal data) writes an audit entry.
///
/// | route | who |
/// |---|---|
/// | `GET /v1/cases?status=&tier=&school=&unit=&late=&order=oldest|newest&limit=&after=` | task force: all; a unit: its own |
/// | `GET /v1/cases/{id}` | task force; a unit with a task in it — audited |
/// | `PUT /v1/cases/{id}/team` | task force |
/// | `POST /v1/cases/{id}/plan` | task force |
/// | `POST /v1/cases/{id}/close`, `POST /v1/cases/{id}/reopen` | task force |
/// | `POST /v1/tasks/{id}/feedback` | the task's unit |
/// | `POST /v1/tasks/{id}/cancel` | task force |
/// | `GET /v1/units/{unit}/tasks?status=` (a status, or `open`) | the unit; task force |
/// | `PUT /v1/units/{unit}` | task force, operators: the unit's superior for escalation |
/// | `POST /v1/cases/{id}/seal`, `…/unseal` (with the order), `POST /v1/cases/{id}/access` (a reason; break the glass) | task force; access also a unit in the case |
/// | `POST /v1/cases/{id}/followups` | task force; a unit in the case |
/// | `GET /v1/referrals?status=&kind=`, `POST /v1/referrals/{id}/outcome` | task force; the outcome also the unit whose task made it |
/// | `PUT /v1/departments/{category}` | task force, operators: the units that answer a school's report of that category |
/// | `GET /v1/daily?date=`, `GET /v1/summary?period=week|month|quarter&date=` | task force |
/// | `GET /v1/days?from=&to=`: the loop day by day (at most 92 days; the last 14 by default) | task force |
struct InterventionRoutes: Sendable {
    let store: CaseStore
    let database: Database
    let clock: any WallClock
    let cipher: PersonalDataCipher
    let configuration: InterventionConfiguration

    struct Member: Codable, Sendable {
        var role: CareRole
        var name: String
        /// Where notification reaches them: a phone number (SMS) or an e-mail address.
        var contact: String
        var unit: String?
    }

    struct TeamBody: Codable { var members: [Member] }
    struct PlanBody: Codable {
        struct Item: Codable { var measure: Measure; var unit: String; var note: String? }
        var measures: [Item]
    }
    struct FeedbackBody: Codable { var status: TaskUpdatedV1.Status; var note: String?; var reason: String? }
    struct TextBody: Codable { var review: String?; var reason: String?; var order: String?; var note: String? }
    struct UnitBody: Codable { var superior: String }
    struct OutcomeBody: Codable { var outcome: String; var note: String? }
    struct DepartmentsBody: Codable { var units: [String] }

    struct Referral: Codable {
        var referralID: String
        /// Where it was referred, in the words of `referral.requested.v1` (`police_110`, `city_12345`) and of the
        /// plan's measures (`specialised_school`, `judicial_aid`, `social_aid`).
        var target: String
        /// The same as `target`; kept for readers of the first version of this list.
        var kind: String
        /// Intake's id of the call or report that asked for it (`intakeId`, the receipt's `reportId`), and its type.
        var fromIntakeID: String?
        var fromEventType: String?
        var status: String
        var outcome: String?
        var caseID: String?
        var subjectID: String?
        var fromAgency: String
        var urgent: Bool
        var requestedAt: Date
        var resolvedAt: Date?
        enum CodingKeys: String, CodingKey {
            case referralID = "referralId", target, kind, fromIntakeID = "fromIntakeId", fromEventType, status, outcome, caseID = "caseId",
                 subjectID = "subjectId", fromAgency, urgent, requestedAt, resolvedAt
        }
    }

    static func taskForce(_ identity: APIIdentity) throws {
        guard identity.role == "task-force" else { throw HTTPError(.forbidden, message: "the district task force only") }
    }

    /// What a person did, for the audit: written in the transaction of the change.
    struct Audited: Sendable {
        var identity: APIIdentity
        var action: String
        var resource: String
        var reason: String?
    }

    /// Runs an operation in a transaction, writes its audit entry and puts its events in the outbox; maps refusals to statuses.
    /// - Parameters:
    ///   - audited: Who did what, when a person acts on a case or a task.
    ///   - operation: The change; returns the events it causes.
    /// - Returns: How many events it caused.
    func perform(_ audited: Audited? = nil, _ operation: @Sendable @escaping (PostgresConnection) async throws -> [Emission]) async throws -> Int {
        do {
            return try await database.withTransaction { connection in
                let emissions = try await operation(connection)
                if let audited {
                    try await Audit.record(
                        audited.identity, action: audited.action, resource: audited.resource, reason: audited.reason, on: connection, in: database)
                }
                try await Origination.enqueue(emissions, source: InterventionService.name, on: connection, schema: database.schema, logger: database.logger)
                return emissions.count
            }
        } catch let error as InterventionError {
            let status: HTTPResponse.Status = switch error.code {
            case .notFound: .notFound
            case .forbidden: .forbidden
            case .conflict: .conflict
            case .invalid: .badRequest
            }
            throw HTTPError(status, message: error.description)
        }
    }

    /// What notification is told of a care team: roles, units and each contact sealed on its own — never names.
    /// - Parameters:
    ///   - members: The team as named.
    ///   - caseID: Its case.
    ///   - now: When it was named.
    /// - Returns: The event, given the case's subject.
    func announcement(of members: [Member], caseID: String, at now: Date) throws -> @Sendable (String) -> CareTeamChangedV1 {
        let sealed = try members.map { member in
            CareTeamChangedV1.Member(
                role: CareTeamChangedV1.Member.Role(rawValue: member.role.rawValue)!, unit: member.role == .guardian ? nil : member.unit,
                contact: Data(try cipher.seal(bytes: Data(member.contact.utf8))).base64EncodedString())
        }
        return { subjectID in CareTeamChangedV1(caseID: caseID, subjectID: subjectID, members: sealed, at: now) }
    }

    /// A case's care team as named, opened.
    func team(of caseID: String, on connection: PostgresConnection) async throws -> [Member] {
        let rows = try await connection.query(
            "SELECT identity FROM intervention.team_members WHERE case_id::text = \(caseID) ORDER BY role", logger: database.logger)
        var members: [Member] = []
        for try await sealed in rows.decode(ByteBuffer.self) { members.append(try cipher.open(Member.self, from: Array(buffer: sealed))) }
        return members
    }

    /// A sealed case opens only within a break-the-glass window granted to this reader.
    func mayOpenIfSealed(_ identity: APIIdentity, caseID: String) async throws -> Bool {
        let rows = try await database.query("""
            SELECT NOT c.sealed OR EXISTS (SELECT 1 FROM intervention.seal_access a WHERE a.case_id = c.case_id AND a.agency = \(identity.agency)
                                           AND a.person IS NOT DISTINCT FROM \(identity.person)
                                           AND a.role = \(identity.role) AND a.expires_at > \(clock.now()))
            FROM intervention.cases c WHERE c.case_id::text = \(caseID)
            """, logger: database.logger)
        for try await open in rows.decode(Bool.self) { return open }
        return true
    }

    /// A day as `YYYY-MM-DD` in China Standard Time.
    static func day(_ date: Date) -> String {
        let parts = CaseStore.calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
    }

    /// The day, week (from Monday), month or quarter holding `date` (today when absent), in China Standard Time.
    func period(_ kind: String, _ date: String?) throws -> (Date, Date) {
        let calendar = CaseStore.calendar
        let anchor: Date
        if let date {
            let parts = date.split(separator: "-").compactMap { Int($0) }
            guard parts.count == 3, let day = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2])) else {
                throw HTTPError(.badRequest, message: "date is YYYY-MM-DD")
            }
            anchor = day
        } else {
            anchor = clock.now()
        }
        let component: Calendar.Component
        switch kind {
        case "day": component = .day
        case "week": component = .weekOfYear
        case "month": component = .month
        case "quarter":
            let month = calendar.component(.month, from: anchor)
            let start = calendar.date(from: DateComponents(year: calendar.component(.year, from: anchor), month: (month - 1) / 3 * 3 + 1, day: 1))!
            return (start, calendar.date(byAdding: .month, value: 3, to: start)!)
        default: throw HTTPError(.badRequest, message: "period is day, week, month or quarter")
        }
        guard let interval = calendar.dateInterval(of: component, for: anchor) else { throw HTTPError(.badRequest, message: "no such period") }
        return (interval.start, interval.end)
    }

    func mayRead(_ identity: APIIdentity, caseID: String) async throws -> Bool {
        if identity.role == "task-force" { return true }
        let rows = try await database.query("""
            SELECT 1 FROM intervention.tasks WHERE case_id::text = \(caseID) AND unit = ANY(\([identity.unit, identity.agency])::text[]) LIMIT 1
            """, logger: database.logger)
        for try await _ in rows { return true }
        return false
    }

    func add(to v1: RouterGroup<HuhangRequestContext>) {
        v1.get("cases") { request, context in
            let identity = try context.requireIdentity()
            let query = request.uri.queryParameters
            func text(_ key: String) -> String? { query[Substring(key)].map(String.init).flatMap { $0.isEmpty ? nil : $0 } }
            let limit = min(max(Int(text("limit") ?? "") ?? 50, 1), 500)
            let late = text("late") == "true"
            // Oldest first by default; `order=newest` for the latest first. `after` is the last case of the page before.
            guard ["oldest", "newest"].contains(text("order") ?? "oldest") else { throw HTTPError(.badRequest, message: "order is oldest or newest") }
            let newest = text("order") == "newest"
            let everyone = identity.role == "task-force"
            let now = clock.now()
            let rows = try await database.query("""
                SELECT c.case_id::text, c.subject_id, c.tier, c.status, c.school_code, c.opened_at,
                       (SELECT count(*)::int FROM intervention.tasks t WHERE t.case_id = c.case_id AND t.status IN ('assigned', 'accepted', 'progress')),
                       (SELECT count(*)::int FROM intervention.tasks t WHERE t.case_id = c.case_id AND t.status IN ('assigned', 'accepted', 'progress') AND t.due_at < \(now))
                FROM intervention.cases c
                WHERE NOT c.sealed AND (\(text("status"))::text IS NULL OR c.status = \(text("status")))
                  AND (\(text("tier"))::text IS NULL OR c.tier = \(text("tier")))
                  AND (\(text("school"))::text IS NULL OR c.school_code = \(text("school")))
                  AND (\(text("unit"))::text IS NULL OR EXISTS (SELECT 1 FROM intervention.tasks t WHERE t.case_id = c.case_id AND t.unit = \(text("unit"))))
                  AND (NOT \(late) OR EXISTS (SELECT 1 FROM intervention.tasks t WHERE t.case_id = c.case_id
                                                AND t.status IN ('assigned', 'accepted', 'progress') AND t.due_at < \(now)))
                  AND (\(everyone) OR EXISTS (SELECT 1 FROM intervention.tasks t WHERE t.case_id = c.case_id AND t.unit = ANY(\([identity.unit, identity.agency])::text[])))
                  AND (\(text("after"))::text IS NULL OR CASE WHEN \(newest)
                         THEN (c.opened_at, c.case_id) < (SELECT opened_at, case_id FROM intervention.cases WHERE case_id::text = \(text("after")))
                         ELSE (c.opened_at, c.case_id) > (SELECT opened_at, case_id FROM intervention.cases WHERE case_id::text = \(text("after"))) END)
                ORDER BY CASE WHEN \(newest) THEN c.opened_at END DESC, CASE WHEN \(newest) THEN c.case_id END DESC, c.opened_at, c.case_id
                LIMIT \(limit)
                """, logger: database.logger)
            var cases: [CaseSummary] = []
            for try await (id, subject, tier, status, school, opened, open, lateTasks)
                in rows.decode((String, String, String, String, String?, Date, Int, Int).self) {
                cases.append(CaseSummary(
                    caseID: id, subjectID: subject, tier: tier, status: status, schoolCode: school, openedAt: opened, openTasks: open, lateTasks: lateTasks))
            }
            return try JSONResponse.make(cases)
        }
        v1.get("cases/:id") { _, context in
            let identity = try context.requireIdentity()
            let caseID = try context.parameters.require("id")
            guard try await mayRead(identity, caseID: caseID) else { throw HTTPError(.forbidden, message: "no task of \(identity.unit) in case \(caseID)") }
            guard try await mayOpenIfSealed(identity, caseID: caseID) else {
                throw HTTPError(.forbidden, message: "case \(caseID) is sealed; state a reason with POST /v1/cases/\(caseID)/access to open it for a while")
            }
            try await Audit.record(identity, action: "read", resource: "case/\(caseID)", in: database)
            guard let detail = try await caseDetail(caseID) else { throw HTTPError(.notFound, message: "no case \(caseID)") }
            return try JSONResponse.make(detail)
        }
        v1.post("cases/:id/access") { request, context in
            // Break the glass: a sealed case opens to this reader — the person, when the console names one — for a while,
            // on a stated reason kept in the audit.
            let identity = try context.requireIdentity()
            let caseID = try context.parameters.require("id")
            guard try await mayRead(identity, caseID: caseID) else { throw HTTPError(.forbidden, message: "no task of \(identity.unit) in case \(caseID)") }
            let reason = (try await request.decodeJSON(TextBody.self).reason ?? "").trimmingCharacters(in: .whitespaces)
            guard !reason.isEmpty else { throw HTTPError(.badRequest, message: "state the reason for opening a sealed case") }
            let now = clock.now()
            let expires = now.addingTimeInterval(configuration.sealedAccess)
            let rows = try await database.query("""
                INSERT INTO intervention.seal_access (case_id, agency, role, person, reason, granted_at, expires_at)
                SELECT case_id, \(identity.agency), \(identity.role), \(identity.person), \(reason), \(now), \(expires) FROM intervention.cases
                WHERE case_id::text = \(caseID) AND sealed RETURNING 1
                """, logger: database.logger)
            var granted = false
            for try await _ in rows { granted = true }
            guard granted else { throw HTTPError(.conflict, message: "case \(caseID) is not sealed") }
            try await Audit.record(identity, action: "break-the-glass", resource: "case/\(caseID)", reason: reason, in: database)
            return try JSONResponse.make(["expiresAt": ContractCoding.formatTime(expires)], status: .created)
        }
        v1.post("cases/:id/seal") { request, context in
            let identity = try context.requireIdentity()
            try Self.taskForce(identity)
            let caseID = try context.parameters.require("id")
            let order = try await request.decodeJSON(TextBody.self).order ?? ""
            _ = try await perform(Audited(identity: identity, action: "seal", resource: "case/\(caseID)", reason: order)) { connection in
                try await store.seal(true, caseID: caseID, order: order, actor: .api(identity), at: clock.now(), on: connection)
            }
            return Response(status: .noContent)
        }
        v1.post("cases/:id/unseal") { request, context in
            let identity = try context.requireIdentity()
            try Self.taskForce(identity)
            let caseID = try context.parameters.require("id")
            let order = try await request.decodeJSON(TextBody.self).order ?? ""
            _ = try await perform(Audited(identity: identity, action: "unseal", resource: "case/\(caseID)", reason: order)) { connection in
                try await store.seal(false, caseID: caseID, order: order, actor: .api(identity), at: clock.now(), on: connection)
            }
            return Response(status: .noContent)
        }
        v1.post("cases/:id/followups") { request, context in
            let identity = try context.requireIdentity()
            let caseID = try context.parameters.require("id")
            guard try await mayRead(identity, caseID: caseID) else { throw HTTPError(.forbidden, message: "no task of \(identity.unit) in case \(caseID)") }
            let note = try await request.decodeJSON(TextBody.self).note
            _ = try await perform(Audited(identity: identity, action: "followup", resource: "case/\(caseID)")) { connection in
                try await store.recordFollowUp(caseID: caseID, by: identity.unit, note: note, actor: .api(identity), at: clock.now(), on: connection)
            }
            return Response(status: .created)
        }
        v1.get("referrals") { request, context in
            let identity = try context.requireIdentity()
            try Self.taskForce(identity)
            let query = request.uri.queryParameters
            let status = query["status"].map(String.init), kind = (query["target"] ?? query["kind"]).map(String.init)
            let rows = try await database.query("""
                SELECT r.referral_id, r.kind, r.status, r.outcome, r.case_id::text, r.subject_id, r.from_agency, r.urgent, r.requested_at, r.resolved_at,
                       r.from_intake_id, r.from_event_type
                FROM intervention.referrals r LEFT JOIN intervention.cases c USING (case_id)
                WHERE (\(status)::text IS NULL OR r.status = \(status)) AND (\(kind)::text IS NULL OR r.kind = \(kind)) AND NOT coalesce(c.sealed, false)
                ORDER BY r.requested_at LIMIT 500
                """, logger: database.logger)
            var referrals: [Referral] = []
            for try await (id, kind, status, outcome, caseID, subject, from, urgent, requested, resolved, intakeID, eventType)
                in rows.decode((String, String, String, String?, String?, String?, String, Bool, Date, Date?, String?, String?).self) {
                referrals.append(Referral(
                    referralID: id, target: kind, kind: kind, fromIntakeID: intakeID, fromEventType: eventType, status: status, outcome: outcome,
                    caseID: caseID, subjectID: subject, fromAgency: from, urgent: urgent, requestedAt: requested, resolvedAt: resolved))
            }
            return try JSONResponse.make(referrals)
        }
        v1.post("referrals/:id/outcome") { request, context in
            let identity = try context.requireIdentity()
            let id = try context.parameters.require("id")
            // The task force, or the unit whose task made the referral.
            if identity.role != "task-force" {
                let rows = try await database.query("""
                    SELECT 1 FROM intervention.referrals r JOIN intervention.tasks t USING (task_id) WHERE r.referral_id = \(id) AND t.unit = ANY(\([identity.unit, identity.agency])::text[])
                    """, logger: database.logger)
                var allowed = false
                for try await _ in rows { allowed = true }
                guard allowed else { throw HTTPError(.forbidden, message: "the task force, or the unit the referral's task is assigned to") }
            }
            let outcome = try await request.decodeJSON(OutcomeBody.self)
            _ = try await perform(Audited(identity: identity, action: "referral-outcome", resource: "referral/\(id)", reason: outcome.outcome)) { connection in
                try await store.resolveReferral(
                    id: id, outcome: outcome.outcome, note: outcome.note, by: identity.unit, actor: .api(identity), at: clock.now(), on: connection)
            }
            return Response(status: .noContent)
        }
        v1.put("departments/:category") { request, context in
            let identity = try context.requireIdentity()
            guard ["task-force", "operator"].contains(identity.role) else { throw HTTPError(.forbidden, message: "the task force and operators only") }
            let category = try context.parameters.require("category")
            guard IncidentCategory(rawValue: category) != nil else { throw HTTPError(.notFound, message: "no incident category \(category)") }
            let units = try await request.decodeJSON(DepartmentsBody.self).units
            guard !units.isEmpty else { throw HTTPError(.badRequest, message: "name at least one unit; {district} stands for the school's district") }
            try await database.query("""
                INSERT INTO intervention.departments (category, units) VALUES (\(category), \(units)) ON CONFLICT (category) DO UPDATE SET units = EXCLUDED.units
                """, logger: database.logger)
            return Response(status: .noContent)
        }
        v1.get("daily") { request, context in
            let identity = try context.requireIdentity()
            try Self.taskForce(identity)
            let (start, end) = try period("day", request.uri.queryParameters["date"].map(String.init))
            return try JSONResponse.make(try await database.withConnection { try await store.summary(from: start, to: end, now: clock.now(), on: $0) })
        }
        v1.get("days") { request, context in
            let identity = try context.requireIdentity()
            try Self.taskForce(identity)
            let query = request.uri.queryParameters
            let (_, end) = try period("day", query["to"].map(String.init))
            let (start, _) = try period("day", query["from"].map(String.init) ?? Self.day(end.addingTimeInterval(-14 * 86400)))
            guard start < end, end.timeIntervalSince(start) <= 92 * 86400 + 3600 else {
                throw HTTPError(.badRequest, message: "from is before to, at most 92 days apart (YYYY-MM-DD, China Standard Time)")
            }
            return try JSONResponse.make(try await database.withConnection { try await store.days(from: start, to: end, now: clock.now(), on: $0) })
        }
        v1.get("summary") { request, context in
            let identity = try context.requireIdentity()
            try Self.taskForce(identity)
            let query = request.uri.queryParameters
            let (start, end) = try period(query["period"].map(String.init) ?? "week", query["date"].map(String.init))
            return try JSONResponse.make(try await database.withConnection { try await store.summary(from: start, to: end, now: clock.now(), on: $0) })
        }
        v1.put("cases/:id/team") { request, context in
            let identity = try context.requireIdentity()
            try Self.taskForce(identity)
            let caseID = try context.parameters.require("id")
            let team = try await request.decodeJSON(TeamBody.self)
            guard !team.members.isEmpty, Set(team.members.map(\.role)).count == team.members.count else {
                throw HTTPError(.badRequest, message: "name each role once: \(CareRole.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            for member in team.members where CareTeamChangedV1.Member.channel(ofContact: member.contact) == nil {
                throw HTTPError(.badRequest, message: "the \(member.role.rawValue)'s contact must be a phone number or an e-mail address")
            }
            let sealed = try team.members.map { try cipher.seal($0) }
            let now = clock.now()
            let announced = try announcement(of: team.members, caseID: caseID, at: now)
            _ = try await perform(Audited(identity: identity, action: "team", resource: "case/\(caseID)")) { connection in
                let locked = try await store.lockCase(caseID, on: connection)
                try await connection.query("DELETE FROM intervention.team_members WHERE case_id::text = \(caseID)", logger: database.logger)
                try await connection.query("""
                    INSERT INTO intervention.team_members (case_id, role, identity)
                    SELECT \(caseID)::uuid, r, i FROM unnest(\(team.members.map(\.role.rawValue))::text[], \(sealed.map { ByteBuffer(bytes: $0) })::bytea[]) AS t(r, i)
                    """, logger: database.logger)
                try await store.chronicle(
                    caseID, "team", "care team: " + team.members.map(\.role.rawValue).joined(separator: ", "), by: .api(identity), at: now,
                    on: connection)
                return [Emission(announced(locked.subjectID), subject: caseID)]
            }
            return Response(status: .noContent)
        }
        v1.post("cases/:id/plan") { request, context in
            let identity = try context.requireIdentity()
            try Self.taskForce(identity)
            let caseID = try context.parameters.require("id")
            let plan = try await request.decodeJSON(PlanBody.self)
            guard !plan.measures.isEmpty else { throw HTTPError(.badRequest, message: "a plan needs at least one measure") }
            let now = clock.now()
            let assigned = try await perform(Audited(identity: identity, action: "plan", resource: "case/\(caseID)")) { connection in
                let locked = try await store.lockCase(caseID, on: connection)
                guard locked.status == "open" else { throw InterventionError(.conflict, "case \(caseID) is \(locked.status)") }
                var emissions: [Emission] = []
                for item in plan.measures {
                    let task = try await store.assign(
                        caseID: caseID, subjectID: locked.subjectID, unit: item.unit, measure: item.measure, tier: locked.tier, urgent: false,
                        due: now.addingTimeInterval(configuration.plan[locked.tier] ?? 72 * 3600), note: item.note, by: .api(identity), at: now,
                        on: connection)
                    emissions.append(Emission(task, subject: caseID))
                }
                return emissions
            }
            return try JSONResponse.make(["tasksAssigned": assigned], status: .created)
        }
        v1.post("tasks/:id/feedback") { request, context in
            let identity = try context.requireIdentity()
            let taskID = try context.parameters.require("id")
            let feedback = try await request.decodeJSON(FeedbackBody.self)
            guard feedback.status != .cancelled, feedback.status != .assigned else {
                throw HTTPError(.badRequest, message: "feedback is accepted, progress, completed or rejected")
            }
            let audited = Audited(identity: identity, action: "feedback-\(feedback.status.rawValue)", resource: "task/\(taskID)", reason: feedback.reason)
            _ = try await perform(audited) { connection in
                try await store.update(
                    taskID: taskID, unit: identity.role == "task-force" ? nil : identity.unit, status: feedback.status, note: feedback.note, reason: feedback.reason,
                    by: .api(identity), at: clock.now(), on: connection)
            }
            return Response(status: .noContent)
        }
        v1.post("tasks/:id/cancel") { request, context in
            let identity = try context.requireIdentity()
            try Self.taskForce(identity)
            let taskID = try context.parameters.require("id")
            let text = try await request.decodeJSON(TextBody.self)
            _ = try await perform(Audited(identity: identity, action: "cancel", resource: "task/\(taskID)", reason: text.reason)) { connection in
                try await store.update(
                    taskID: taskID, unit: nil, status: .cancelled, note: nil, reason: text.reason, by: .api(identity), at: clock.now(), on: connection)
            }
            return Response(status: .noContent)
        }
        v1.post("cases/:id/close") { request, context in
            let identity = try context.requireIdentity()
            try Self.taskForce(identity)
            let caseID = try context.parameters.require("id")
            let text = try await request.decodeJSON(TextBody.self)
            _ = try await perform(Audited(identity: identity, action: "close", resource: "case/\(caseID)")) { connection in
                try await store.close(
                    caseID: caseID, review: text.review ?? "", by: .api(identity), closedBy: identity.agency, at: clock.now(), on: connection)
            }
            return Response(status: .noContent)
        }
        v1.post("cases/:id/reopen") { request, context in
            let identity = try context.requireIdentity()
            try Self.taskForce(identity)
            let caseID = try context.parameters.require("id")
            let text = try await request.decodeJSON(TextBody.self)
            let now = clock.now()
            _ = try await perform(Audited(identity: identity, action: "reopen", resource: "case/\(caseID)", reason: text.reason)) { connection in
                var emissions = try await store.reopen(caseID: caseID, reason: text.reason ?? "", by: .api(identity), at: now, on: connection)
                // Notification forgot the care team's contacts when the case closed; tell it them again.
                let members = try await team(of: caseID, on: connection)
                if !members.isEmpty, let subjectID = (emissions.first?.payload as? CaseOpenedV1)?.subjectID {
                    emissions.append(Emission(try announcement(of: members, caseID: caseID, at: now)(subjectID), subject: caseID))
                }
                return emissions
            }
            return Response(status: .noContent)
        }
        v1.get("units/:unit/tasks") { request, context in
            let identity = try context.requireIdentity()
            let unit = try context.parameters.require("unit")
            guard identity.acts(for: unit) || identity.role == "task-force" else { throw HTTPError(.forbidden, message: "a unit's own tasks only") }
            // `status=open`: still to do (assigned, accepted, in progress) — what a unit's worklist shows.
            let status = request.uri.queryParameters["status"].map(String.init)
            let statuses = status == "open" ? ["assigned", "accepted", "progress"] : status.map { [$0] }
            let rows = try await database.query("""
                SELECT t.task_id::text, t.case_id::text, t.measure, t.status, t.due_at, t.note, t.reason
                FROM intervention.tasks t JOIN intervention.cases c USING (case_id)
                WHERE t.unit = \(unit) AND NOT c.sealed AND (\(statuses)::text[] IS NULL OR t.status = ANY(\(statuses)::text[]))
                ORDER BY t.due_at LIMIT 500
                """, logger: database.logger)
            let now = clock.now()
            var tasks: [TaskLine] = []
            for try await (id, caseID, measure, status, due, note, reason) in rows.decode((String, String, String, String, Date, String?, String?).self) {
                tasks.append(TaskLine(
                    taskID: id, caseID: caseID, unit: unit, measure: measure, status: status, dueAt: due,
                    late: ["assigned", "accepted", "progress"].contains(status) && due < now, note: note, reason: reason))
            }
            return try JSONResponse.make(tasks)
        }
        v1.put("units/:unit") { request, context in
            let identity = try context.requireIdentity()
            guard ["task-force", "operator"].contains(identity.role) else { throw HTTPError(.forbidden, message: "the task force and operators only") }
            let unit = try context.parameters.require("unit")
            let body = try await request.decodeJSON(UnitBody.self)
            try await database.query("""
                INSERT INTO intervention.units (unit, superior) VALUES (\(unit), \(body.superior))
                ON CONFLICT (unit) DO UPDATE SET superior = EXCLUDED.superior
                """, logger: database.logger)
            return Response(status: .noContent)
        }
    }

    func caseDetail(_ caseID: String) async throws -> CaseDetail? {
        let rows = try await database.query("""
            SELECT subject_id, tier, status, school_code, reason, opened_at, closed_at, review, sealed
            FROM intervention.cases WHERE case_id::text = \(caseID)
            """, logger: database.logger)
        var detail: CaseDetail?
        for try await (subject, tier, status, school, reason, opened, closed, review, sealed)
            in rows.decode((String, String, String, String?, String, Date, Date?, String?, Bool).self) {
            detail = CaseDetail(
                caseID: caseID, subjectID: subject, tier: tier, status: status, schoolCode: school, reason: reason, openedAt: opened,
                closedAt: closed, review: review, sealed: sealed, team: [], tasks: [], followUps: [], referrals: [], chronology: [])
        }
        guard var detail else { return nil }
        detail.team = try await database.withConnection { try await team(of: caseID, on: $0) }
        let now = clock.now()
        let tasks = try await database.query("""
            SELECT task_id::text, unit, measure, status, due_at, note, reason FROM intervention.tasks WHERE case_id::text = \(caseID) ORDER BY seq
            """, logger: database.logger)
        for try await (id, unit, measure, status, due, note, reason) in tasks.decode((String, String, String, String, Date, String?, String?).self) {
            detail.tasks.append(TaskLine(
                taskID: id, caseID: caseID, unit: unit, measure: measure, status: status, dueAt: due,
                late: ["assigned", "accepted", "progress"].contains(status) && due < now, note: note, reason: reason))
        }
        let followUps = try await database.query("""
            SELECT due_at, visited_at, recorded_by, note, cancelled_at IS NOT NULL FROM intervention.followups
            WHERE case_id::text = \(caseID) ORDER BY due_at
            """, logger: database.logger)
        for try await (due, visited, by, note, cancelled) in followUps.decode((Date, Date?, String?, String?, Bool).self) {
            detail.followUps.append(.init(dueAt: due, visitedAt: visited, recordedBy: by, note: note, cancelled: cancelled))
        }
        let referrals = try await database.query("""
            SELECT referral_id, kind, status, outcome, note, urgent, requested_at, resolved_at, resolved_by FROM intervention.referrals
            WHERE case_id::text = \(caseID) ORDER BY requested_at
            """, logger: database.logger)
        for try await (id, target, status, outcome, note, urgent, requested, resolved, by)
            in referrals.decode((String, String, String, String?, String?, Bool, Date, Date?, String?).self) {
            detail.referrals.append(.init(
                referralID: id, target: target, status: status, outcome: outcome, note: note, urgent: urgent, requestedAt: requested,
                resolvedAt: resolved, resolvedBy: by, outcomes: ReferralKind(rawValue: target)?.outcomes ?? []))
        }
        let chronology = try await database.query("""
            SELECT kind, detail, event_id, at FROM intervention.chronology WHERE case_id::text = \(caseID) ORDER BY at, id
            """, logger: database.logger)
        for try await (kind, text, actor, at) in chronology.decode((String, String, String, Date).self) {
            detail.chronology.append(.init(kind: kind, detail: text, by: actor, at: at))
        }
        return detail
    }

    struct CaseSummary: Codable {
        var caseID: String
        var subjectID: String
        var tier: String
        var status: String
        var schoolCode: String?
        var openedAt: Date
        var openTasks: Int
        var lateTasks: Int
        enum CodingKeys: String, CodingKey { case caseID = "caseId", subjectID = "subjectId", tier, status, schoolCode, openedAt, openTasks, lateTasks }
    }

    struct TaskLine: Codable {
        var taskID: String
        var caseID: String
        var unit: String
        var measure: String
        var status: String
        var dueAt: Date
        var late: Bool
        var note: String?
        var reason: String?
        enum CodingKeys: String, CodingKey { case taskID = "taskId", caseID = "caseId", unit, measure, status, dueAt, late, note, reason }
    }

    struct CaseDetail: Codable {
        struct Entry: Codable { var kind: String; var detail: String; var by: String; var at: Date }
        var caseID: String
        var subjectID: String
        var tier: String
        var status: String
        var schoolCode: String?
        var reason: String
        var openedAt: Date
        var closedAt: Date?
        var review: String?
        /// Sealed by a court's order: out of every list, opened only by break-the-glass.
        var sealed: Bool
        var team: [Member]
        var tasks: [TaskLine]
        /// Follow-up visits of the case, due by its tier: the one due, those made, those cancelled.
        var followUps: [FollowUp]
        /// Referrals to other bodies made in the case, with their outcomes.
        var referrals: [CaseReferral]
        var chronology: [Entry]
        enum CodingKeys: String, CodingKey {
            case caseID = "caseId", subjectID = "subjectId", tier, status, schoolCode, reason, openedAt, closedAt, review, sealed, team, tasks,
                 followUps, referrals, chronology
        }
        struct FollowUp: Codable { var dueAt: Date; var visitedAt: Date?; var recordedBy: String?; var note: String?; var cancelled: Bool }
        struct CaseReferral: Codable {
            var referralID: String
            var target: String
            var status: String
            var outcome: String?
            var note: String?
            var urgent: Bool
            var requestedAt: Date
            var resolvedAt: Date?
            var resolvedBy: String?
            /// The outcomes this kind of referral may end with (`POST /v1/referrals/{id}/outcome`).
            var outcomes: [String]
            enum CodingKeys: String, CodingKey {
                case referralID = "referralId", target, status, outcome, note, urgent, requestedAt, resolvedAt, resolvedBy, outcomes
            }
        }
    }
}
