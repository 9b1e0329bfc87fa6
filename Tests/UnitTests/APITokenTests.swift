import Foundation
@testable import ServiceKit
import Testing

@Suite("API tokens")
struct APITokenTests {
    let tokens = try! APITokens(secret: String(repeating: "k", count: 32))

    @Test("an issued token verifies to its agency and role")
    func roundTrip() throws {
        let token = try tokens.issue(APIIdentity(agency: "school-1", role: "caseworker"), lifetime: .seconds(60))
        #expect(try tokens.verify(token) == APIIdentity(agency: "school-1", role: "caseworker"))
        #expect(token.split(separator: ".").count == 3)
    }

    @Test("an expired token is refused")
    func expired() throws {
        let token = try tokens.issue(APIIdentity(agency: "a", role: "r"), lifetime: .seconds(60), now: Date(timeIntervalSinceNow: -120))
        #expect(throws: APITokens.Invalid.self) { try tokens.verify(token) }
    }

    @Test("a token signed with another key, or with its claims changed, is refused")
    func tampered() throws {
        let other = try APITokens(secret: String(repeating: "x", count: 32))
        let foreign = try other.issue(APIIdentity(agency: "a", role: "r"), lifetime: .seconds(60))
        #expect(throws: APITokens.Invalid.self) { try tokens.verify(foreign) }

        let token = try tokens.issue(APIIdentity(agency: "a", role: "caseworker"), lifetime: .seconds(60))
        let parts = token.split(separator: ".").map(String.init)
        let forgedClaims = APITokens.base64URL(Data(#"{"sub":"a","role":"operator","iat":0,"exp":9999999999}"#.utf8))
        #expect(throws: APITokens.Invalid.self) { try tokens.verify([parts[0], forgedClaims, parts[2]].joined(separator: ".")) }
        #expect(throws: APITokens.Invalid.self) { try tokens.verify("a.b") }
    }

    @Test("a short secret is refused")
    func shortSecret() {
        #expect(throws: ConfigurationError.self) { try APITokens(secret: "short") }
    }
}
