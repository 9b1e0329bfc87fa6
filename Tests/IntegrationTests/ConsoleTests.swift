@testable import Console
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdOTP
import AsyncHTTPClient
import NIOHTTP1
import HummingbirdTesting
import Mustache
import NIOCore
import ServiceKit
import Storage
import Contracts
import Testing

/// The console's sign-in, in process (HummingbirdTesting) against the real database: password then
/// authenticator, enrolment at the first sign-in, lockout, CSRF and origin checks, idle expiry, sign-out.
@Suite("Console sign-in", .serialized)
struct ConsoleSignInTests {
    static let origin = "http://localhost"

    struct Harness {
        let client: any TestClientProtocol
        let store: ConsoleStore
        let cipher: PersonalDataCipher
        let clock: ManualWallClock
    }

    /// The console's pages on a router of their own, the services unreachable (a closed port), the clock in the test's hands.
    func withConsole(_ body: @escaping @Sendable (Harness) async throws -> Void) async throws {
        try await withDatabase(schema: "console") { database in
            try await Migrator.migrate(ConsoleMigrations.all, on: database)
            let configuration = try ConsoleConfiguration(environment: ["HTTP_HOST": "127.0.0.1", "INTERVENTION_URL": "http://127.0.0.1:\(try freePort())"])
            let store = ConsoleStore(database: database)
            let cipher = try PersonalDataCipher(secret: "console-test-personal-data-key-0123456789")
            let clock = ManualWallClock()
            let pages = ConsolePages(
                store: store, signIn: SignIn(store: store, cipher: cipher, configuration: configuration),
                services: ServiceCalls(urls: configuration.services, tokens: try APITokens(secret: APITokens.developmentSecret)),
                configuration: configuration, clock: clock)
            let router = Router(context: HuhangRequestContext.self)
            ConsoleService.addPages(pages, to: router)
            let app = Application(router: router)
            try await app.test(.router) { client in
                try await body(Harness(client: client, store: store, cipher: cipher, clock: clock))
            }
        }
    }

    /// A new person with a password; enrolled when `secret` is given.
    func person(_ harness: Harness, role: ConsoleRole = .caseworker) async throws -> (username: String, password: String) {
        let username = "p-" + UUID().uuidString.prefix(8).lowercased()
        let password = "correct horse battery"
        let person = Person(
            id: UUID(), username: username, displayName: "测试人员", agency: "school-t", unit: "370102-T01", role: role,
            passwordHash: try await SignIn.hash(password), totpSecret: nil, totpEnrolled: false, language: .zh, active: true)
        #expect(try await harness.store.add(person))
        return (username, password)
    }

    struct Page {
        var status: HTTPResponse.Status
        var location: String?
        var cookies: [String: String]
        var setCookies: [String]
        var text: String
    }

    func request(
        _ harness: Harness, _ method: HTTPRequest.Method, _ path: String, cookies: [String: String] = [:], form: [String: String]? = nil,
        origin: String? = Self.origin
    ) async throws -> Page {
        var headers: HTTPFields = [:]
        if !cookies.isEmpty { headers[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
        if let origin, method == .post { headers[.origin] = origin }
        var body: ByteBuffer?
        if let form {
            headers[.contentType] = "application/x-www-form-urlencoded"
            body = ByteBuffer(string: form.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&"))
        }
        return try await harness.client.execute(uri: path, method: method, headers: headers, body: body) { response in
            var cookies: [String: String] = [:]
            for field in response.headers[values: .setCookie] {
                let pair = field.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
                cookies[String(pair[0])] = pair.count > 1 ? String(pair[1]) : ""
            }
            return Page(
                status: response.status, location: response.headers[.location], cookies: cookies,
                setCookies: response.headers[values: .setCookie], text: String(buffer: response.body))
        }
    }

    /// The CSRF field of the page's main form (the one after `<main`, not the sign-out form in the header).
    func csrf(_ page: Page) -> String {
        let main = page.text.range(of: "<main").map { page.text[$0.lowerBound...] } ?? page.text[...]
        guard let range = main.range(of: #"name="_csrf" value=""#) else { return "" }
        return String(page.text[range.upperBound...].prefix { $0 != "\"" })
    }

    /// Signs in through the pages; enrols the authenticator when asked. - Returns: The session cookie.
    func signIn(_ harness: Harness, _ username: String, _ password: String) async throws -> String {
        let form = try await request(harness, .get, "/signin")
        let token = try #require(form.cookies[ConsolePages.signInCookie])
        let answer = try await request(harness, .post, "/signin", cookies: [ConsolePages.signInCookie: token],
                                       form: ["_csrf": csrf(form), "username": username, "password": password])
        #expect(answer.status == .seeOther || answer.status == .found, "\(answer.status) \(answer.text)")
        var session = try #require(answer.cookies[ConsolePages.sessionCookie])
        let step = try await request(harness, .get, try #require(answer.location), cookies: [ConsolePages.sessionCookie: session])
        #expect(step.status == .ok)
        let sealed = try #require(try await harness.store.person(username: username)?.totpSecret)
        let code = TOTP(secret: String(decoding: try harness.cipher.open(sealed), as: UTF8.self)).compute(date: harness.clock.now())
        let confirmed = try await request(harness, .post, answer.location!, cookies: [ConsolePages.sessionCookie: session],
                                          form: ["_csrf": csrf(step), "code": String(format: "%06d", code)])
        #expect(confirmed.location == "/", "\(confirmed.status) \(confirmed.text)")
        session = try #require(confirmed.cookies[ConsolePages.sessionCookie])
        let raw = try #require(confirmed.setCookies.first { $0.hasPrefix(ConsolePages.sessionCookie + "=") })
        // On loopback the operator runs plain HTTP, so not Secure; HttpOnly and SameSite=Strict always.
        #expect(raw.contains("HttpOnly") && raw.contains("SameSite=Strict") && !raw.contains("Secure"), "\(raw)")
        return session
    }

    @Test("password, then enrolment of an authenticator, then a session: the cookie is HttpOnly and SameSite=Strict")
    func signInAndEnrol() async throws {
        try await withConsole { harness in
            let (username, password) = try await person(harness)
            let session = try await signIn(harness, username, password)
            let home = try await request(harness, .get, "/", cookies: [ConsolePages.sessionCookie: session])
            // The services are away: the page says which, and no stack trace.
            #expect(home.status == .serviceUnavailable && home.text.contains("intervention") && home.text.contains("测试人员"), "\(home.text)")
            #expect(try await harness.store.person(username: username)?.totpEnrolled == true)
            // The next sign-in asks for the code at once.
            let form = try await request(harness, .get, "/signin")
            let again = try await request(harness, .post, "/signin", cookies: [ConsolePages.signInCookie: form.cookies[ConsolePages.signInCookie]!],
                                          form: ["_csrf": csrf(form), "username": username, "password": password])
            #expect(again.location == "/signin/code")
        }
    }

    @Test("five wrong passwords lock the account for fifteen minutes, even against the right one")
    func lockout() async throws {
        try await withConsole { harness in
            let (username, password) = try await person(harness)
            let form = try await request(harness, .get, "/signin")
            let cookie = [ConsolePages.signInCookie: form.cookies[ConsolePages.signInCookie]!]
            for attempt in 1...5 {
                let wrong = try await request(harness, .post, "/signin", cookies: cookie,
                                              form: ["_csrf": csrf(form), "username": username, "password": "wrong password \(attempt)"])
                #expect(wrong.status == (attempt < 5 ? .unauthorized : .forbidden), "attempt \(attempt): \(wrong.status)")
                #expect(attempt == 5 || wrong.text.contains("用户名或密码不正确"))
                #expect(wrong.text.contains(username), "what was typed is kept")
            }
            let locked = try await request(harness, .post, "/signin", cookies: cookie,
                                           form: ["_csrf": csrf(form), "username": username, "password": password])
            #expect(locked.status == .forbidden && locked.text.contains("锁定"))
            harness.clock.advance(by: 16 * 60)
            let open = try await request(harness, .post, "/signin", cookies: cookie,
                                         form: ["_csrf": csrf(form), "username": username, "password": password])
            #expect(open.location == "/signin/enrol", "\(open.status)")
        }
    }

    @Test("a form without the CSRF token, or from another origin, is refused")
    func csrfAndOrigin() async throws {
        try await withConsole { harness in
            let (username, password) = try await person(harness)
            let form = try await request(harness, .get, "/signin")
            let cookie = [ConsolePages.signInCookie: form.cookies[ConsolePages.signInCookie]!]
            let noToken = try await request(harness, .post, "/signin", cookies: cookie, form: ["username": username, "password": password])
            #expect(noToken.status == .forbidden && noToken.cookies[ConsolePages.sessionCookie] == nil)
            let elsewhere = try await request(harness, .post, "/signin", cookies: cookie,
                                              form: ["_csrf": csrf(form), "username": username, "password": password], origin: "https://evil.example")
            #expect(elsewhere.status == .forbidden && elsewhere.cookies[ConsolePages.sessionCookie] == nil)
            // Signed in, a form of the session without its token changes nothing.
            let session = try await signIn(harness, username, password)
            let language = try await request(harness, .post, "/account/language", cookies: [ConsolePages.sessionCookie: session],
                                             form: ["language": "en"])
            #expect(language.status == .forbidden)
            #expect(try await harness.store.person(username: username)?.language == .zh)
            // With its token, the switch takes: the pages speak English from then on.
            let account = try await request(harness, .get, "/account", cookies: [ConsolePages.sessionCookie: session])
            let switched = try await request(harness, .post, "/account/language", cookies: [ConsolePages.sessionCookie: session],
                                             form: ["_csrf": csrf(account), "language": "en"])
            #expect(switched.location == "/account", "\(switched.status) \(switched.text)")
            #expect(try await request(harness, .get, "/account", cookies: [ConsolePages.sessionCookie: session]).text.contains("My account"))
        }
    }

    @Test("a session ends after thirty idle minutes, and on sign-out")
    func idleAndSignOut() async throws {
        try await withConsole { harness in
            let (username, password) = try await person(harness)
            let session = try await signIn(harness, username, password)
            let cookie = [ConsolePages.sessionCookie: session]
            harness.clock.advance(by: 29 * 60)
            let account = try await request(harness, .get, "/account", cookies: cookie)
            #expect(account.status == .ok)
            harness.clock.advance(by: 29 * 60)
            #expect(try await request(harness, .get, "/account", cookies: cookie).status == .ok, "each request moves the idle time on")
            harness.clock.advance(by: 31 * 60)
            #expect(try await request(harness, .get, "/account", cookies: cookie).location == "/signin")

            let second = try await signIn(harness, username, password)
            let page = try await request(harness, .get, "/account", cookies: [ConsolePages.sessionCookie: second])
            let out = try await request(harness, .post, "/signout", cookies: [ConsolePages.sessionCookie: second], form: ["_csrf": csrf(page)])
            #expect(out.location == "/signin")
            #expect(try await request(harness, .get, "/account", cookies: [ConsolePages.sessionCookie: second]).location == "/signin")
        }
    }
}

extension ConsoleSignInTests {
    @Test("a person changes their own password (mistakes said next to the field) and enrols a new authenticator; other sessions end")
    func ownAccount() async throws {
        try await withConsole { harness in
            let (username, password) = try await person(harness)
            let session = try await signIn(harness, username, password)
            let other = try await signIn(harness, username, password)
            let cookie = [ConsolePages.sessionCookie: session]
            let account = try await request(harness, .get, "/account", cookies: cookie)
            let token = csrf(account)
            let wrong = try await request(harness, .post, "/account/password", cookies: cookie,
                                          form: ["_csrf": token, "current": "not it at all", "new": "a new long password", "repeat": "a new long password"])
            #expect(wrong.status == .badRequest && wrong.text.contains(#"id="current-error""#) && wrong.text.contains("当前密码不正确"))
            let short = try await request(harness, .post, "/account/password", cookies: cookie,
                                          form: ["_csrf": token, "current": password, "new": "short", "repeat": "short"])
            #expect(short.status == .badRequest && short.text.contains(#"id="new-error""#))
            let differ = try await request(harness, .post, "/account/password", cookies: cookie,
                                           form: ["_csrf": token, "current": password, "new": "a new long password", "repeat": "another long password"])
            #expect(differ.status == .badRequest && differ.text.contains(#"id="repeat-error""#))
            #expect(!differ.text.contains("a new long password"), "a password is never typed back into the page")
            let changed = try await request(harness, .post, "/account/password", cookies: cookie,
                                            form: ["_csrf": token, "current": password, "new": "a new long password", "repeat": "a new long password"])
            #expect(changed.location == "/account?changed=1", "\(changed.status) \(changed.text)")
            #expect(try await request(harness, .get, "/account", cookies: cookie).status == .ok, "this session goes on")
            #expect(try await request(harness, .get, "/account", cookies: [ConsolePages.sessionCookie: other]).location == "/signin",
                    "the other session ended")
            // The new password signs in; then a new authenticator: the old one is forgotten and enrolment starts at once.
            let again = try await signIn(harness, username, "a new long password")
            let page = try await request(harness, .get, "/account", cookies: [ConsolePages.sessionCookie: again])
            let before = try #require(try await harness.store.person(username: username)?.totpSecret)
            let renew = try await request(harness, .post, "/account/authenticator", cookies: [ConsolePages.sessionCookie: again],
                                          form: ["_csrf": csrf(page), "current": "a new long password"])
            #expect(renew.location == "/signin/enrol", "\(renew.status) \(renew.text)")
            let person = try #require(try await harness.store.person(username: username))
            #expect(!person.totpEnrolled && person.totpSecret == nil && before.count > 0)
            let enrolling = try #require(renew.cookies[ConsolePages.sessionCookie])
            let enrol = try await request(harness, .get, "/signin/enrol", cookies: [ConsolePages.sessionCookie: enrolling])
            #expect(enrol.status == .ok && enrol.text.contains("<svg"))
            #expect(try await request(harness, .get, "/account", cookies: [ConsolePages.sessionCookie: enrolling]).location == "/signin",
                    "half signed in until the new authenticator is confirmed")
        }
    }
}

extension ConsoleSignInTests {
    @Test("an operator adds a person in the console (mistakes next to the field, the password never typed back), deactivates, resets; no one else may")
    func operatorsPeople() async throws {
        try await withConsole { harness in
            let (ops, password) = try await person(harness, role: .operator)
            let cookie = [ConsolePages.sessionCookie: try await signIn(harness, ops, password)]
            let page = try await request(harness, .get, "/people", cookies: cookie)
            #expect(page.status == .ok && page.text.contains(#"action="/people""#), "\(page.text)")
            let token = csrf(page)
            let newcomer = "n-" + UUID().uuidString.prefix(8).lowercased(), unit = "U-" + UUID().uuidString.prefix(8)
            let bad = try await request(harness, .post, "/people", cookies: cookie, form: [
                "_csrf": token, "username": "No Spaces Allowed", "displayName": "新同事", "agency": "school-370102-m03", "unit": "370102-M03",
                "role": "caseworker", "password": "short"])
            #expect(bad.status == .badRequest && bad.text.contains(#"id="new-username-error""#) && bad.text.contains(#"id="new-password-error""#))
            #expect(bad.text.contains("新同事") && bad.text.contains("370102-M03") && !bad.text.contains(#"value="short""#))
            let added = try await request(harness, .post, "/people", cookies: cookie, form: [
                "_csrf": token, "username": newcomer, "displayName": "新同事", "agency": "school-370102-m03", "unit": unit,
                "role": "caseworker", "password": "a first password 1"])
            #expect(added.location == "/people?done=added", "\(added.status) \(added.text)")
            let stored = try #require(try await harness.store.person(username: newcomer))
            #expect(stored.unit == unit && stored.role == .caseworker && !stored.totpEnrolled)
            let ofUnit = try await request(harness, .get, "/people?unit=\(unit)", cookies: cookie)
            #expect(ofUnit.text.contains(newcomer) && ofUnit.text.contains("新同事") && ofUnit.text.contains(#"action="/people/\#(newcomer)/deactivate""#))
            let again = try await request(harness, .post, "/people", cookies: cookie, form: [
                "_csrf": token, "username": newcomer, "displayName": "x", "agency": "a-b", "role": "caseworker", "password": "a first password 1"])
            #expect(again.status == .badRequest && again.text.contains("此用户名已被使用"))
            // Deactivated, they cannot sign in; an operator cannot deactivate themselves.
            #expect(try await request(harness, .post, "/people/\(newcomer)/deactivate", cookies: cookie, form: ["_csrf": token]).location
                    == "/people?done=deactivate")
            #expect(try await harness.store.person(username: newcomer)?.active == false)
            let me = try await request(harness, .post, "/people/\(ops)/deactivate", cookies: cookie, form: ["_csrf": token])
            #expect(me.status == .badRequest && me.text.contains("不能停用自己的账户"))
            #expect(try await harness.store.person(username: ops)?.active == true)
            // A reset: a new first password and a new authenticator to enrol.
            #expect(try await request(harness, .post, "/people/\(newcomer)/activate", cookies: cookie, form: ["_csrf": token]).status == .seeOther)
            #expect(try await request(harness, .post, "/people/\(newcomer)/reset", cookies: cookie,
                                      form: ["_csrf": token, "password": "a second password 2"]).location == "/people?done=reset")
            let form = try await request(harness, .get, "/signin")
            let first = try await request(harness, .post, "/signin", cookies: [ConsolePages.signInCookie: form.cookies[ConsolePages.signInCookie]!],
                                          form: ["_csrf": csrf(form), "username": newcomer, "password": "a second password 2"])
            #expect(first.location == "/signin/enrol")
            // Anyone but an operator is refused the page and its forms.
            let (worker, workerPassword) = try await person(harness, role: .caseworker)
            let other = [ConsolePages.sessionCookie: try await signIn(harness, worker, workerPassword)]
            #expect(try await request(harness, .get, "/people", cookies: other).status == .forbidden)
            let account = try await request(harness, .get, "/account", cookies: other)
            let refused = try await request(harness, .post, "/people/\(newcomer)/deactivate", cookies: other, form: ["_csrf": csrf(account)])
            let stillActive = try await harness.store.person(username: newcomer)?.active
            #expect(refused.status == .forbidden && stillActive == true)
        }
    }
}

@Suite("Console charts")
struct ConsoleChartTests {
    @Test("a bar per day, heights in proportion to the largest, both ends of the axis written, labels escaped")
    func bars() {
        let svg = BarChart.svg(id: "c", title: "新增 <案件>", description: "每日新增案件", labels: ["11-16", "11-17", "11-18"], values: [0, 2, 4])
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>"))
        #expect(svg.contains(#"role="img" aria-labelledby="c-t c-d""#) && svg.contains("<title id=\"c-t\">新增 &lt;案件&gt;</title>")
                && svg.contains("<desc id=\"c-d\">每日新增案件</desc>"))
        let heights = svg.components(separatedBy: #"class="bar""#).dropLast().compactMap { part -> Double? in
            guard let range = part.range(of: #"height=""#, options: .backwards) else { return nil }
            return Double(part[range.upperBound...].prefix { $0 != "\"" })
        }
        #expect(heights == [0, 58, 116], "\(heights)")
        #expect(svg.contains(">4</text>") && svg.contains(">0</text>") && svg.contains(">11-16</text>") && svg.contains(">11-18</text>"))
        #expect(svg.contains("<title>11-17: 2</title>"))
        // Nothing counted: flat, not a division by zero.
        #expect(BarChart.svg(id: "z", title: "z", description: "z", labels: ["a"], values: [0]).contains(#"height="0.0""#))
    }
}

@Suite("Console words and templates")
struct ConsoleWordsTests {
    @Test("every word the console shows exists in Chinese and in English")
    func bothLanguages() {
        #expect(Set(Words.zh.keys) == Set(Words.en.keys), "only in one: \(Set(Words.zh.keys).symmetricDifference(Words.en.keys).sorted())")
    }

    @Test("what is absent is left out before a page is drawn: no error shown without one, no dangling separator")
    func absentValues() {
        let values = ConsolePages.tidy([
            "error": Optional<String>.none as Any, "message": "x", "empty": "", "flag": false,
            "members": [["label": "监护人", "name": "王家长", "unit": ""]], "nested": ["inner": Optional("y") as Any],
        ])
        #expect(values["error"] == nil && values["empty"] == nil && values["message"] as? String == "x" && values["flag"] as? Bool == false)
        #expect((values["members"] as? [[String: Any]])?.first?["unit"] == nil)
        #expect((values["nested"] as? [String: Any])?["inner"] as? String == "y")
        var sealed = values
        sealed["t"] = Words.zh
        sealed["caseId"] = "c-1"
        let html = Templates.library.render(sealed, withTemplate: "sealed") ?? ""
        #expect(!html.contains(#"class="error""#) && !html.contains("aria-invalid") && !html.contains("nil"), "\(html)")
    }

    @Test("every template parses, and a value is escaped, never inserted as HTML")
    func templatesEscape() {
        #expect(Templates.all.keys.allSatisfy { Templates.library.getTemplate(named: $0) != nil })
        let html = Templates.library.render(["message": "<script>alert(1)</script>", "back": "/", "t": Words.zh], withTemplate: "problem") ?? ""
        #expect(!html.contains("<script>") && html.contains("&lt;script&gt;"))
    }
}

/// The loop in the console, over HTTP as a browser speaks it (forms, cookies, redirects), with the five
/// services and the console running: the task force and a school's safety officer sign in with password
/// and authenticator, the task force reads the case, the school answers its task and acknowledges its
/// notice, and the services' audit and the case's chronology name the people.
@Suite("Console: the loop in the pages", .serialized)
struct ConsoleLoopTests {
    /// A browser without JavaScript: keeps cookies, does not follow redirects by itself.
    final class Browser: @unchecked Sendable {
        let base: String
        var cookies: [String: String] = [:]
        init(base: String) { self.base = base }

        /// A client that shows each redirect instead of following it.
        static let client = HTTPClient(
            eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))

        struct Page { var status: Int; var location: String?; var text: String }

        /// A GET of `path`, or a POST of `form` to it from the console's own origin, with the cookies kept so far.
        func request(_ path: String, form: [String: String]?) -> HTTPClientRequest {
            var request = HTTPClientRequest(url: base + path)
            // No connection outlives its request, so the console's server stops at once when a test ends early.
            request.headers.add(name: "Connection", value: "close")
            request.headers.add(name: "Cookie", value: cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; "))
            if let form {
                request.method = .POST
                request.headers.add(name: "Origin", value: base)
                request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
                let body = form.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
                request.body = .bytes(ByteBuffer(string: body))
            }
            return request
        }

        func go(_ path: String, form: [String: String]? = nil) async throws -> Page {
            let response = try await Self.client.execute(request(path, form: form), timeout: .seconds(30))
            for field in response.headers["Set-Cookie"] {
                let pair = field.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
                cookies[String(pair[0])] = pair.count > 1 ? String(pair[1]) : ""
            }
            let text = String(buffer: try await response.body.collect(upTo: 4 << 20))
            return Page(status: Int(response.status.code), location: response.headers.first(name: "Location"), text: text)
        }

        /// The value of the first hidden `_csrf` field.
        static func csrf(_ page: Page) -> String {
            let main = page.text.range(of: "<main").map { page.text[$0.lowerBound...] } ?? page.text[...]
            guard let range = main.range(of: #"name="_csrf" value=""#) else { return "" }
            return String(main[range.upperBound...].prefix { $0 != "\"" })
        }

        /// Signs in, enrolling the authenticator from the key the page shows, as a person with an app would.
        func signIn(_ username: String, _ password: String) async throws {
            let form = try await go("/signin")
            let answer = try await go("/signin", form: ["_csrf": Self.csrf(form), "username": username, "password": password])
            #expect(answer.location == "/signin/enrol", "\(answer.status) \(answer.text)")
            let enrol = try await go("/signin/enrol")
            // The key shown in groups of four, base32: what a person types into their app.
            let key = try #require(enrol.text.range(of: #"<code class="secret">"#).map { enrol.text[$0.upperBound...].prefix { $0 != "<" } })
            let secret = try #require(Base32.decode(key.replacingOccurrences(of: " ", with: "")))
            let code = TOTP(secret: String(decoding: secret, as: UTF8.self)).compute()
            let done = try await go("/signin/enrol", form: ["_csrf": Self.csrf(enrol), "code": String(format: "%06d", code)])
            #expect(done.location == "/", "\(done.status) \(done.text)")
        }
    }

    /// RFC 4648 base32, as authenticator apps read keys.
    enum Base32 {
        static func decode(_ text: String) -> [UInt8]? {
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
            var bits = 0, value = 0
            var bytes: [UInt8] = []
            for character in text.uppercased() where character != "=" {
                guard let index = alphabet.firstIndex(of: character) else { return nil }
                value = (value << 5) | index
                bits += 5
                if bits >= 8 {
                    bytes.append(UInt8((value >> (bits - 8)) & 0xFF))
                    bits -= 8
                }
            }
            return bytes
        }
    }

    /// A console on loopback in front of the suite's five services. - Returns: It and its port.
    static func console(for suite: ScenarioTests.Suite) throws -> (RunningService<ConsoleService>, Int) {
        let port = try freePort()
        var settings = ["HTTP_HOST": "127.0.0.1"]
        for name in ["intake", "assessment", "intervention", "inspection", "notification"] {
            settings[name.uppercased() + "_URL"] = "http://127.0.0.1:\(suite.ports[name]!)"
        }
        let console = try withProcessEnvironment(settings) {
            try RunningService<ConsoleService>(
                configuration: try TestEnvironment.serviceConfiguration("console", port: port), logger: TestEnvironment.logger)
        }
        return (console, port)
    }

    /// The five services of a new scenario suite and a console in front of them, running while `body` runs.
    /// - Parameters:
    ///   - settings: The services' settings, as ``ScenarioTests/Suite`` takes them.
    ///   - body: Given the suite and the console's port.
    static func withConsole(
        settings: [String: String] = [:], _ body: @escaping @Sendable (ScenarioTests.Suite, Int) async throws -> Void
    ) async throws {
        let suite = try ScenarioTests.Suite(settings: settings)
        let (console, consolePort) = try Self.console(for: suite)
        try await withServices(suite.all + [console]) { () async throws in
            try await body(suite, consolePort)
        }
    }

    /// Adds a person through the console's operator API, as `huhang-admin person add` does.
    static func addPerson(
        consolePort: Int, username: String, name: String, agency: String, unit: String, role: String, password: String
    ) async throws {
        let token = try await APITokens(secret: APITokens.developmentSecret).issue(APIIdentity(agency: "ops", role: .operator), lifetime: .seconds(60))
        let added = try await httpPost("http://127.0.0.1:\(consolePort)/v1/people", body: """
            {"username":"\(username)","displayName":"\(name)","agency":"\(agency)","unit":"\(unit)","role":"\(role)","password":"\(password)"}
            """, headers: ["Authorization": "Bearer \(token)"])
        #expect(added.status == 201, "\(added.body)")
    }

    @Test("the task force reads a case, the school answers its task and acknowledges its notice, and the audit names them")
    func loopInThePages() async throws {
        try await Self.withConsole { suite, consolePort in try await Self.loop(suite, consolePort: consolePort) }
    }

    static func loop(_ suite: ScenarioTests.Suite, consolePort: Int) async throws {
        let schoolCode = ScenarioTests.schoolCode()
        let school = try ScenarioTests.Agency("sch", kind: "school", unit: schoolCode, intakePort: suite.ports["intake"]!)
        let run = UUID().uuidString.prefix(6).lowercased()
        try await addPerson(consolePort: consolePort, username: "tf-\(run)", name: "张专班", agency: "district-task-force",
                            unit: "district-task-force", role: "task-force", password: "a long password 123")
        try await addPerson(consolePort: consolePort, username: "sch-\(run)", name: "王老师", agency: school.code, unit: schoolCode,
                            role: "caseworker", password: "a long password 123")
        try await school.send("report.incident.v1", """
            {"externalId":"\(ScenarioTests.ext())","category":"bullying","immediateDanger":true,"occurredAt":"\(ScenarioTests.now())",
             "schoolCode":"\(schoolCode)","people":[{"role":"victim","studentNumber":"C-1"}]}
            """)
        var caseID = ""
        #expect(try await eventually {
            let cases = try await suite.call("intervention", "/v1/cases?school=\(schoolCode)", as: ScenarioTests.taskForce)
            caseID = ScenarioTests.array(cases.json).first.flatMap { ScenarioTests.string($0, "caseId") } ?? ""
            return !caseID.isEmpty
        })

        // The task force: the day's loop, the case list, the case.
        let taskForce = Browser(base: "http://127.0.0.1:\(consolePort)")
        try await taskForce.signIn("tf-\(run)", "a long password 123")
        let home = try await taskForce.go("/")
        #expect(home.status == 200 && home.text.contains("今日") && home.text.contains("张专班"), "\(home.text)")
        let list = try await taskForce.go("/cases?school=\(schoolCode)")
        #expect(list.text.contains("/cases/\(caseID)"))
        let casePage = try await taskForce.go("/cases/\(caseID)")
        #expect(casePage.status == 200 && casePage.text.contains("首次响应"), "\(casePage.text)")
        // The filtered list as a file, on a stated purpose (kept in the console's audit); without one, said beside the field.
        let exportForm = ["_csrf": Browser.csrf(list), "school": schoolCode, "tier": "", "status": "", "unit": "", "late": "", "format": "csv"]
        let noPurpose = try await taskForce.go("/cases/export", form: exportForm.merging(["purpose": ""]) { $1 })
        #expect(noPurpose.status == 400 && noPurpose.text.contains(#"id="purpose-error""#))
        let exported = try await taskForce.download("/cases/export", form: exportForm.merging(["purpose": "周例会核对"]) { $1 })
        let exportedLines = String(decoding: exported.bytes.dropFirst(3), as: UTF8.self).split(separator: "\r\n")
        #expect(exported.status == 200 && exportedLines.count == 2 && exportedLines[1].hasPrefix("\(caseID),"), "\(exportedLines)")
        let operatorToken = try await APITokens(secret: APITokens.developmentSecret).issue(APIIdentity(agency: "ops", role: .operator), lifetime: .seconds(60))
        let consoleAudit = try await httpGet("http://127.0.0.1:\(consolePort)/v1/audit?person=tf-\(run)", headers: ["Authorization": "Bearer \(operatorToken)"])
        #expect(consoleAudit.body.contains(#""resource":"cases?school=\#(schoolCode)""#) && consoleAudit.body.contains("周例会核对 · 1 rows · csv"),
                "\(consoleAudit.body)")

        // The school: its tasks, feedback with a mistake (kept, said next to the field), then done; its notice acknowledged.
        let staff = Browser(base: "http://127.0.0.1:\(consolePort)")
        try await staff.signIn("sch-\(run)", "a long password 123")
        let tasks = try await staff.go("/tasks")
        let taskID = try #require(tasks.text.range(of: #"action="/tasks/"#).map { tasks.text[$0.upperBound...].prefix { $0 != "/" } })
        let mistake = try await staff.go("/tasks/\(taskID)/feedback", form: ["_csrf": Browser.csrf(tasks), "status": "rejected", "note": "已家访"])
        #expect(mistake.status == 400 && mistake.text.contains("退回任务时请写明原因") && mistake.text.contains("已家访"))
        let sent = try await staff.go("/tasks/\(taskID)/feedback", form: ["_csrf": Browser.csrf(tasks), "status": "completed", "note": "已家访并约谈"])
        #expect(sent.status == 303)
        var inbox = try await staff.go("/inbox")
        #expect(try await eventually {
            inbox = try await staff.go("/inbox")
            return inbox.text.contains(#"action="/inbox/"#)
        }, "no notice to acknowledge: \(inbox.text)")
        let delivery = try #require(inbox.text.range(of: #"action="/inbox/"#).map { inbox.text[$0.upperBound...].prefix { $0 != "/" } })
        let acked = try await staff.go("/inbox/\(delivery)/ack", form: ["_csrf": Browser.csrf(inbox)])
        #expect(acked.status == 303)
        #expect(try await staff.go("/inbox").text.contains("已确认"))
        // A school's person exports no case list.
        let refusedExport = try await staff.go("/cases/export", form: ["_csrf": Browser.csrf(inbox), "school": schoolCode, "format": "csv", "purpose": "看看"])
        #expect(refusedExport.status == 403)
        // Each service keeps who acted: the acknowledgement in notification, the feedback in intervention.
        let acknowledged = try await suite.call("notification", "/v1/audit?person=sch-\(run)", as: ScenarioTests.taskForce)
        #expect(ScenarioTests.array(acknowledged.json).contains {
            ScenarioTests.string($0, "action") == "acknowledge" && ScenarioTests.string($0, "resource") == "delivery/\(delivery)"
        }, "\(acknowledged.text)")
        let answered = try await suite.call("intervention", "/v1/audit?person=sch-\(run)", as: ScenarioTests.taskForce)
        #expect(ScenarioTests.array(answered.json).contains { ScenarioTests.string($0, "action") == "feedback-completed" }, "\(answered.text)")

        // Back as the task force: the first response is completed, by whom; the audit names who read the case.
        let after = try await taskForce.go("/cases/\(caseID)")
        #expect(after.text.contains("已完成") && after.text.contains("sch-\(run)"), "\(after.text)")
        let audit = try await suite.call("intervention", "/v1/audit?person=tf-\(run)", as: ScenarioTests.taskForce)
        #expect(ScenarioTests.array(audit.json).contains { ScenarioTests.string($0, "resource") == "case/\(caseID)" }, "\(audit.text)")

        // The task force's actions: a care team, a measure (first without its unit: said, and what was typed kept), a seal.
        let page = try await taskForce.go("/cases/\(caseID)")
        let team = try await taskForce.go("/cases/\(caseID)/team", form: [
            "_csrf": Browser.csrf(page), "guardian_name": "王家长", "guardian_contact": "13800000000",
            "head_teacher_name": "李老师", "head_teacher_contact": "li@school.example", "head_teacher_unit": schoolCode,
        ])
        #expect(team.status == 303, "\(team.text)")
        let missing = try await taskForce.go("/cases/\(caseID)/plan", form: ["_csrf": Browser.csrf(page), "measure": "counselling", "note": "每周一次"])
        #expect(missing.status == 400 && missing.text.contains("请填写此项") && missing.text.contains("每周一次"))
        let planned = try await taskForce.go("/cases/\(caseID)/plan", form: [
            "_csrf": Browser.csrf(page), "measure": "counselling", "unit": schoolCode, "note": "每周一次"])
        #expect(planned.status == 303, "\(planned.text)")
        let withPlan = try await taskForce.go("/cases/\(caseID)")
        #expect(withPlan.text.contains("心理辅导"), "\(withPlan.text)")
        #expect(withPlan.text.contains("王家长") && withPlan.text.contains("李老师"), "the care team is shown")
        // Judicial aid is a referral: its outcome is recorded on the case page.
        let aid = try await taskForce.go("/cases/\(caseID)/plan", form: ["_csrf": Browser.csrf(page), "measure": "judicial_aid", "unit": "procuratorate-x"])
        #expect(aid.status == 303, "\(aid.text)")
        let referred = try await taskForce.go("/cases/\(caseID)")
        let referral = try #require(referred.text.range(of: #"name="referral" value=""#).map { referred.text[$0.upperBound...].prefix { $0 != "\"" } },
                                    "\(referred.text)")
        #expect(referred.text.contains("司法救助") && referred.text.contains("已批准"), "the outcomes are offered in words")
        let outcome = try await taskForce.go("/cases/\(caseID)/outcome", form: [
            "_csrf": Browser.csrf(page), "referral": String(referral), "outcome": "granted", "note": "救助金已发放"])
        #expect(outcome.status == 303, "\(outcome.text)")
        #expect(try await taskForce.go("/cases/\(caseID)").text.contains("已办结"))
        let acted = try await suite.call("intervention", "/v1/audit?person=tf-\(run)", as: ScenarioTests.taskForce)
        let done = Set(ScenarioTests.array(acted.json).compactMap { ScenarioTests.string($0, "action") })
        #expect(done.isSuperset(of: ["read", "team", "plan", "referral-outcome"]), "\(done)")
        // The task force's audit page names the people, across the services.
        let trail = try await taskForce.go("/audit")
        #expect(trail.status == 200 && trail.text.contains("王老师 (sch-\(run))") && trail.text.contains("acknowledge")
                && trail.text.contains("张专班 (tf-\(run))"), "\(trail.text)")
        let one = try await taskForce.go("/audit?person=sch-\(run)")
        #expect(!one.text.contains("张专班 (tf-\(run))") && one.text.contains("feedback-completed"))
        // The day's loop with the last fourteen days: four charts and their table.
        let day = try await taskForce.go("/")
        #expect(day.text.components(separatedBy: #"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 320 150""#).count == 5, "\(day.text)")
        #expect(day.text.components(separatedBy: #"<th scope="row">"#).count == 15, "fourteen days in the table")
        let sealed = try await taskForce.go("/cases/\(caseID)/seal", form: ["_csrf": Browser.csrf(page), "order": "（2026）鲁0102刑初1号"])
        #expect(sealed.status == 303, "\(sealed.text)")
        // A sealed case opens only on a stated reason, which the audit keeps with the person.
        let closed = try await taskForce.go("/cases/\(caseID)")
        #expect(closed.status == 403 && closed.text.contains("查阅理由"), "\(closed.text)")
        let noReason = try await taskForce.go("/cases/\(caseID)/access", form: ["_csrf": Browser.csrf(closed), "reason": " "])
        #expect(noReason.status == 400 && noReason.text.contains("请填写此项"))
        let opened = try await taskForce.go("/cases/\(caseID)/access", form: ["_csrf": Browser.csrf(closed), "reason": "法院调卷"])
        #expect(opened.status == 303)
        #expect(try await taskForce.go("/cases/\(caseID)").status == 200)
        let glass = try await suite.call("intervention", "/v1/audit?person=tf-\(run)", as: ScenarioTests.taskForce)
        #expect(ScenarioTests.array(glass.json).contains {
            ScenarioTests.string($0, "action") == "break-the-glass" && ScenarioTests.string($0, "reason") == "法院调卷"
        }, "\(glass.text)")
        // Opened, the sealed case offers the unseal order instead of the seal.
        let open = try await taskForce.go("/cases/\(caseID)")
        #expect(open.text.contains(#"action="/cases/\#(caseID)/unseal""#) && !open.text.contains(#"action="/cases/\#(caseID)/seal""#))
        let unsealed = try await taskForce.go("/cases/\(caseID)/unseal", form: ["_csrf": Browser.csrf(open), "order": "（2026）鲁0102刑更1号"])
        #expect(unsealed.status == 303, "\(unsealed.text)")
        #expect(try await taskForce.go("/cases?school=\(schoolCode)").text.contains("/cases/\(caseID)"), "back in the lists")
    }
}

/// The console in a real browser: `Tests/Browser/console_browser.py` drives Debian's Chromium over
/// WebDriver (selenium) through the loop, checks every page with axe-core and saves screenshots to
/// `.dev/screenshots` (zh and en, and a phone's width). scripts/test installs the browser and the packages.
@Suite("Console in a browser", .serialized)
struct ConsoleBrowserTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The project's Python with selenium, when Chromium and its driver are there too; nil (the test failing and
    /// saying what is missing) otherwise.
    static func browserPython() -> URL? {
        let python = root.appendingPathComponent(".dev/venv/bin/python")
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver"), FileManager.default.isExecutableFile(atPath: python.path) else {
            Issue.record("Chromium, chromedriver or .dev/venv is missing: scripts/test installs chromium, chromium-driver, fonts-noto-cjk, selenium and pypdf")
            return nil
        }
        return python
    }

    @Test("the loop in Chromium: sign-in with an authenticator, a late task's case, feedback, acknowledgement, a seal opened on a reason; no serious accessibility violation")
    func loopInChromium() async throws {
        guard let python = Self.browserPython() else { return }
        // A first response due within two seconds, so the case has a late task by the time the browser opens it.
        try await ConsoleLoopTests.withConsole(settings: ["FIRST_RESPONSE_HOURS": "0.0005,0.0005,0.0005"]) { suite, consolePort in
            try await Self.run(suite, consolePort: consolePort, python: python)
        }
    }

    static func run(_ suite: ScenarioTests.Suite, consolePort: Int, python: URL) async throws {
        let schoolCode = ScenarioTests.schoolCode()
        let school = try ScenarioTests.Agency("sch", kind: "school", unit: schoolCode, intakePort: suite.ports["intake"]!)
        let run = UUID().uuidString.prefix(6).lowercased()
        let password = "a long password 123"
        try await ConsoleLoopTests.addPerson(consolePort: consolePort, username: "tf-\(run)", name: "张专班", agency: "district-task-force",
                                             unit: "district-task-force", role: "task-force", password: password)
        try await ConsoleLoopTests.addPerson(consolePort: consolePort, username: "sch-\(run)", name: "王老师", agency: school.code,
                                             unit: schoolCode, role: "caseworker", password: password)
        try await ConsoleLoopTests.addPerson(consolePort: consolePort, username: "ops-\(run)", name: "运维小刘", agency: "operations",
                                             unit: "operations", role: "operator", password: password)
        try await school.send("report.incident.v1", """
            {"externalId":"\(ScenarioTests.ext())","category":"bullying","immediateDanger":true,"occurredAt":"\(ScenarioTests.now())",
             "schoolCode":"\(schoolCode)","people":[{"role":"victim","studentNumber":"B-1"}]}
            """)
        var caseID = ""
        #expect(try await eventually {
            let cases = try await suite.call("intervention", "/v1/cases?school=\(schoolCode)&late=true", as: ScenarioTests.taskForce)
            caseID = ScenarioTests.array(cases.json).first.flatMap { ScenarioTests.string($0, "caseId") } ?? ""
            return !caseID.isEmpty
        }, "no case with a late task")

        let (status, output) = try runPython(python, script: "Tests/Browser/console_browser.py", environment: [
            "CONSOLE_URL": "http://127.0.0.1:\(consolePort)", "TF_USER": "tf-\(run)", "SCHOOL_USER": "sch-\(run)", "PASSWORD": password,
            "CASE_ID": caseID, "SCREENSHOTS": root.appendingPathComponent(".dev/screenshots").path, "SCHOOL_UNIT": schoolCode, "OPS_USER": "ops-\(run)",
        ])
        print("browser: \(output.suffix(3000))")
        #expect(status == 0, "\(output.suffix(3000))")

        // Each service's audit names the person: the case read and the break-the-glass with its reason.
        let audit = try await suite.call("intervention", "/v1/audit?person=tf-\(run)", as: ScenarioTests.taskForce)
        let actions = ScenarioTests.array(audit.json).compactMap { ScenarioTests.string($0, "action") }
        #expect(actions.contains("read") && actions.contains("break-the-glass"), "\(audit.text)")
        #expect(ScenarioTests.array(audit.json).contains { ScenarioTests.string($0, "reason") == "法院调卷审查" })
        // The person's reason opened the sealed case to them alone: this test's own token needs a reason of its own.
        #expect(try await suite.call("intervention", "/v1/cases/\(caseID)", as: ScenarioTests.taskForce).status == 403)
        #expect(try await suite.call(method: "POST", "intervention", "/v1/cases/\(caseID)/access", as: ScenarioTests.taskForce,
                                     body: #"{"reason":"test of the browser loop"}"#).status == 201)
        // The task is no longer late, and the chronology says who answered it.
        let detail = try await suite.call("intervention", "/v1/cases/\(caseID)", as: ScenarioTests.taskForce)
        #expect(detail.text.contains("sch-\(run)"), "\(detail.text)")
    }
}
