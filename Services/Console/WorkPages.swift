import Contracts
import Foundation
import Hummingbird
import ServiceKit

/// The pages where people work the loop: a unit's tasks and its feedback, its inbox and acknowledgement,
/// the task force's cases and a case. Each reads and writes through the services' APIs as the person.
struct WorkPages: Sendable {
    let pages: ConsolePages

    func add(to router: Router<HuhangRequestContext>) {
        router.get("/tasks") { request, _ in
            guard let session = try await pages.session(request, stage: .signedIn) else { return Response.redirect(to: "/signin") }
            return try await tasks(session)
        }
        router.post("/tasks/:id/feedback") { request, context in
            guard let session = try await pages.session(request, stage: .signedIn) else { return Response.redirect(to: "/signin") }
            let taskID = try context.parameters.require("id")
            let form = try await ConsolePages.form(request)
            guard ConsolePages.sameOrigin(request), form["_csrf"] == session.csrf else {
                return try pages.problem("formExpired", back: "/tasks", language: session.person.language, status: .forbidden)
            }
            let status = form["status"] ?? ""
            let note = (form["note"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            let reason = (form["reason"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            let words = Words.table(session.person.language)
            // Said next to the field, with what was typed kept.
            if status == "rejected" && reason.isEmpty {
                return try await tasks(session, failed: (taskID, "reason", words["reasonRequired"]!), typed: form)
            }
            var body: [String: String] = ["status": status]
            if !note.isEmpty { body["note"] = note }
            if !reason.isEmpty { body["reason"] = reason }
            do {
                _ = try await pages.services.send(
                    "POST", "intervention", "/v1/tasks/\(taskID)/feedback", as: pages.identity(session), body: Array(try JSONEncoder().encode(body)))
            } catch let refused as ServiceCalls.Refused {
                return try await tasks(session, failed: (taskID, "status", ServiceCalls.message(refused)), typed: form)
            } catch let down as ServiceCalls.Unavailable {
                return try pages.problem(message: words["serviceDown"]! + " " + down.service, back: "/tasks", session: session)
            }
            return Response.redirect(to: "/tasks?done=\(taskID)")
        }
        router.get("/inbox") { request, _ in
            guard let session = try await pages.session(request, stage: .signedIn) else { return Response.redirect(to: "/signin") }
            return try await inbox(session)
        }
        router.post("/inbox/:delivery/ack") { request, context in
            guard let session = try await pages.session(request, stage: .signedIn) else { return Response.redirect(to: "/signin") }
            let delivery = try context.parameters.require("delivery")
            let form = try await ConsolePages.form(request)
            guard ConsolePages.sameOrigin(request), form["_csrf"] == session.csrf else {
                return try pages.problem("formExpired", back: "/inbox", language: session.person.language, status: .forbidden)
            }
            do {
                _ = try await pages.services.send(
                    "POST", "notification", "/v1/inbox/\(pages.path(session.person.unit))/\(delivery)/ack", as: pages.identity(session), body: nil)
            } catch let down as ServiceCalls.Unavailable {
                return try pages.problem(message: Words.table(session.person.language)["serviceDown"]! + " " + down.service, back: "/inbox", session: session)
            }
            return Response.redirect(to: "/inbox")
        }
        router.get("/cases") { request, _ in
            guard let session = try await pages.session(request, stage: .signedIn) else { return Response.redirect(to: "/signin") }
            return try await cases(session, request)
        }
        router.get("/cases/:id") { request, context in
            guard let session = try await pages.session(request, stage: .signedIn) else { return Response.redirect(to: "/signin") }
            return try await casePage(session, try context.parameters.require("id"))
        }
    }

    // MARK: Pages

    func tasks(_ session: Session, failed: (task: String, field: String, message: String)? = nil, typed: [String: String] = [:]) async throws -> Response {
        let words = Words.table(session.person.language)
        let answer: JSONValue
        do {
            answer = try await pages.services.get("intervention", "/v1/units/\(pages.path(session.person.unit))/tasks", as: pages.identity(session))
        } catch let down as ServiceCalls.Unavailable {
            return try pages.problem(message: words["serviceDown"]! + " " + down.service, back: "/tasks", session: session)
        }
        let open = ["assigned", "accepted", "progress"]
        let tasks: [[String: Any]] = ConsolePages.items(answer).map { task in
            let id = ConsolePages.plain(task["taskId"] ?? .null)
            let measure = ConsolePages.plain(task["measure"] ?? .null), status = ConsolePages.plain(task["status"] ?? .null)
            var item: [String: Any] = [
                "taskId": id, "measure": words["measure.\(measure)"] ?? measure, "status": words["status.\(status)"] ?? status,
                "due": ConsolePages.time(ConsolePages.date(task["dueAt"]) ?? Date()), "late": task["late"] == .bool(true),
                "note": ConsolePages.plain(task["note"] ?? .null), "hasNote": !ConsolePages.plain(task["note"] ?? .null).isEmpty,
                "open": open.contains(status), "caseId": ConsolePages.plain(task["caseId"] ?? .null),
            ]
            let kept = failed?.task == id
            if let failed, kept {
                item["statusError"] = failed.field == "status" ? failed.message : nil
                item["reasonError"] = failed.field == "reason" ? failed.message : nil
                item["typedNote"] = typed["note"] ?? ""
                item["typedReason"] = typed["reason"] ?? ""
            }
            item["choices"] = ["accepted", "progress", "completed", "rejected"].map { choice in
                ["value": choice, "label": words["status.\(choice)"] ?? choice, "selected": kept && typed["status"] == choice] as [String: Any]
            }
            return item
        }
        return try pages.page(
            "tasks", title: "tasksTitle", session: session, status: failed == nil ? .ok : .badRequest,
            values: ["tasks": tasks, "noTasks": tasks.isEmpty, "csrf": session.csrf])
    }

    func inbox(_ session: Session) async throws -> Response {
        let words = Words.table(session.person.language)
        let answer: JSONValue
        do {
            answer = try await pages.services.get("notification", "/v1/inbox/\(pages.path(session.person.unit))", as: pages.identity(session))
        } catch let down as ServiceCalls.Unavailable {
            return try pages.problem(message: words["serviceDown"]! + " " + down.service, back: "/inbox", session: session)
        }
        guard case .object(let inbox) = answer else { return try pages.page("inbox", title: "inboxTitle", session: session) }
        let items: [[String: Any]] = ConsolePages.items(inbox["items"] ?? .null).map { item in
            let state = ConsolePages.plain(item["state"] ?? .null)
            return [
                "deliveryId": ConsolePages.plain(item["deliveryId"] ?? .null), "body": ConsolePages.plain(item["body"] ?? .null),
                "at": ConsolePages.time(ConsolePages.date(item["deliveredAt"]) ?? Date()),
                "state": words["state.\(state)"] ?? state, "awaiting": state == "awaiting_acknowledgement",
                "critical": item["critical"] == .bool(true),
                "ackBy": ConsolePages.date(item["ackDueAt"]).map(ConsolePages.time) ?? "",
            ]
        }
        return try pages.page("inbox", title: "inboxTitle", session: session, values: ["items": items, "empty": items.isEmpty, "csrf": session.csrf])
    }

    func cases(_ session: Session, _ request: Request) async throws -> Response {
        let words = Words.table(session.person.language)
        let query = request.uri.queryParameters
        var filter: [String] = []
        var chosen: [String: Any] = [:]
        for key in ["tier", "status", "school", "unit"] {
            if let value = query[Substring(key)].map(String.init), !value.isEmpty {
                filter.append("\(key)=\(value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")")
                chosen[key] = value
                chosen["\(key)_\(value)"] = true
            }
        }
        if query["late"] == "true" { filter.append("late=true"); chosen["late"] = true }
        let answer: JSONValue
        do {
            answer = try await pages.services.get("intervention", "/v1/cases?limit=100&" + filter.joined(separator: "&"), as: pages.identity(session))
        } catch let down as ServiceCalls.Unavailable {
            return try pages.problem(message: words["serviceDown"]! + " " + down.service, back: "/", session: session)
        }
        let rows: [[String: Any]] = ConsolePages.items(answer).map { line in
            let tier = ConsolePages.plain(line["tier"] ?? .null)
            return [
                "caseId": ConsolePages.plain(line["caseId"] ?? .null), "short": String(ConsolePages.plain(line["caseId"] ?? .null).prefix(8)),
                "tier": words["tier.\(tier)"] ?? tier, "tierIcon": ConsolePages.tierIcon(tier), "school": ConsolePages.plain(line["schoolCode"] ?? .null),
                "opened": ConsolePages.time(ConsolePages.date(line["openedAt"]) ?? Date()), "openTasks": ConsolePages.plain(line["openTasks"] ?? .null),
                "lateTasks": ConsolePages.plain(line["lateTasks"] ?? .null), "hasLate": (line["lateTasks"] ?? .null) != .number(0),
            ]
        }
        var values = chosen
        values["tiers"] = ["critical", "high", "medium"].map { tier in
            ["value": tier, "label": words["tier.\(tier)"] ?? tier, "selected": chosen["tier"] as? String == tier] as [String: Any]
        }
        values["cases"] = rows
        values["empty"] = rows.isEmpty
        return try pages.page("cases", title: "casesTitle", session: session, values: values)
    }

    func casePage(_ session: Session, _ caseID: String) async throws -> Response {
        let words = Words.table(session.person.language)
        let answer: JSONValue
        do {
            answer = try await pages.services.get("intervention", "/v1/cases/\(pages.path(caseID))", as: pages.identity(session))
        } catch let refused as ServiceCalls.Refused {
            return try pages.page("problem", title: "problemTitle", session: session, status: .init(code: refused.status),
                                  values: ["message": ServiceCalls.message(refused), "back": "/cases"])
        } catch let down as ServiceCalls.Unavailable {
            return try pages.problem(message: words["serviceDown"]! + " " + down.service, back: "/cases", session: session)
        }
        guard case .object(let detail) = answer else { return try pages.problem(message: "?", back: "/cases", session: session) }
        let tier = ConsolePages.plain(detail["tier"] ?? .null), status = ConsolePages.plain(detail["status"] ?? .null)
        let tasks: [[String: Any]] = ConsolePages.items(detail["tasks"] ?? .null).map { task in
            let measure = ConsolePages.plain(task["measure"] ?? .null), state = ConsolePages.plain(task["status"] ?? .null)
            return [
                "measure": words["measure.\(measure)"] ?? measure, "unit": ConsolePages.plain(task["unit"] ?? .null),
                "status": words["status.\(state)"] ?? state, "due": ConsolePages.time(ConsolePages.date(task["dueAt"]) ?? Date()),
                "late": task["late"] == .bool(true),
            ]
        }
        let chronology: [[String: Any]] = ConsolePages.items(detail["chronology"] ?? .null).map { entry in
            [
                "at": ConsolePages.time(ConsolePages.date(entry["at"]) ?? Date()), "kind": ConsolePages.plain(entry["kind"] ?? .null),
                "detail": ConsolePages.plain(entry["detail"] ?? .null), "by": ConsolePages.plain(entry["by"] ?? .null),
            ]
        }
        return try pages.page("case", title: "caseTitle", session: session, values: [
            "short": String(caseID.prefix(8)), "tier": words["tier.\(tier)"] ?? tier, "tierIcon": ConsolePages.tierIcon(tier),
            "status": words["caseStatus.\(status)"] ?? status, "school": ConsolePages.plain(detail["schoolCode"] ?? .null),
            "reason": ConsolePages.plain(detail["reason"] ?? .null), "tasks": tasks, "chronology": chronology,
        ])
    }
}

extension ConsolePages {
    /// The identity the console calls the services with for this person.
    func identity(_ session: Session) -> APIIdentity {
        APIIdentity(agency: session.person.agency, role: session.person.role.rawValue, unit: session.person.unit, person: session.person.username)
    }

    /// A value made safe as one path segment.
    func path(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._"))) ?? value
    }

    /// A tier as a sign that needs no colour: one to four bars.
    static func tierIcon(_ tier: String) -> String {
        switch tier {
        case "critical": "▮▮▮▮"
        case "high": "▮▮▮▯"
        case "medium": "▮▮▯▯"
        default: "▮▯▯▯"
        }
    }
}

extension ServiceCalls {
    /// What a service said when it refused: its message, without the JSON around it.
    static func message(_ refused: Refused) -> String {
        if case .object(let body)? = try? JSONValue.parse(Array(refused.message.utf8)), case .object(let error)? = body["error"],
           case .string(let message)? = error["message"] {
            return message
        }
        return refused.message
    }
}
