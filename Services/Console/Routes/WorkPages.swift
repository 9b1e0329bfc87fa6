import Contracts
import Foundation
import Hummingbird
import Logging
import ServiceKit

/// The pages where people work the loop: a unit's tasks and its feedback, its inbox and acknowledgement,
/// the task force's cases and a case. Each reads and writes through the services' APIs as the person.
struct WorkPages: Sendable {
    let pages: ConsolePages

    func add(to router: Router<HuhangRequestContext>) {
        router.get("/tasks") { request, _ in
            guard let session = try await pages.session(request, stage: .signedIn) else { return Response.redirect(to: "/signin") }
            // After feedback: the status it was given, said at the top (a task done leaves the list).
            let sent = request.uri.queryParameters["sent"].map(String.init).flatMap { Words.table(session.person.language)["status.\($0)"] }
            return try await tasks(session, sent: sent)
        }
        pages.postForm(router, "/tasks/:id/feedback", back: { _ in "/tasks" }) { request, context, session, form in
            let taskID = try context.parameters.require("id")
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
            return Response.redirect(to: "/tasks?sent=\(pages.path(status))")
        }
        router.get("/inbox") { request, _ in
            guard let session = try await pages.session(request, stage: .signedIn) else { return Response.redirect(to: "/signin") }
            return try await inbox(session)
        }
        pages.postForm(router, "/inbox/:delivery/ack", back: { _ in "/inbox" }) { request, context, session, form in
            let delivery = try context.parameters.require("delivery")
            do {
                _ = try await pages.services.send(
                    "POST", "notification", "/v1/inbox/\(pages.path(session.person.unit))/\(delivery)/ack", as: pages.identity(session), body: nil)
            } catch let down as ServiceCalls.Unavailable {
                return try pages.problem(message: Words.table(session.person.language)["serviceDown"]! + " " + down.service, back: "/inbox", session: session)
            }
            return Response.redirect(to: "/inbox")
        }
        router.get("/audit") { request, _ in
            guard let session = try await pages.session(request, stage: .signedIn) else { return Response.redirect(to: "/signin") }
            return try await audit(session, request)
        }
        router.get("/cases") { request, _ in
            guard let session = try await pages.session(request, stage: .signedIn) else { return Response.redirect(to: "/signin") }
            return try await cases(session, request)
        }
        // The list as a file: personal data (each case names its subject), so the task force only, on a stated purpose.
        pages.postForm(router, "/cases/export", back: { _ in "/cases" }) { _, context, session, form in
            try await exportCases(session, form: form, context: context)
        }
        router.get("/cases/:id") { request, context in
            guard let session = try await pages.session(request, stage: .signedIn) else { return Response.redirect(to: "/signin") }
            return try await casePage(session, try context.parameters.require("id"))
        }
        // Every action the API offers on a case, each a form of its own.
        pages.postForm(router, "/cases/:id/:action", back: { context in "/cases/\((try? context.parameters.require("id")) ?? "")" }) { request, context, session, form in
            let caseID = try context.parameters.require("id"), action = try context.parameters.require("action")
            let words = Words.table(session.person.language)
            func text(_ key: String) -> String { (form[key] ?? "").trimmingCharacters(in: .whitespacesAndNewlines) }
            let call: (method: String, path: String, body: [String: Any], required: String?)
            switch action {
            case "access": call = ("POST", "/v1/cases/\(caseID)/access", ["reason": text("reason")], "reason")
            case "close": call = ("POST", "/v1/cases/\(caseID)/close", ["review": text("review")], "review")
            case "reopen": call = ("POST", "/v1/cases/\(caseID)/reopen", ["reason": text("reason")], "reason")
            case "seal": call = ("POST", "/v1/cases/\(caseID)/seal", ["order": text("order")], "order")
            case "unseal": call = ("POST", "/v1/cases/\(caseID)/unseal", ["order": text("order")], "order")
            case "plan":
                var measure: [String: Any] = ["measure": text("measure"), "unit": text("unit")]
                if !text("note").isEmpty { measure["note"] = text("note") }
                call = ("POST", "/v1/cases/\(caseID)/plan", ["measures": [measure]], "unit")
            case "cancel":
                call = ("POST", "/v1/tasks/\(pages.path(text("task")))/cancel", ["reason": text("reason")], "reason")
            case "outcome":
                var body: [String: Any] = ["outcome": text("outcome")]
                if !text("note").isEmpty { body["note"] = text("note") }
                call = ("POST", "/v1/referrals/\(pages.path(text("referral")))/outcome", body, "outcome")
            case "team":
                let members: [[String: Any]] = ["guardian", "head_teacher", "psychological_teacher", "community_police"].compactMap { role in
                    let name = text("\(role)_name"), contact = text("\(role)_contact")
                    guard !name.isEmpty || !contact.isEmpty else { return nil }
                    var member: [String: Any] = ["role": role, "name": name, "contact": contact]
                    if !text("\(role)_unit").isEmpty { member["unit"] = text("\(role)_unit") }
                    return member
                }
                call = ("PUT", "/v1/cases/\(caseID)/team", ["members": members], nil)
            default:
                return try pages.problem(message: "?", back: "/cases/\(caseID)", session: session)
            }
            if let required = call.required, text(required).isEmpty {
                return try await casePage(session, caseID, failed: (action, words["required"]!), typed: form)
            }
            do {
                _ = try await pages.services.send(
                    call.method, "intervention", call.path, as: pages.identity(session),
                    body: Array(try JSONSerialization.data(withJSONObject: call.body)))
            } catch let refused as ServiceCalls.Refused {
                return try await casePage(session, caseID, failed: (action, ServiceCalls.message(refused)), typed: form)
            } catch let down as ServiceCalls.Unavailable {
                return try pages.problem(message: words["serviceDown"]! + " " + down.service, back: "/cases/\(caseID)", session: session)
            }
            return Response.redirect(to: "/cases/\(caseID)")
        }
    }

    // MARK: Pages

    /// The task force's view of the five services' audit trails, newest first, optionally for one person.
    func audit(_ session: Session, _ request: Request) async throws -> Response {
        let words = Words.table(session.person.language)
        guard session.person.role == .taskForce else {
            return try pages.page("problem", title: "problemTitle", session: session, status: .forbidden,
                                  values: ["message": words["taskForceOnly"]!, "back": "/"])
        }
        let person = request.uri.queryParameters["person"].map(String.init)?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        let filter = person.isEmpty ? "" : "&person=\(pages.path(person))"
        let identity = pages.identity(session)
        let services = ["intake", "assessment", "intervention", "inspection", "notification"]
        var entries: [(service: String, entry: [String: JSONValue])] = []
        var missing: [String] = []
        await withTaskGroup(of: (String, JSONValue?).self) { group in
            for service in services {
                group.addTask { (service, try? await pages.services.get(service, "/v1/audit?limit=50" + filter, as: identity)) }
            }
            for await (service, answer) in group {
                guard let answer else { missing.append(service); continue }
                entries += ConsolePages.items(answer).map { (service, $0) }
            }
        }
        // The console's own entries: the exports and the changes to people made here.
        entries += try await pages.store.audit(person: person.isEmpty ? nil : person, limit: 50).map { ("console", $0) }
        entries.sort { (ConsolePages.date($0.entry["at"]) ?? .distantPast) > (ConsolePages.date($1.entry["at"]) ?? .distantPast) }
        let names = try await pages.store.names(of: Array(Set(entries.prefix(100).compactMap { ConsolePages.plain($0.entry["person"] ?? .null) })))
        let rows: [[String: Any]] = entries.prefix(100).map { service, entry in
            let who = ConsolePages.plain(entry["person"] ?? .null), resource = ConsolePages.plain(entry["resource"] ?? .null)
            let caseID = resource.hasPrefix("case/") ? String(resource.dropFirst(5)) : nil
            let action = ConsolePages.plain(entry["action"] ?? .null)
            var row: [String: Any] = [
                "at": ConsolePages.when(entry["at"]), "service": service,
                "who": who.isEmpty ? "—" : (names[who].map { "\($0) (\(who))" } ?? who),
                "unit": ConsolePages.plain(entry["unit"] ?? entry["agency"] ?? .null),
                "action": words["action.\(action)"].map { "\($0) (\(action))" } ?? action,
                "resource": resource, "reason": ConsolePages.plain(entry["reason"] ?? .null),
            ]
            if let caseID { row["caseId"] = caseID }
            return row
        }
        return try pages.page("audit", title: "auditTitle", session: session, values: [
            "entries": rows, "empty": rows.isEmpty, "person": person, "missing": missing.sorted().joined(separator: ", "),
            "hasMissing": !missing.isEmpty,
        ])
    }

    /// The unit's worklist: its open tasks, soonest due first; `sent` confirms the feedback just given.
    func tasks(
        _ session: Session, failed: (task: String, field: String, message: String)? = nil, typed: [String: String] = [:], sent: String? = nil
    ) async throws -> Response {
        let words = Words.table(session.person.language)
        let answer: JSONValue
        do {
            answer = try await pages.services.get(
                "intervention", "/v1/units/\(pages.path(session.person.unit))/tasks?status=open", as: pages.identity(session))
        } catch let down as ServiceCalls.Unavailable {
            return try pages.problem(message: words["serviceDown"]! + " " + down.service, back: "/tasks", session: session)
        }
        let open = ["assigned", "accepted", "progress"]
        let tasks: [[String: Any]] = ConsolePages.items(answer).map { task in
            let id = ConsolePages.plain(task["taskId"] ?? .null)
            let measure = ConsolePages.plain(task["measure"] ?? .null), status = ConsolePages.plain(task["status"] ?? .null)
            var item: [String: Any] = [
                "taskId": id, "measure": words["measure.\(measure)"] ?? measure, "status": words["status.\(status)"] ?? status,
                "due": ConsolePages.when(task["dueAt"]), "late": task["late"] == .bool(true),
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
            values: ["tasks": tasks, "noTasks": tasks.isEmpty, "csrf": session.csrf, "sent": sent as Any])
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
                "at": ConsolePages.when(item["deliveredAt"]),
                "state": words["state.\(state)"] ?? state, "awaiting": state == "awaiting_acknowledgement",
                "critical": item["critical"] == .bool(true),
                "ackBy": ConsolePages.date(item["ackDueAt"]).map(ConsolePages.time) ?? "",
            ]
        }
        return try pages.page("inbox", title: "inboxTitle", session: session, values: ["items": items, "empty": items.isEmpty, "csrf": session.csrf])
    }

    /// Cases on one page of the list.
    static let casesPerPage = 50

    func cases(_ session: Session, _ request: Request) async throws -> Response {
        var query: [String: String] = [:]
        for key in Self.caseFilters + ["after"] {
            if let value = request.uri.queryParameters[Substring(key)] { query[key] = String(value) }
        }
        return try await cases(session, query: query)
    }

    /// The list's filters, as the page's query string and the export form's hidden fields name them.
    static let caseFilters = ["tier", "status", "school", "unit", "late"]

    /// The API's query for the list's filters (not the page).
    static func caseFilter(_ query: [String: String]) -> [String] {
        var filter: [String] = []
        for key in ["tier", "status", "school", "unit"] {
            if let value = query[key]?.trimmingCharacters(in: .whitespaces), !value.isEmpty {
                filter.append("\(key)=\(value.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._"))) ?? "")")
            }
        }
        if query["late"] == "true" { filter.append("late=true") }
        return filter
    }

    /// - Parameters:
    ///   - query: The filters and `after`, from the query string or the export form.
    ///   - failed: A mistake in the export form, said next to its field.
    ///   - typed: The export form as sent, shown again with the mistake.
    func cases(
        _ session: Session, query: [String: String], failed: OversightPages.ExportMistake? = nil, typed: [String: String] = [:]
    ) async throws -> Response {
        let words = Words.table(session.person.language)
        var filter = Self.caseFilter(query)
        let listFilter = filter
        var chosen: [String: Any] = [:]
        for key in ["tier", "status", "school", "unit"] {
            if let value = query[key]?.trimmingCharacters(in: .whitespaces), !value.isEmpty {
                chosen[key] = value
                chosen["\(key)_\(value)"] = true
            }
        }
        if query["late"] == "true" { chosen["late"] = true }
        if let after = query["after"], !after.isEmpty {
            filter.append("after=\(after.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")")
            chosen["after"] = after
        }
        let answer: JSONValue
        do {
            answer = try await pages.services.get(
                "intervention", "/v1/cases?limit=\(Self.casesPerPage)&order=newest&" + filter.joined(separator: "&"), as: pages.identity(session))
        } catch let down as ServiceCalls.Unavailable {
            return try pages.problem(message: words["serviceDown"]! + " " + down.service, back: "/", session: session)
        }
        let rows: [[String: Any]] = ConsolePages.items(answer).map { line in
            let tier = ConsolePages.plain(line["tier"] ?? .null)
            return [
                "caseId": ConsolePages.plain(line["caseId"] ?? .null), "short": String(ConsolePages.plain(line["caseId"] ?? .null).prefix(8)),
                "tier": words["tier.\(tier)"] ?? tier, "tierIcon": ConsolePages.tierIcon(tier), "school": ConsolePages.plain(line["schoolCode"] ?? .null),
                "opened": ConsolePages.when(line["openedAt"]), "openTasks": ConsolePages.plain(line["openTasks"] ?? .null),
                "lateTasks": ConsolePages.plain(line["lateTasks"] ?? .null), "hasLate": (line["lateTasks"] ?? .null) != .number(0),
            ]
        }
        var values = chosen
        values["tiers"] = ["critical", "high", "medium"].map { tier in
            ["value": tier, "label": words["tier.\(tier)"] ?? tier, "selected": chosen["tier"] as? String == tier] as [String: Any]
        }
        values["statuses"] = ["open", "closed"].map { status in
            ["value": status, "label": words["caseStatus.\(status)"] ?? status, "selected": chosen["status"] as? String == status] as [String: Any]
        }
        // The next page keeps the filters and starts after the last case shown.
        if rows.count == Self.casesPerPage, let last = rows.last?["caseId"] as? String {
            var next = filter.filter { !$0.hasPrefix("after=") }
            next.append("after=\(last)")
            values["next"] = "/cases?" + next.joined(separator: "&")
        }
        if chosen["after"] != nil {
            values["first"] = "/cases?" + filter.filter { !$0.hasPrefix("after=") }.joined(separator: "&")
        }
        values["cases"] = rows
        values["empty"] = rows.isEmpty
        values["taskForce"] = session.person.role == .taskForce
        values["exportAction"] = "/cases/export"
        values["exportTitle"] = words["exportCasesTitle"]!
        values["exportHidden"] = Self.caseFilters.map { ["name": $0, "value": query[$0] ?? ""] }
        values.merge(OversightPages.exportValues(typed: typed, filtered: !listFilter.isEmpty)) { $1 }
        if let failed { values["error_\(failed.field)"] = failed.message }
        return try pages.page("cases", title: "casesTitle", session: session, status: failed == nil ? .ok : .badRequest, values: values)
    }

    /// Every case the filters select (up to ``OversightPages/exportLimit``), as CSV or XLSX; the console's audit keeps
    /// the person, the filter, the number of rows and the purpose.
    func exportCases(_ session: Session, form: [String: String], context: HuhangRequestContext) async throws -> Response {
        let words = Words.table(session.person.language)
        guard session.person.role == .taskForce else {
            return try pages.page("problem", title: "problemTitle", session: session, status: .forbidden,
                                  values: ["message": words["exportTaskForceOnly"]!, "back": "/cases"])
        }
        let purpose: String, format: ExportTable.Format
        switch OversightPages.purpose(form, words: words) {
        case .success(let stated): (purpose, format) = stated
        case .failure(let mistake): return try await cases(session, query: form, failed: mistake, typed: form)
        }
        let filter = Self.caseFilter(form)
        var rows: [[ExportTable.Cell]] = []
        var after = ""
        do {
            while rows.count <= OversightPages.exportLimit {
                let path = "/v1/cases?" + (["limit=500", "order=newest"] + filter + (after.isEmpty ? [] : ["after=\(after)"])).joined(separator: "&")
                let page = ConsolePages.items(try await pages.services.get("intervention", path, as: pages.identity(session)))
                for line in page {
                    let tier = ConsolePages.plain(line["tier"] ?? .null), status = ConsolePages.plain(line["status"] ?? .null)
                    rows.append([
                        .text(ConsolePages.plain(line["caseId"] ?? .null)), .text(ConsolePages.plain(line["subjectId"] ?? .null)),
                        .text(words["tier.\(tier)"] ?? tier), .text(words["caseStatus.\(status)"] ?? status),
                        .text(ConsolePages.plain(line["schoolCode"] ?? .null)), .text(ConsolePages.when(line["openedAt"])),
                        .number(Double(ConsolePages.plain(line["openTasks"] ?? .null)) ?? 0), .number(Double(ConsolePages.plain(line["lateTasks"] ?? .null)) ?? 0),
                    ])
                }
                guard page.count == 500, let last = page.last.map({ ConsolePages.plain($0["caseId"] ?? .null) }) else { break }
                after = last
            }
        } catch let refused as ServiceCalls.Refused {
            return try pages.problem(refused, back: "/cases", session: session)
        } catch let down as ServiceCalls.Unavailable {
            return try pages.problem(message: words["serviceDown"]! + " " + down.service, back: "/cases", session: session)
        }
        guard rows.count <= OversightPages.exportLimit else {
            return try await cases(session, query: form, failed: .init(field: "purpose", message: words["exportTooLarge"]!), typed: form)
        }
        let table = ExportTable(
            name: words["casesTitle"]!,
            header: ["case", "subjectCol", "tier", "status", "school", "opened", "openTasks", "lateTasks"].map { words[$0] ?? $0 }, rows: rows)
        try await Audit.record(
            pages.identity(session), action: "export", resource: "cases" + (filter.isEmpty ? "" : "?" + filter.joined(separator: "&")),
            reason: "\(purpose) · \(rows.count) rows · \(format.rawValue)", in: pages.store.database)
        context.logger.notice("case list exported", metadata: ["console.export.rows": "\(rows.count)", "console.export.format": "\(format.rawValue)"])
        return OversightPages.download(table.bytes(format), format: format, filename: "cases-\(ConsolePages.day(pages.clock.now())).\(format.rawValue)")
    }

    func casePage(
        _ session: Session, _ caseID: String, failed: (action: String, message: String)? = nil, typed: [String: String] = [:]
    ) async throws -> Response {
        let words = Words.table(session.person.language)
        let answer: JSONValue
        do {
            answer = try await pages.services.get("intervention", "/v1/cases/\(pages.path(caseID))", as: pages.identity(session))
        } catch let refused as ServiceCalls.Refused {
            // A sealed case: break the glass with a reason, which the audit keeps.
            let sealed = refused.status == 403 && ServiceCalls.message(refused).contains("sealed")
            return try pages.page(sealed ? "sealed" : "problem", title: sealed ? "sealedTitle" : "problemTitle", session: session,
                                  status: failed == nil ? .init(code: refused.status) : .badRequest,
                                  values: ["message": ServiceCalls.message(refused), "back": "/cases", "caseId": caseID, "csrf": session.csrf,
                                           "error": failed?.message as Any, "typedReason": typed["reason"] ?? ""])
        } catch let down as ServiceCalls.Unavailable {
            return try pages.problem(message: words["serviceDown"]! + " " + down.service, back: "/cases", session: session)
        }
        guard case .object(let detail) = answer else { return try pages.problem(message: "?", back: "/cases", session: session) }
        let tier = ConsolePages.plain(detail["tier"] ?? .null), status = ConsolePages.plain(detail["status"] ?? .null)
        let tasks: [[String: Any]] = ConsolePages.items(detail["tasks"] ?? .null).map { task in
            let measure = ConsolePages.plain(task["measure"] ?? .null), state = ConsolePages.plain(task["status"] ?? .null)
            return [
                "taskId": ConsolePages.plain(task["taskId"] ?? .null),
                "measure": words["measure.\(measure)"] ?? measure, "unit": ConsolePages.plain(task["unit"] ?? .null),
                "status": words["status.\(state)"] ?? state, "due": ConsolePages.when(task["dueAt"]),
                "late": task["late"] == .bool(true), "open": ["assigned", "accepted", "progress"].contains(state),
            ]
        }
        let chronology: [[String: Any]] = ConsolePages.items(detail["chronology"] ?? .null).map { entry in
            [
                "at": ConsolePages.when(entry["at"]), "kind": ConsolePages.plain(entry["kind"] ?? .null),
                "detail": ConsolePages.plain(entry["detail"] ?? .null), "by": ConsolePages.plain(entry["by"] ?? .null),
            ]
        }
        let members: [[String: Any]] = ConsolePages.items(detail["team"] ?? .null).map { member in
            let role = ConsolePages.plain(member["role"] ?? .null)
            return ["label": words["careRole.\(role)"] ?? role, "name": ConsolePages.plain(member["name"] ?? .null),
                    "unit": ConsolePages.plain(member["unit"] ?? .null)]
        }
        let followUps: [[String: Any]] = ConsolePages.items(detail["followUps"] ?? .null).map { visit in
            let visited = ConsolePages.date(visit["visitedAt"]).map(ConsolePages.time)
            return [
                "due": ConsolePages.when(visit["dueAt"]),
                "visited": visited.map { "\($0) · \(ConsolePages.plain(visit["recordedBy"] ?? .null))" }
                    ?? (visit["cancelled"] == .bool(true) ? words["followUpCancelled"]! : words["followUpPending"]!),
                "note": ConsolePages.plain(visit["note"] ?? .null),
            ]
        }
        let referrals: [[String: Any]] = ConsolePages.items(detail["referrals"] ?? .null).map { referral in
            let target = ConsolePages.plain(referral["target"] ?? .null), state = ConsolePages.plain(referral["status"] ?? .null)
            var outcomes: [String] = []
            if case .array(let listed)? = referral["outcomes"] { outcomes = listed.map(ConsolePages.plain) }
            let outcome = ConsolePages.plain(referral["outcome"] ?? .null)
            return [
                "referralId": ConsolePages.plain(referral["referralId"] ?? .null), "target": words["referral.\(target)"] ?? target,
                "status": words["referralStatus.\(state)"] ?? state, "open": state == "open", "urgent": referral["urgent"] == .bool(true),
                "outcome": outcome.isEmpty ? "" : words["outcome.\(outcome)"] ?? outcome,
                "outcomes": outcomes.map { ["value": $0, "label": words["outcome.\($0)"] ?? $0] },
                "requested": ConsolePages.when(referral["requestedAt"]),
            ]
        }
        var values: [String: Any] = [
            "members": members, "hasTeam": !members.isEmpty, "followUps": followUps, "hasFollowUps": !followUps.isEmpty,
            "referrals": referrals, "hasReferrals": !referrals.isEmpty, "sealed": detail["sealed"] == .bool(true),
            "caseId": caseID, "csrf": session.csrf, "taskForce": session.person.role == .taskForce,
            "short": String(caseID.prefix(8)), "tier": words["tier.\(tier)"] ?? tier, "tierIcon": ConsolePages.tierIcon(tier),
            "status": words["caseStatus.\(status)"] ?? status, "isOpen": status == "open", "school": ConsolePages.plain(detail["schoolCode"] ?? .null),
            "reason": ConsolePages.plain(detail["reason"] ?? .null), "tasks": tasks, "chronology": chronology,
            "measures": ["counselling", "family_education", "legal_education", "skills_training", "persuade_return", "specialised_school",
                         "judicial_aid", "social_aid", "medical_green_channel", "guardianship_supervision_order", "temporary_guardian"].map {
                ["value": $0, "label": words["measure.\($0)"] ?? $0, "selected": typed["measure"] == $0] as [String: Any]
            },
            "team": ["guardian", "head_teacher", "psychological_teacher", "community_police"].map { role in
                ["role": role, "label": words["careRole.\(role)"] ?? role, "name": typed["\(role)_name"] ?? "",
                 "contact": typed["\(role)_contact"] ?? "", "unit": typed["\(role)_unit"] ?? ""] as [String: Any]
            },
        ]
        if let failed {
            values["error_\(failed.action)"] = failed.message
            for (key, value) in typed where key != "_csrf" { values["typed_\(key)"] = value }
        }
        return try pages.page("case", title: "caseTitle", session: session, status: failed == nil ? .ok : .badRequest, values: values)
    }
}

extension ConsolePages {
    /// The identity the console calls the services with for this person.
    func identity(_ session: Session) -> APIIdentity {
        APIIdentity(agency: session.person.agency, role: Role(session.person.role.rawValue), unit: session.person.unit, person: session.person.username)
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
