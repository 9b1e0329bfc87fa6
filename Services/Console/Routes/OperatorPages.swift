import AsyncHTTPClient
import Contracts
import Foundation
import Hummingbird
import Logging
import NIOHTTP1
import ServiceKit

/// The operators' pages: each service's health and key figures at a glance, its dead letters with their
/// reasons and a replay, the agencies (register, change their event types, deactivate), and notification's
/// routing rules and endpoints. Everything goes through the services' APIs with the operator's identity, which
/// the services audit.
struct OperatorPages: Sendable {
    let pages: ConsolePages

    static let services = ["intake", "assessment", "intervention", "inspection", "notification"]
    /// The kinds an agency registers as (intake's registry).
    static let agencyKinds = [
        "police", "procuratorate", "court", "justice", "education", "school", "youth_league_hotline", "civil_affairs", "culture_tourism", "fire",
        "urban_management", "health", "social_work", "community", "other",
    ]

    func add(to router: Router<HuhangRequestContext>) {
        get(router, "/operations") { _, _, session in try await operations(session) }
        get(router, "/dead") { request, _, session in
            try await deadLetters(session, service: SafetyPages.text(request.uri.queryParameters["service"]),
                                  done: SafetyPages.text(request.uri.queryParameters["done"]))
        }
        post(router, "/dead/:service/:id/replay", back: { _ in "/dead" }) { _, context, session, _ in
            let service = try context.parameters.require("service"), id = try context.parameters.require("id")
            guard Self.services.contains(service) else { return try await deadLetters(session, service: "intake") }
            do {
                _ = try await pages.services.send("POST", service, "/v1/dead/\(pages.path(id))/replay", as: pages.identity(session), body: nil)
            } catch let refused as ServiceCalls.Refused {
                return try await deadLetters(session, service: service, failed: ServiceCalls.message(refused))
            }
            return Response.redirect(to: "/dead?service=\(service)&done=1")
        }
        get(router, "/agencies") { request, _, session in
            try await agencies(session, done: SafetyPages.text(request.uri.queryParameters["done"]))
        }
        post(router, "/agencies", back: { _ in "/agencies" }) { _, _, session, form in
            try await register(session, form: form)
        }
        get(router, "/routing") { request, _, session in
            try await routing(session, done: SafetyPages.text(request.uri.queryParameters["done"]))
        }
        post(router, "/routing/rules/:type", back: { _ in "/routing" }) { _, context, session, form in
            try await setRule(session, type: try context.parameters.require("type"), form: form)
        }
        post(router, "/routing/endpoints", back: { _ in "/routing" }) { _, _, session, form in
            try await setEndpoint(session, form: form)
        }
    }

    /// A page for operators only; a service that cannot be reached is said on the page.
    func get(
        _ router: Router<HuhangRequestContext>, _ path: RouterPath,
        _ handle: @escaping @Sendable (Request, HuhangRequestContext, Session) async throws -> Response
    ) {
        router.get(path) { request, context in
            guard let session = try await pages.session(request, stage: .signedIn) else { return Response.redirect(to: "/signin") }
            return try await guarded(session) { try await handle(request, context, session) }
        }
    }

    /// A form for operators only, with the session's CSRF token from the console's own origin.
    func post(
        _ router: Router<HuhangRequestContext>, _ path: RouterPath, back: @escaping @Sendable (HuhangRequestContext) -> String,
        _ handle: @escaping @Sendable (Request, HuhangRequestContext, Session, [String: String]) async throws -> Response
    ) {
        pages.postForm(router, path, back: back) { request, context, session, form in
            try await guarded(session) { try await handle(request, context, session, form) }
        }
    }

    func guarded(_ session: Session, _ body: () async throws -> Response) async throws -> Response {
        let words = Words.table(session.person.language)
        guard session.person.role == .operator else {
            return try pages.page("problem", title: "problemTitle", session: session, status: .forbidden,
                                  values: ["message": words["operatorsOnly"]!, "back": "/"])
        }
        do {
            return try await body()
        } catch let refused as ServiceCalls.Refused {
            return try pages.problem(refused, back: "/", session: session)
        } catch let down as ServiceCalls.Unavailable {
            return try pages.problem(message: words["serviceDown"]! + " " + down.service, back: "/", session: session)
        }
    }

    // MARK: Health and figures

    /// Each service: ready or not, and its figures since it started — messages handled, set aside and retried,
    /// outbox rows not yet sent — read from its `/metrics`, all at once.
    func operations(_ session: Session) async throws -> Response {
        let found = await withTaskGroup(of: (String, Bool, [String: Double]?).self) { group in
            for name in Self.services {
                group.addTask {
                    async let ready = pages.services.isReady(name)
                    async let figures = pages.services.metrics(name)
                    return (name, await ready, await figures)
                }
            }
            var found: [String: (Bool, [String: Double]?)] = [:]
            for await (name, ready, figures) in group { found[name] = (ready, figures) }
            return found
        }
        func figure(_ figures: [String: Double]?, _ key: String) -> String {
            guard let figures else { return "—" }
            return String(Int(figures[key] ?? 0))
        }
        let rows: [[String: Any]] = Self.services.map { name in
            let (ready, figures) = found[name] ?? (false, nil)
            let aside = (figures?[#"huhang_messages_consumed_total{outcome="set_aside"}"#] ?? 0)
                + (figures?[#"huhang_messages_consumed_total{outcome="dead"}"#] ?? 0)
            return [
                "name": name, "ready": ready, "done": figure(figures, #"huhang_messages_consumed_total{outcome="done"}"#),
                "aside": figures == nil ? "—" : String(Int(aside)), "hasAside": aside > 0,
                "retried": figure(figures, #"huhang_messages_consumed_total{outcome="retry"}"#),
                "unsent": figure(figures, "huhang_outbox_unsent"), "sent": figure(figures, "huhang_outbox_sent_total"),
            ]
        }
        return try pages.page("operations", title: "operationsTitle", session: session, values: ["services": rows])
    }

    // MARK: Dead letters

    /// Dead letters on the page, the newest first.
    static let deadShown = 200

    func deadLetters(_ session: Session, service: String, done: String = "", failed: String? = nil) async throws -> Response {
        let service = Self.services.contains(service) ? service : "intake"
        var values: [String: Any] = [
            "service": service, "done": !done.isEmpty, "error": failed as Any,
            "choices": Self.services.map { ["value": $0, "selected": $0 == service] },
        ]
        do {
            // The newest first: the queue gives its oldest first, so the page reads the first thousand and turns them round.
            let answer = try await pages.services.get(service, "/v1/dead?limit=1000", as: pages.identity(session))
            if case .object(let listing) = answer {
                let all = ConsolePages.items(listing["letters"] ?? .null)
                values["shown"] = min(all.count, Self.deadShown)
                values["total"] = all.count
                values["capped"] = all.count == 1000
                let letters: [[String: Any]] = all.reversed().prefix(Self.deadShown).map { letter in
                    [
                        "id": ConsolePages.plain(letter["messageId"] ?? .null), "type": ConsolePages.plain(letter["type"] ?? .null),
                        "at": ConsolePages.when(letter["deadAt"]), "sender": ConsolePages.plain(letter["sender"] ?? .null),
                        "reason": ConsolePages.plain(letter["reason"] ?? .null),
                    ]
                }
                values["letters"] = letters
                values["empty"] = letters.isEmpty
                values["queue"] = ConsolePages.plain(listing["queue"] ?? .null)
            }
        } catch let refused as ServiceCalls.Refused {
            values["error"] = ServiceCalls.message(refused)
        }
        return try pages.page("dead", title: "deadTitle", session: session, status: failed == nil ? .ok : .badRequest, values: values)
    }

    // MARK: Agencies

    func agencies(
        _ session: Session, done: String = "", failed: [String: String] = [:], typed: [String: String] = [:]
    ) async throws -> Response {
        let words = Words.table(session.person.language)
        let list = ConsolePages.items(try await pages.services.get("intake", "/v1/agencies", as: pages.identity(session)))
        let rows: [[String: Any]] = list.map { agency in
            var types: [String] = []
            if case .array(let listed)? = agency["eventTypes"] { types = listed.map(ConsolePages.plain) }
            let kind = ConsolePages.plain(agency["kind"] ?? .null)
            return [
                "code": ConsolePages.plain(agency["code"] ?? .null), "name": ConsolePages.plain(agency["name"] ?? .null),
                "kind": words["agencyKind.\(kind)"] ?? kind, "kindValue": kind, "unit": ConsolePages.plain(agency["unit"] ?? .null),
                "types": types.joined(separator: ", "), "typeValues": types.map { ["value": $0] },
                "active": agency["active"] == .bool(true),
            ]
        }
        let chosenTypes = Set(typed.keys.filter { $0.hasPrefix("type:") }.map { String($0.dropFirst(5)) })
        var values: [String: Any] = [
            "agencies": rows, "empty": rows.isEmpty, "done": done.isEmpty ? "" : words["agencyDone.\(done)"] ?? "",
            "kinds": Self.agencyKinds.map { ["value": $0, "label": words["agencyKind.\($0)"] ?? $0, "selected": typed["kind"] == $0] },
            "eventTypes": Contracts.agencyPayloads.map { payload in payload.eventType.name }.sorted().map { ["value": $0, "checked": chosenTypes.contains($0)] },
            // Named apart from the rows' code, name and unit: a row without a unit must not show what was typed.
            "typedCode": typed["code"] ?? "", "typedName": typed["name"] ?? "", "typedUnit": typed["unit"] ?? "",
        ]
        for (field, message) in failed { values["error_\(field)"] = message }
        return try pages.page("agencies", title: "agenciesTitle", session: session, status: failed.isEmpty ? .ok : .badRequest, values: values)
    }

    /// Registers or updates an agency through intake's API; `active=false` with the agency's fields deactivates it.
    func register(_ session: Session, form: [String: String]) async throws -> Response {
        let words = Words.table(session.person.language)
        func text(_ key: String) -> String { (form[key] ?? "").trimmingCharacters(in: .whitespaces) }
        var failed: [String: String] = [:]
        if text("code").isEmpty { failed["code"] = words["required"]! }
        if text("name").isEmpty { failed["name"] = words["required"]! }
        if !Self.agencyKinds.contains(text("kind")) { failed["kind"] = words["required"]! }
        if text("kind") == "school" && text("unit").isEmpty { failed["unit"] = words["schoolUnitRequired"]! }
        let types = form.keys.filter { $0.hasPrefix("type:") }.map { String($0.dropFirst(5)) }.sorted()
        guard failed.isEmpty else { return try await agencies(session, failed: failed, typed: form) }
        var body: [String: Any] = ["code": text("code"), "name": text("name"), "kind": text("kind"), "active": form["active"] != "false"]
        if !text("unit").isEmpty { body["unit"] = text("unit") }
        if !types.isEmpty { body["eventTypes"] = types }
        do {
            _ = try await pages.services.send(
                "POST", "intake", "/v1/agencies", as: pages.identity(session), body: Array(try JSONSerialization.data(withJSONObject: body)))
        } catch let refused as ServiceCalls.Refused {
            let message = ServiceCalls.message(refused)
            let field = ["unit", "code", "kind"].first { message.hasPrefix($0) } ?? (message.hasPrefix("unknown event type") ? "types" : "code")
            return try await agencies(session, failed: [field: message], typed: form)
        }
        return Response.redirect(to: "/agencies?done=\(form["active"] == "false" ? "deactivated" : "saved")")
    }

    // MARK: Routing

    static let channels = ["inbox", "webhook", "sms", "email"]

    func routing(
        _ session: Session, done: String = "", failed: (key: String, message: String)? = nil, typed: [String: String] = [:]
    ) async throws -> Response {
        let words = Words.table(session.person.language)
        let rules = ConsolePages.items(try await pages.services.get("notification", "/v1/rules", as: pages.identity(session)))
        let rows: [[String: Any]] = rules.map { rule in
            let type = ConsolePages.plain(rule["eventType"] ?? .null)
            var recipients: [String] = [], channels: [String] = []
            if case .array(let listed)? = rule["recipients"] { recipients = listed.map(ConsolePages.plain) }
            if case .array(let listed)? = rule["channels"] { channels = listed.map(ConsolePages.plain) }
            let mine = failed?.key == "rule:\(type)"
            let key = Self.ruleKey(type)
            return [
                "type": type, "key": key, "recipients": mine ? typed["recipients"] ?? "" : recipients.joined(separator: ", "),
                "critical": mine ? typed["critical-\(key)"] == "true" : rule["critical"] == .bool(true),
                "channels": Self.channels.map { channel in
                    ["value": channel, "label": words["channel.\(channel)"] ?? channel,
                     "checked": mine ? typed["channel-\(key)-\(channel)"] != nil : channels.contains(channel)] as [String: Any]
                },
                "error": mine ? failed?.message as Any : "",
            ]
        }
        var values: [String: Any] = [
            "rules": rows, "done": done.isEmpty ? "" : words["routingDone.\(done)"] ?? "",
            "endpointChannels": ["webhook", "sms", "email"].map { ["value": $0, "label": words["channel.\($0)"] ?? $0, "selected": typed["channel"] == $0] },
            "recipient": failed?.key == "endpoint" ? typed["recipient"] ?? "" : "", "address": failed?.key == "endpoint" ? typed["address"] ?? "" : "",
        ]
        if failed?.key == "endpoint" { values["error_endpoint"] = failed?.message }
        return try pages.page("routing", title: "routingTitle", session: session, status: failed == nil ? .ok : .badRequest, values: values)
    }

    /// A rule's fields are named after its event type (`task-assigned-v1`), so that no two forms on the page share a
    /// checkbox's name.
    static func ruleKey(_ type: String) -> String { type.replacingOccurrences(of: ".", with: "-") }

    func setRule(_ session: Session, type: String, form: [String: String]) async throws -> Response {
        let key = Self.ruleKey(type)
        let recipients = (form["recipients"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let channels = Self.channels.filter { form["channel-\(key)-\($0)"] != nil }
        let body: [String: Any] = ["recipients": recipients, "channels": channels, "critical": form["critical-\(key)"] == "true"]
        do {
            _ = try await pages.services.send(
                "PUT", "notification", "/v1/rules/\(pages.path(type))", as: pages.identity(session),
                body: Array(try JSONSerialization.data(withJSONObject: body)))
        } catch let refused as ServiceCalls.Refused {
            return try await routing(session, failed: ("rule:\(type)", ServiceCalls.message(refused)), typed: form)
        }
        return Response.redirect(to: "/routing?done=rule")
    }

    /// Sets where a unit is reached beyond its inbox. The address is not shown again: a signing secret never is.
    func setEndpoint(_ session: Session, form: [String: String]) async throws -> Response {
        let words = Words.table(session.person.language)
        func text(_ key: String) -> String { (form[key] ?? "").trimmingCharacters(in: .whitespaces) }
        guard !text("recipient").isEmpty, ["webhook", "sms", "email"].contains(text("channel")), !text("address").isEmpty else {
            return try await routing(session, failed: ("endpoint", words["endpointRequired"]!), typed: form)
        }
        var body = ["address": text("address")]
        if !text("secret").isEmpty { body["secret"] = text("secret") }
        do {
            _ = try await pages.services.send(
                "PUT", "notification", "/v1/endpoints/\(pages.path(text("recipient")))/\(text("channel"))", as: pages.identity(session),
                body: Array(try JSONEncoder().encode(body)))
        } catch let refused as ServiceCalls.Refused {
            return try await routing(session, failed: ("endpoint", ServiceCalls.message(refused)), typed: form)
        }
        return Response.redirect(to: "/routing?done=endpoint")
    }
}

extension ServiceCalls {
    /// A service's Prometheus figures since it started, by series (`name` or `name{labels}`); nil when it cannot
    /// be reached. Behind a load balancer, the figures are those of the replica that answered.
    func metrics(_ service: String) async -> [String: Double]? {
        guard let base = urls[service] else { return nil }
        guard let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: base + "/metrics"), timeout: timeout),
              response.status == .ok, let body = try? await response.body.collect(upTo: 4 << 20) else { return nil }
        return Self.figures(prometheus: String(buffer: body))
    }

    /// The samples of a Prometheus text exposition, by series (`name` or `name{labels}` as written); comments left out.
    static func figures(prometheus text: String) -> [String: Double] {
        var figures: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            figures[String(line[..<space]), default: 0] += value
        }
        return figures
    }
}
