import Contracts
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Mustache
import NIOCore
import ServiceKit

/// The console's pages: signing in (password, then the authenticator's code, enrolled at the first
/// sign-in), the home page by role, the person's own account, signing out. Every page is rendered on the
/// server and works without JavaScript; every form that changes something carries the session's CSRF
/// token and must come from the console's own origin.
struct ConsolePages: Sendable {
    let store: ConsoleStore
    let signIn: SignIn
    let services: ServiceCalls
    let configuration: ConsoleConfiguration
    let clock: any WallClock

    static let sessionCookie = "huhang_session"
    static let signInCookie = "huhang_signin"
    static let languageCookie = "huhang_lang"

    func add(to router: Router<HuhangRequestContext>) {
        router.get("/static/console.css") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=3600"],
                body: .init(byteBuffer: ByteBuffer(string: Templates.css)))
        }
        router.get("/signin") { request, _ in
            let language = Self.language(request)
            let token = Self.preSessionToken(request)
            var response = try page("signin", title: "signInTitle", language: language, values: ["csrf": token])
            response.setCookie(preSessionCookie(token))
            if let chosen = request.uri.queryParameters["lang"].flatMap({ Language(rawValue: String($0)) }) {
                response.setCookie(Cookie(name: Self.languageCookie, value: chosen.rawValue, path: "/", secure: configuration.secureCookies,
                                          httpOnly: true, sameSite: .strict))
            }
            return response
        }
        router.post("/signin") { request, context in
            let language = Self.language(request)
            let form = try await Self.form(request)
            guard Self.sameOrigin(request), let token = request.cookies[Self.signInCookie]?.value, form["_csrf"] == token else {
                return try problem("formExpired", back: "/signin", language: language, status: .forbidden)
            }
            let username = (form["username"] ?? "").trimmingCharacters(in: .whitespaces).lowercased()
            let (outcome, person) = try await signIn.checkPassword(username: username, password: form["password"] ?? "", at: clock.now())
            let words = Words.table(language)
            switch outcome {
            case .locked(let until):
                context.logger.notice("sign-in refused: account locked", metadata: ["console.outcome": "locked"])
                return try page("signin", title: "signInTitle", language: language, status: .forbidden,
                                values: ["csrf": token, "username": username, "locked": true, "until": Self.time(until)])
            case .refused:
                context.logger.notice("sign-in refused", metadata: ["console.outcome": "refused"])
                return try page("signin", title: "signInTitle", language: language, status: .unauthorized,
                                values: ["csrf": token, "username": username, "error": words["refused"]!])
            case .needsCode(let enrolled):
                return try await startSession(person!, stage: .password, redirect: enrolled ? "/signin/code" : "/signin/enrol")
            case .signedIn:
                context.logger.info("signed in", metadata: ["console.outcome": "password"])
                return try await startSession(person!, stage: .signedIn, redirect: "/")
            }
        }
        router.get("/signin/code") { request, _ in
            guard let session = try await session(request, stage: .password) else { return Response.redirect(to: "/signin") }
            return try page("code", title: "codeTitle", language: session.person.language, values: ["csrf": session.csrf])
        }
        router.post("/signin/code") { request, context in
            try await confirmCode(request, context, template: "code", title: "codeTitle")
        }
        router.get("/signin/enrol") { request, _ in
            guard let session = try await session(request, stage: .password) else { return Response.redirect(to: "/signin") }
            guard !session.person.totpEnrolled else { return Response.redirect(to: "/signin/code") }
            let enrolment = try await signIn.offerEnrolment(for: session.person)
            // The key as a QR code the console draws itself: nothing leaves for a third party to render.
            let words = Words.table(session.person.language)
            let qr = (try? QRCode(Array(enrolment.url.utf8)).svg(label: words["qrLabel"]!)) ?? ""
            return try page("enrol", title: "enrolTitle", language: session.person.language,
                            values: ["csrf": session.csrf, "typed": enrolment.typed, "url": enrolment.url, "qr": qr])
        }
        router.post("/signin/enrol") { request, context in
            try await confirmCode(request, context, template: "code", title: "enrolTitle")
        }
        router.post("/signout") { request, _ in
            let form = try await Self.form(request)
            if let session = try await session(request, stage: nil), Self.sameOrigin(request), form["_csrf"] == session.csrf {
                try await store.endSession(tokenHash: session.tokenHash)
            }
            var response = Response.redirect(to: "/signin")
            response.setCookie(sessionCookie("", maxAge: 0))
            return response
        }
        router.get("/") { request, context in
            guard let session = try await session(request, stage: .signedIn) else { return Response.redirect(to: "/signin") }
            return try await home(session, context)
        }
        router.get("/account") { request, _ in
            guard let session = try await session(request, stage: .signedIn) else { return Response.redirect(to: "/signin") }
            return try account(session, ["changed": request.uri.queryParameters["changed"] != nil])
        }
        postForm(router, "/account/password", back: { _ in "/account" }) { request, context, session, form in
            let words = Words.table(session.person.language)
            let new = form["new"] ?? ""
            // Each mistake next to its field; passwords are never typed back into the page.
            guard try await signIn.verify(form["current"] ?? "", of: session.person, at: clock.now()) else {
                return try account(session, ["error_current": words["wrongPassword"]!], status: .badRequest)
            }
            if SignIn.passwordProblem(new) != nil {
                return try account(session, ["error_new": words["passwordTooShort"]!], status: .badRequest)
            }
            guard new == form["repeat"] else { return try account(session, ["error_repeat": words["passwordsDiffer"]!], status: .badRequest) }
            try await store.setPassword(session.person.id, hash: try await SignIn.hash(new), keeping: session.tokenHash)
            context.logger.notice("password changed", metadata: ["console.outcome": "password"])
            return Response.redirect(to: "/account?changed=1")
        }
        postForm(router, "/account/authenticator", back: { _ in "/account" }) { request, context, session, form in
            guard try await signIn.verify(form["current"] ?? "", of: session.person, at: clock.now()) else {
                return try account(session, ["error_authenticator": Words.table(session.person.language)["wrongPassword"]!], status: .badRequest)
            }
            // The old authenticator stops working now; the person is half signed in until the new one is confirmed.
            try await store.forgetTOTP(session.person.id)
            try await store.endSession(tokenHash: session.tokenHash)
            context.logger.notice("authenticator to be enrolled again", metadata: ["console.outcome": "authenticator"])
            return try await startSession(session.person, stage: .password, redirect: "/signin/enrol")
        }
        postForm(router, "/account/language", back: { _ in "/account" }) { request, context, session, form in
            try await store.setLanguage(session.person.id, Language(rawValue: form["language"] ?? "") ?? .zh)
            return Response.redirect(to: "/account")
        }
    }

    /// Registers a form a signed-in person posts: the route runs only with their session, the session's CSRF
    /// token and a same-origin `Origin` (or `Referer`); otherwise the person signs in again, or is told the form
    /// expired and where to go back to.
    /// - Parameters:
    ///   - router: The console's router.
    ///   - path: The form's action.
    ///   - back: Where the "form expired" page leads.
    ///   - handle: The route, given the request, its context, the session and the form's fields.
    func postForm(
        _ router: Router<HuhangRequestContext>, _ path: RouterPath, back: @escaping @Sendable (HuhangRequestContext) -> String,
        _ handle: @escaping @Sendable (Request, HuhangRequestContext, Session, [String: String]) async throws -> Response
    ) {
        router.post(path) { request, context in
            guard let session = try await session(request, stage: .signedIn) else { return Response.redirect(to: "/signin") }
            let form = try await Self.form(request)
            guard Self.sameOrigin(request), form["_csrf"] == session.csrf else {
                return try problem("formExpired", back: back(context), language: session.person.language, status: .forbidden)
            }
            return try await handle(request, context, session, form)
        }
    }

    /// The person's own account: password, authenticator, language.
    func account(_ session: Session, _ values: [String: Any], status: HTTPResponse.Status = .ok) throws -> Response {
        var values = values
        values["zh"] = session.person.language == .zh
        values["en"] = session.person.language == .en
        return try page("account", title: "accountTitle", session: session, status: status, values: values)
    }

    // MARK: Steps

    /// The second step, also ending enrolment: a right code signs the person in with a new session token.
    func confirmCode(_ request: Request, _ context: HuhangRequestContext, template: String, title: String) async throws -> Response {
        guard let session = try await session(request, stage: .password) else { return Response.redirect(to: "/signin") }
        let form = try await Self.form(request)
        guard Self.sameOrigin(request), form["_csrf"] == session.csrf else {
            return try problem("formExpired", back: "/signin", language: session.person.language, status: .forbidden)
        }
        let now = clock.now()
        let failures = try await store.failures(session.person.username, since: now.addingTimeInterval(-2 * configuration.lockout))
        if let until = SignIn.lockedUntil(failures, attempts: configuration.lockoutAttempts, lockout: configuration.lockout, now: now) {
            try await store.endSession(tokenHash: session.tokenHash)
            return try page("signin", title: "signInTitle", language: session.person.language, status: .forbidden,
                            values: ["csrf": SignIn.newToken(), "username": session.person.username, "locked": true, "until": Self.time(until)])
        }
        guard try await signIn.checkCode(form["code"] ?? "", for: session.person, at: now) else {
            context.logger.notice("sign-in refused: wrong code", metadata: ["console.outcome": "code"])
            return try page(template, title: title, language: session.person.language, status: .unauthorized,
                            values: ["csrf": session.csrf, "error": Words.table(session.person.language)["wrongCode"]!])
        }
        if !session.person.totpEnrolled { try await store.confirmTOTP(session.person.id, at: now) }
        try await store.endSession(tokenHash: session.tokenHash)
        context.logger.info("signed in", metadata: ["console.outcome": "code"])
        return try await startSession(session.person, stage: .signedIn, redirect: "/")
    }

    /// A new session (a new token at each step, so that no token outlives a change of what it allows).
    func startSession(_ person: Person, stage: Session.Stage, redirect: String) async throws -> Response {
        let token = SignIn.newToken()
        try await store.createSession(tokenHash: SignIn.tokenHash(token), personID: person.id, stage: stage, csrf: SignIn.newToken(), at: clock.now())
        var response = Response.redirect(to: redirect)
        response.setCookie(sessionCookie(token))
        return response
    }

    /// The request's session, at the stage asked (any when nil), still within its idle time; its last use moves on.
    func session(_ request: Request, stage: Session.Stage?) async throws -> Session? {
        guard let token = request.cookies[Self.sessionCookie]?.value, !token.isEmpty else { return nil }
        let now = clock.now()
        let hash = SignIn.tokenHash(token)
        guard let session = try await store.session(tokenHash: hash, idleSince: now.addingTimeInterval(-configuration.sessionIdle)) else {
            return nil
        }
        if let stage, session.stage != stage { return nil }
        if now.timeIntervalSince(session.lastSeen) > 30 { try await store.touch(tokenHash: hash, at: now) }
        return session
    }

    // MARK: Home

    func home(_ session: Session, _ context: HuhangRequestContext) async throws -> Response {
        let person = session.person
        let identity = APIIdentity(agency: person.agency, role: Role(person.role.rawValue), unit: person.unit, person: person.username)
        let words = Words.table(person.language)
        var values: [String: Any] = [:]
        if person.role == .operator {
            // The platform at a glance: each service's readiness, asked at once.
            let services = await withTaskGroup(of: (String, Bool).self) { group in
                for name in ["intake", "assessment", "intervention", "inspection", "notification"] {
                    group.addTask { (name, await self.services.isReady(name)) }
                }
                var found: [String: Bool] = [:]
                for await (name, ready) in group { found[name] = ready }
                return found
            }
            let list: [[String: Any]] = services.keys.sorted().map { ["name": $0, "ready": services[$0]!] }
            return try page("operatorHome", title: "homeTitle", session: session, values: ["services": list])
        }
        do {
            if person.role == .taskForce {
                // Today's counts and the last 14 days, asked for at once.
                async let dailyAnswer = services.get("intervention", "/v1/daily", as: identity)
                async let daysAnswer = services.get("intervention", "/v1/days", as: identity)
                let (daily, days) = try await (dailyAnswer, daysAnswer)
                if case .object(var counts) = daily {
                    counts["date"] = counts["date"] ?? .string(Self.day(clock.now()))
                    values["daily"] = counts.mapValues(Self.plain)
                }
                values.merge(Self.fortnight(Self.items(days), words: words)) { $1 }
                values["loopTitle"] = words["fortnight"]
                values["loopCaption"] = words["fortnightCaption"]
            } else {
                let unit = path(person.unit)
                async let tasksAnswer = services.get("intervention", "/v1/units/\(unit)/tasks?status=open", as: identity)
                // Hazards at the unit's school, or given to the unit to rectify.
                async let atSchool = services.get("inspection", "/v1/hazards?state=open&school=\(unit)", as: identity)
                async let ofUnit = services.get("inspection", "/v1/hazards?state=open&unit=\(unit)", as: identity)
                let (answer, schoolHazards, unitHazards) = try await (tasksAnswer, atSchool, ofUnit)
                let tasks: [[String: Any]] = Self.items(answer).map { task in
                    let measure = Self.plain(task["measure"] ?? .null), status = Self.plain(task["status"] ?? .null)
                    return [
                        "measure": words["measure.\(measure)"] ?? measure, "status": words["status.\(status)"] ?? status,
                        "due": Self.when(task["dueAt"]), "late": task["late"] == .bool(true),
                    ]
                }
                values["tasks"] = tasks
                values["hasTasks"] = !tasks.isEmpty
                values["noTasks"] = tasks.isEmpty
                var seen = Set<String>()
                let hazards: [[String: Any]] = (Self.items(schoolHazards) + Self.items(unitHazards)).compactMap { hazard in
                    let id = Self.plain(hazard["hazardId"] ?? .null)
                    guard seen.insert(id).inserted else { return nil }
                    let severity = Self.plain(hazard["severity"] ?? .null)
                    return [
                        "item": Self.plain(hazard["item"] ?? .null), "school": Self.plain(hazard["schoolCode"] ?? .null),
                        "severity": words["severity.\(severity)"] ?? severity, "unit": Self.plain(hazard["unit"] ?? .null),
                        "due": Self.when(hazard["dueAt"]), "late": hazard["late"] == .bool(true),
                    ]
                }
                values["hazards"] = hazards
                values["hasHazards"] = !hazards.isEmpty
            }
        } catch let down as ServiceCalls.Unavailable {
            return try problem(message: words["serviceDown"]! + " " + down.service, back: "/", session: session)
        }
        return try page("home", title: "homeTitle", session: session, values: values)
    }

    /// The last days of the loop as four small charts, one per count, and the same figures as a table.
    static func fortnight(_ days: [[String: JSONValue]], words: [String: String]) -> [String: Any] {
        guard !days.isEmpty else { return [:] }
        func count(_ day: [String: JSONValue], _ key: String) -> Int {
            if case .number(let value)? = day[key] { return Int(value) }
            return 0
        }
        let labels = days.map { String(plain($0["date"] ?? .null).suffix(5)) }
        let series = ["casesOpened": "newCases", "tasksAssigned": "tasksAssigned", "tasksLate": "wentLate", "tasksCompleted": "tasksCompleted"]
        let charts: [[String: Any]] = ["casesOpened", "tasksAssigned", "tasksLate", "tasksCompleted"].map { key in
            ["svg": BarChart.svg(
                id: "chart-\(key)", title: words[series[key]!]!,
                description: words["dailyChartAbout"]!.replacingOccurrences(of: "{what}", with: words[series[key]!]!)
                    .replacingOccurrences(of: "{from}", with: plain(days.first?["date"] ?? .null))
                    .replacingOccurrences(of: "{to}", with: plain(days.last?["date"] ?? .null)),
                labels: labels, values: days.map { count($0, key) }),
             "title": words[series[key]!]!]
        }
        let rows: [[String: Any]] = days.map { day in
            ["date": plain(day["date"] ?? .null), "casesOpened": count(day, "casesOpened"), "tasksAssigned": count(day, "tasksAssigned"),
             "tasksLate": count(day, "tasksLate"), "tasksCompleted": count(day, "tasksCompleted"), "casesClosed": count(day, "casesClosed")]
        }
        return ["charts": charts, "days": rows, "hasDays": true]
    }

    // MARK: Rendering

    /// A page inside the layout, with the security headers every page carries.
    func page(
        _ template: String, title: String, session: Session? = nil, language: Language? = nil, status: HTTPResponse.Status = .ok,
        values: [String: Any] = [:]
    ) throws -> Response {
        let language = session?.person.language ?? language ?? .zh
        let words = Words.table(language)
        var content = Self.tidy(values)
        content["t"] = words
        // Every form of a signed-in page carries the session's CSRF token.
        if let session, content["csrf"] == nil { content["csrf"] = session.csrf }
        let body = Templates.library.render(content, withTemplate: template) ?? ""
        var layout: [String: Any] = ["t": words, "title": words[title] ?? title, "body": body]
        if let session {
            layout["person"] = [
                "displayName": session.person.displayName, "unit": session.person.unit, "csrf": session.csrf,
                "taskForce": session.person.role == .taskForce, "operator": session.person.role == .operator,
                "safety": SafetyPages.mayRead(session.person.role),
                "unitWork": session.person.role == .caseworker || session.person.role == .education,
                "roleName": words["role.\(session.person.role.rawValue)"] ?? session.person.role.rawValue,
            ]
        }
        let html = Templates.library.render(layout, withTemplate: "layout") ?? ""
        return Response(status: status, headers: Self.pageHeaders, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// The values a template sees, without what is absent: a nil or an empty text is left out, so that
    /// `{{#key}}…{{/key}}` shows nothing for it (the templates test for presence; a value printed where it is
    /// missing prints nothing either).
    static func tidy(_ values: [String: Any]) -> [String: Any] {
        var tidied: [String: Any] = [:]
        for (key, value) in values {
            if let kept = tidy(value: value) { tidied[key] = kept }
        }
        return tidied
    }

    static func tidy(value: Any) -> Any? {
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .optional {
            guard let wrapped = mirror.children.first?.value else { return nil }
            return tidy(value: wrapped)
        }
        switch value {
        case let text as String: return text.isEmpty ? nil : text
        case let object as [String: Any]: return tidy(object)
        case let list as [[String: Any]]: return list.map { tidy($0) }
        case let list as [Any]: return list.compactMap { tidy(value: $0) }
        default: return value
        }
    }

    func problem(_ key: String, back: String, language: Language, status: HTTPResponse.Status) throws -> Response {
        try page("problem", title: "problemTitle", language: language, status: status,
                 values: ["message": Words.table(language)[key] ?? key, "back": back])
    }

    /// What a service said when it refused the person, on a page with the service's status.
    func problem(_ refused: ServiceCalls.Refused, back: String, session: Session) throws -> Response {
        try page("problem", title: "problemTitle", session: session, status: .init(code: refused.status),
                 values: ["message": ServiceCalls.message(refused), "back": back])
    }

    func problem(message: String, back: String, session: Session) throws -> Response {
        try page("problem", title: "problemTitle", session: session, status: .serviceUnavailable, values: ["message": message, "back": back])
    }

    /// No third-party script or stylesheet, no framing, nothing cached.
    static let pageHeaders: HTTPFields = [
        .contentType: "text/html; charset=utf-8",
        .contentSecurityPolicy: "default-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        .xContentTypeOptions: "nosniff",
        .cacheControl: "no-store",
        HTTPField.Name("Referrer-Policy")!: "same-origin",
    ]

    func sessionCookie(_ token: String, maxAge: Int? = nil) -> Cookie {
        Cookie(name: Self.sessionCookie, value: token, maxAge: maxAge, path: "/", secure: configuration.secureCookies, httpOnly: true,
               sameSite: .strict)
    }

    func preSessionCookie(_ token: String) -> Cookie {
        Cookie(name: Self.signInCookie, value: token, path: "/signin", secure: configuration.secureCookies, httpOnly: true, sameSite: .strict)
    }

    // MARK: Requests

    /// The sign-in form's CSRF token, kept in a cookie of its own until a session exists.
    static func preSessionToken(_ request: Request) -> String {
        request.cookies[signInCookie]?.value ?? SignIn.newToken()
    }

    /// The language before anyone is signed in: the switch's cookie, else Chinese.
    static func language(_ request: Request) -> Language {
        if let chosen = request.uri.queryParameters["lang"].flatMap({ Language(rawValue: String($0)) }) { return chosen }
        return request.cookies[languageCookie].flatMap { Language(rawValue: $0.value) } ?? .zh
    }

    /// Whether a form came from the console's own pages: its `Origin` (else `Referer`) names the host it was sent to.
    static func sameOrigin(_ request: Request) -> Bool {
        guard let host = request.head.authority else { return false }
        let source = request.headers[.origin] ?? request.headers[.referer]
        guard let source, let url = URL(string: source), let sourceHost = url.host else { return false }
        let sourceAuthority = url.port.map { "\(sourceHost):\($0)" } ?? sourceHost
        return sourceAuthority == host
    }

    /// An `application/x-www-form-urlencoded` body (the only kind the pages send).
    static func form(_ request: Request) async throws -> [String: String] {
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        var fields: [String: String] = [:]
        for pair in String(buffer: buffer).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            fields[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }

    // MARK: Values

    static func time(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "Asia/Shanghai")
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        return formatter.string(from: date)
    }

    static func day(_ date: Date) -> String { String(time(date).prefix(10)) }

    /// A time from a service's answer, in China Standard Time; "—" when the answer has none.
    static func when(_ value: JSONValue?) -> String {
        date(value).map(time) ?? "—"
    }

    static func date(_ value: JSONValue?) -> Date? {
        if case .string(let text)? = value { return ContractCoding.parseTime(text) }
        return nil
    }

    static func plain(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): text
        case .number(let number): number == number.rounded() ? String(Int(number)) : String(number)
        case .bool(let flag): flag ? "✓" : "—"
        default: ""
        }
    }

    static func items(_ value: JSONValue) -> [[String: JSONValue]] {
        guard case .array(let items) = value else { return [] }
        return items.compactMap { if case .object(let object) = $0 { object } else { nil } }
    }
}
