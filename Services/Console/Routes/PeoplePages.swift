import Foundation
import Hummingbird
import Logging
import ServiceKit

/// The operators' page of people: who may sign in (paged, by unit), a form to add someone, and for each
/// person deactivate or activate, and reset (a new first password and a new authenticator to enrol). The
/// same rules as `huhang-admin person …`; each change goes to the console's audit with the operator's name.
struct PeoplePages: Sendable {
    let pages: ConsolePages

    static let perPage = 50

    func add(to router: Router<HuhangRequestContext>) {
        router.get("/people") { request, _ in
            guard let session = try await pages.session(request, stage: .signedIn) else { return Response.redirect(to: "/signin") }
            let query = request.uri.queryParameters
            return try await people(session, unit: query["unit"].map(String.init), after: query["after"].map(String.init),
                                    done: query["done"].map(String.init))
        }
        pages.postForm(router, "/people", back: { _ in "/people" }) { request, context, session, form in
            guard session.person.role == .operator else { return try forbidden(session) }
            let words = Words.table(session.person.language)
            func text(_ key: String) -> String { (form[key] ?? "").trimmingCharacters(in: .whitespaces) }
            guard let role = ConsoleRole(rawValue: text("role")) else {
                return try await people(session, failed: ["role": words["required"]!], typed: form)
            }
            let new = PeopleRoutes.NewPerson(
                username: text("username"), displayName: text("displayName"), agency: text("agency"),
                unit: text("unit").isEmpty ? nil : text("unit"), role: role, password: form["password"] ?? "")
            // Each problem next to its field, in the person's language where the console has the words.
            let problems = Dictionary(new.problems.map { ($0.field, words["personProblem.\($0.field)"] ?? $0.problem) }) { first, _ in first }
            guard problems.isEmpty else { return try await people(session, failed: problems, typed: form) }
            let person = try await new.person()
            guard try await pages.store.add(person) else {
                return try await people(session, failed: ["username": words["usernameTaken"]!], typed: form)
            }
            try await Audit.record(pages.identity(session), action: "person-add", resource: "person/\(person.username)", in: pages.store.database)
            context.logger.notice("person added", metadata: ["console.role": "\(person.role.rawValue)"])
            return Response.redirect(to: "/people?done=added")
        }
        pages.postForm(router, "/people/:username/:action", back: { _ in "/people" }) { request, context, session, form in
            let username = try context.parameters.require("username"), action = try context.parameters.require("action")
            guard session.person.role == .operator else { return try forbidden(session) }
            let words = Words.table(session.person.language)
            let found: Bool
            switch action {
            case "deactivate", "activate":
                // No one locks themselves out by a slip of the hand.
                guard username != session.person.username else {
                    return try await people(session, failed: ["row-\(username)": words["notYourself"]!], typed: [:])
                }
                found = try await pages.store.setActive(username, action == "activate")
            case "reset":
                let password = form["password"] ?? ""
                guard SignIn.passwordProblem(password) == nil else {
                    return try await people(session, failed: ["row-\(username)": words["passwordTooShort"]!], typed: [:])
                }
                found = try await pages.store.reset(username, passwordHash: try await SignIn.hash(password))
            default:
                return try pages.problem(message: "?", back: "/people", session: session)
            }
            guard found else { return try pages.problem(message: words["noSuchPerson"]!, back: "/people", session: session) }
            try await Audit.record(pages.identity(session), action: "person-\(action)", resource: "person/\(username)", in: pages.store.database)
            return Response.redirect(to: "/people?done=\(action)")
        }
    }

    func forbidden(_ session: Session) throws -> Response {
        try pages.page("problem", title: "problemTitle", session: session, status: .forbidden,
                       values: ["message": Words.table(session.person.language)["operatorsOnly"]!, "back": "/"])
    }

    /// The page; `failed` holds problems by field (or `row-<username>` for a person's row), `typed` what was typed (never a password).
    func people(
        _ session: Session, unit: String? = nil, after: String? = nil, done: String? = nil,
        failed: [String: String] = [:], typed: [String: String] = [:]
    ) async throws -> Response {
        guard session.person.role == .operator else { return try forbidden(session) }
        let words = Words.table(session.person.language)
        let unit = unit.flatMap { $0.isEmpty ? nil : $0 }
        let listed = try await pages.store.list(unit: unit, after: after, limit: Self.perPage)
        let rows: [[String: Any]] = listed.map { person in
            [
                "username": person.username, "displayName": person.displayName, "agency": person.agency, "unit": person.unit,
                "role": words["role.\(person.role.rawValue)"] ?? person.role.rawValue, "active": person.active,
                "authenticator": person.totpEnrolled ? words["yes"]! : words["notYet"]!,
                "self": person.username == session.person.username,
            ]
        }
        var values: [String: Any] = [
            "people": rows, "unit": unit as Any, "csrf": session.csrf, "done": done.flatMap { words["peopleDone.\($0)"] } as Any,
            "roles": ConsoleRole.allCases.map { role in
                ["value": role.rawValue, "label": words["role.\(role.rawValue)"] ?? role.rawValue, "selected": typed["role"] == role.rawValue]
                    as [String: Any]
            },
        ]
        for key in ["username", "displayName", "agency", "unit"] { values["typed_\(key)"] = typed[key] }
        for (field, problem) in failed where !field.hasPrefix("row-") { values["error_\(field)"] = problem }
        // A refused change to someone, said at the top with their name (they may be on another page of the list).
        values["error_row"] = failed.first { $0.key.hasPrefix("row-") }.map { "\($0.key.dropFirst(4)): \($0.value)" }
        if listed.count == Self.perPage, let last = listed.last?.username {
            values["next"] = "/people?after=\(pages.path(last))" + (unit.map { "&unit=\(pages.path($0))" } ?? "")
        }
        return try pages.page("people", title: "peopleTitle", session: session, status: failed.isEmpty ? .ok : .badRequest, values: values)
    }
}
