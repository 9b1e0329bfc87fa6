import Contracts
import Foundation
import HTTPTypes
import Hummingbird
import ServiceKit
import Storage

/// Cases: the task force's list and the units' own, a case with its care team, plan, tasks, follow-ups,
/// referrals and chronology (every read audited), and what the task force does to a case.
///
///     GET  /v1/cases?status=&tier=&school=&subject=&unit=&late=&order=oldest|newest&limit=&after=   task force: all; a unit: its own
///     GET  /v1/cases/{id}                        task force; a unit with a task in it — audited
///     PUT  /v1/cases/{id}/team                   task force
///     POST /v1/cases/{id}/plan, …/close, …/reopen, …/seal, …/unseal    task force
///     POST /v1/cases/{id}/access                 a reason; break the glass (task force; a unit in the case)
///     POST /v1/cases/{id}/followups              task force; a unit in the case
struct CaseRoutes: Sendable {
    let stores: InterventionStores
    let operations: CaseOperations
    let clock: any WallClock
    var policy: CasePolicy { CasePolicy(stores: stores, clock: clock) }
    let cipher: PersonalDataCipher
    let configuration: InterventionConfiguration

    var collection: RouteCollection<HuhangRequestContext> {
        RouteCollection(context: HuhangRequestContext.self)
            .get(use: list)
            .get(":id", use: detail)
            .post(":id/access", use: grantAccess)
            .post(":id/seal", use: seal)
            .post(":id/unseal", use: unseal)
            .post(":id/followups", use: recordFollowUp)
            .put(":id/team", use: setTeam)
            .post(":id/plan", use: plan)
            .post(":id/close", use: close)
            .post(":id/reopen", use: reopen)
    }

    @Sendable func list(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let query = request.uri.queryParameters
        func text(_ key: String) -> String? { query[Substring(key)].map(String.init).flatMap { $0.isEmpty ? nil : $0 } }
        let limit = min(max(Int(text("limit") ?? "") ?? 50, 1), 500)
        let late = text("late") == "true"
        // Oldest first by default; `order=newest` for the latest first. `after` is the last case of the page before.
        guard ["oldest", "newest"].contains(text("order") ?? "oldest") else { throw HTTPError(.badRequest, message: "order is oldest or newest") }
        let newest = text("order") == "newest"
        var filter = CaseStore.CaseFilter()
        filter.status = text("status")
        filter.tier = text("tier")
        filter.school = text("school")
        filter.subject = text("subject")
        filter.unit = text("unit")
        filter.late = late
        filter.newest = newest
        filter.after = text("after")
        filter.limit = limit
        let readerUnits = identity.role == .taskForce ? nil : identity.units
        let cases = try await stores.cases.list(filter, readerUnits: readerUnits, now: clock.now())
        return try JSONResponse.make(cases)
    }

    @Sendable func detail(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let caseID = try context.parameters.require("id")
        try await policy.requireRead(identity, caseID: caseID)
        try await policy.requireOpen(identity, caseID: caseID)
        try await operations.audit(identity, action: "read", resource: "case/\(caseID)")
        guard let found = try await stores.cases.detail(caseID, now: clock.now()) else {
            throw HTTPError(.notFound, message: "no case \(caseID)")
        }
        var detail = found.0
        let sealedTeam = found.1
        detail.team = try sealedTeam.map { try cipher.open(CareTeamMember.self, from: $0) }
        return try JSONResponse.make(detail)
    }

    @Sendable func grantAccess(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        // Break the glass: a sealed case opens to this reader — the person, when the console names one — for a while,
        // on a stated reason kept in the audit.
        let identity = try context.requireIdentity()
        let caseID = try context.parameters.require("id")
        try await policy.requireRead(identity, caseID: caseID)
        let reason = (try await request.decodeJSON(TextBody.self).reason ?? "").trimmingCharacters(in: .whitespaces)
        guard !reason.isEmpty else { throw HTTPError(.badRequest, message: "state the reason for opening a sealed case") }
        let now = clock.now()
        let expires = now.addingTimeInterval(configuration.sealedAccess)
        guard try await stores.cases.grantAccess(caseID, to: identity, reason: reason, at: now, until: expires) else {
            throw HTTPError(.conflict, message: "case \(caseID) is not sealed")
        }
        try await operations.audit(identity, action: "break-the-glass", resource: "case/\(caseID)", reason: reason)
        return try JSONResponse.make(["expiresAt": ContractCoding.formatTime(expires)], status: .created)
    }

    @Sendable func seal(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        try await setSealed(true, request, context)
    }

    @Sendable func unseal(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        try await setSealed(false, request, context)
    }

    /// Seals or unseals a case on a court's order (the task force), audited with the order.
    func setSealed(_ sealed: Bool, _ request: Request, _ context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        try CaseOperations.requireTaskForce(identity)
        let caseID = try context.parameters.require("id")
        let order = try await request.decodeJSON(TextBody.self).order ?? ""
        let audited = CaseOperations.Audited(identity: identity, action: sealed ? "seal" : "unseal", resource: "case/\(caseID)", reason: order)
        _ = try await operations.perform(audited) { connection in
            try await stores.cases.seal(sealed, caseID: caseID, order: order, actor: .api(identity), at: clock.now(), on: connection)
        }
        return Response(status: .noContent)
    }

    @Sendable func recordFollowUp(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let caseID = try context.parameters.require("id")
        try await policy.requireRead(identity, caseID: caseID)
        let note = try await request.decodeJSON(TextBody.self).note
        _ = try await operations.perform(CaseOperations.Audited(identity: identity, action: "followup", resource: "case/\(caseID)")) { connection in
            try await stores.escalation.recordFollowUp(caseID: caseID, by: identity.unit, note: note, actor: .api(identity), at: clock.now(), on: connection)
        }
        return Response(status: .created)
    }

    @Sendable func setTeam(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        try CaseOperations.requireTaskForce(identity)
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
        _ = try await operations.perform(CaseOperations.Audited(identity: identity, action: "team", resource: "case/\(caseID)")) { connection in
            let locked = try await stores.cases.lockCase(caseID, on: connection)
            try await stores.cases.replaceTeam(of: caseID, roles: team.members.map(\.role.rawValue), sealed: sealed, on: connection)
            try await stores.cases.chronicle(
                caseID, "team", "care team: " + team.members.map(\.role.rawValue).joined(separator: ", "), by: .api(identity), at: now,
                on: connection)
            return [Emission(announced(locked.subjectID), subject: caseID)]
        }
        return Response(status: .noContent)
    }

    @Sendable func plan(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        try CaseOperations.requireTaskForce(identity)
        let caseID = try context.parameters.require("id")
        let plan = try await request.decodeJSON(PlanBody.self)
        guard !plan.measures.isEmpty else { throw HTTPError(.badRequest, message: "a plan needs at least one measure") }
        let now = clock.now()
        let assigned = try await operations.perform(CaseOperations.Audited(identity: identity, action: "plan", resource: "case/\(caseID)")) { connection in
            let locked = try await stores.cases.lockCase(caseID, on: connection)
            guard locked.status == "open" else { throw InterventionError(.conflict, "case \(caseID) is \(locked.status)") }
            var emissions: [Emission] = []
            for item in plan.measures {
                let task = try await stores.tasks.assign(
                    caseID: caseID, subjectID: locked.subjectID, unit: item.unit, measure: item.measure, tier: locked.tier, urgent: false,
                    due: configuration.planDue(locked.tier, from: now), note: item.note, by: .api(identity), at: now,
                    on: connection)
                emissions.append(Emission(task, subject: caseID))
            }
            return emissions
        }
        return try JSONResponse.make(["tasksAssigned": assigned], status: .created)
    }

    @Sendable func close(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        try CaseOperations.requireTaskForce(identity)
        let caseID = try context.parameters.require("id")
        let text = try await request.decodeJSON(TextBody.self)
        _ = try await operations.perform(CaseOperations.Audited(identity: identity, action: "close", resource: "case/\(caseID)")) { connection in
            try await stores.cases.close(
                caseID: caseID, review: text.review ?? "", by: .api(identity), closedBy: identity.agency, at: clock.now(), on: connection)
        }
        return Response(status: .noContent)
    }

    @Sendable func reopen(_ request: Request, context: HuhangRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        try CaseOperations.requireTaskForce(identity)
        let caseID = try context.parameters.require("id")
        let text = try await request.decodeJSON(TextBody.self)
        let now = clock.now()
        _ = try await operations.perform(CaseOperations.Audited(identity: identity, action: "reopen", resource: "case/\(caseID)", reason: text.reason)) { connection in
            var emissions = try await stores.cases.reopen(caseID: caseID, reason: text.reason ?? "", by: .api(identity), at: now, on: connection)
            // Notification forgot the care team's contacts when the case closed; tell it them again.
            let members = try await stores.cases.sealedTeam(of: caseID, on: connection).map { try cipher.open(CareTeamMember.self, from: $0) }
            if !members.isEmpty, let subjectID = (emissions.first?.payload as? CaseOpenedV1)?.subjectID {
                emissions.append(Emission(try announcement(of: members, caseID: caseID, at: now)(subjectID), subject: caseID))
            }
            return emissions
        }
        return Response(status: .noContent)
    }

    /// What notification is told of a care team: roles, units and each contact sealed on its own — never names.
    /// - Parameters:
    ///   - members: The team as named.
    ///   - caseID: Its case.
    ///   - now: When it was named.
    /// - Returns: The event, given the case's subject.
    func announcement(of members: [CareTeamMember], caseID: String, at now: Date) throws -> @Sendable (String) -> CareTeamChangedV1 {
        let sealed = try members.map { member in
            CareTeamChangedV1.Member(
                role: CareTeamChangedV1.Member.Role(rawValue: member.role.rawValue)!, unit: member.role == .guardian ? nil : member.unit,
                contact: Data(try cipher.seal(bytes: Data(member.contact.utf8))).base64EncodedString())
        }
        return { subjectID in CareTeamChangedV1(caseID: caseID, subjectID: subjectID, members: sealed, at: now) }
    }
}
