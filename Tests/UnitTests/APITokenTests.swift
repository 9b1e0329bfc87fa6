import Foundation
@testable import ServiceKit
import Testing

@Suite("API tokens")
struct APITokenTests {
    let tokens = try! APITokens(secret: String(repeating: "k", count: 32))

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    @Test("an issued token verifies to its agency, role, unit and person")
    func roundTrip() async throws {
        let token = try await tokens.issue(APIIdentity(agency: "school-1", role: .caseworker), lifetime: .seconds(60))
        #expect(try await tokens.verify(token) == APIIdentity(agency: "school-1", role: .caseworker))
        #expect(token.split(separator: ".").count == 3)
        let person = APIIdentity(agency: "school-370102-m03", role: .caseworker, unit: "370102-M03", person: "wang.li")
        #expect(try await tokens.verify(try await tokens.issue(person, lifetime: .seconds(60))) == person)
    }

    @Test("roles the APIs tell apart are typed; any other role name acts for its unit only")
    func roles() async throws {
        #expect(Role("task-force") == .taskForce && Role.taskForce.name == "task-force")
        #expect(Role("operator") == .operator && Role("education") == .education && Role("agency") == .agency)
        #expect(Role("police") == .unit("police") && Role.unit("police").name == "police")
        for role in [Role.taskForce, .operator, .agency, .education, .caseworker, .unit("hotline")] {
            let identity = APIIdentity(agency: "a", role: role)
            #expect(try await tokens.verify(try await tokens.issue(identity, lifetime: .seconds(60))).role == role)
        }
        let caller = APIIdentity(agency: "a", role: .caseworker)
        #expect(throws: (any Error).self) { try caller.require(.taskForce, .operator, otherwise: "no") }
        try caller.require(.caseworker, otherwise: "no")
        #expect(caller.isAny(of: .caseworker, .education) && !caller.isAny(of: .taskForce))
    }

    @Test("an expired token is refused")
    func expired() async throws {
        let token = try await tokens.issue(APIIdentity(agency: "a", role: Role("r")), lifetime: .seconds(60), now: Date(timeIntervalSinceNow: -120))
        await #expect(throws: APITokens.Invalid.self) { try await tokens.verify(token) }
    }

    @Test("a token signed with another key, or with its claims changed, is refused")
    func tampered() async throws {
        let other = try APITokens(secret: String(repeating: "x", count: 32))
        let foreign = try await other.issue(APIIdentity(agency: "a", role: Role("r")), lifetime: .seconds(60))
        await #expect(throws: APITokens.Invalid.self) { try await tokens.verify(foreign) }

        let token = try await tokens.issue(APIIdentity(agency: "a", role: .caseworker), lifetime: .seconds(60))
        let parts = token.split(separator: ".").map(String.init)
        let forgedClaims = Self.base64URL(Data(#"{"sub":"a","role":"operator","iat":0,"exp":9999999999}"#.utf8))
        await #expect(throws: APITokens.Invalid.self) { try await tokens.verify([parts[0], forgedClaims, parts[2]].joined(separator: ".")) }
        await #expect(throws: APITokens.Invalid.self) { try await tokens.verify("a.b") }
        // An unsigned token ("alg": "none") is refused.
        let unsigned = Self.base64URL(Data(#"{"alg":"none","typ":"JWT"}"#.utf8)) + "." + forgedClaims + "."
        await #expect(throws: APITokens.Invalid.self) { try await tokens.verify(unsigned) }
    }

    @Test("a short secret is refused")
    func shortSecret() {
        #expect(throws: ConfigurationError.self) { try APITokens(secret: "short") }
    }
}
