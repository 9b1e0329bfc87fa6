@testable import Console
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdOTP
import HummingbirdTesting
import Mustache
import NIOCore
import ServiceKit
import Storage
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
            pages.add(to: router)
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

    /// The CSRF field of a page's form.
    func csrf(_ page: Page) -> String {
        guard let range = page.text.range(of: #"name="_csrf" value=""#) else { return "" }
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

@Suite("Console words and templates")
struct ConsoleWordsTests {
    @Test("every word the console shows exists in Chinese and in English")
    func bothLanguages() {
        #expect(Set(Words.zh.keys) == Set(Words.en.keys), "only in one: \(Set(Words.zh.keys).symmetricDifference(Words.en.keys).sorted())")
    }

    @Test("every template parses, and a value is escaped, never inserted as HTML")
    func templatesEscape() {
        #expect(Templates.all.keys.allSatisfy { Templates.library.getTemplate(named: $0) != nil })
        let html = Templates.library.render(["message": "<script>alert(1)</script>", "back": "/", "t": Words.zh], withTemplate: "problem") ?? ""
        #expect(!html.contains("<script>") && html.contains("&lt;script&gt;"))
    }
}
