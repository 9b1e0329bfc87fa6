@testable import ServiceKit
import Testing

/// What the handlers of one transaction read once for all of them.
@Suite("Answers read once per batch")
struct BatchAnswersTests {
    @Test("an answer not yet read is absent, and a nil answer, once kept, is kept as nil — not taken for absent")
    func nilAnswerKept() {
        let shared = HandlerContext.Shared()
        #expect(shared.answer("notification.rule.x", as: String?.self) == nil)
        shared.keep(String?.none, as: "notification.rule.x")
        let kept = shared.answer("notification.rule.x", as: String?.self)
        #expect(kept != nil)
        #expect(kept! == nil)
        shared.keep(["a"], as: "intervention.departments.bullying")
        #expect(shared.answer("intervention.departments.bullying", as: [String].self) == ["a"])
        // Asked as another type, the answer is not given.
        #expect(shared.answer("intervention.departments.bullying", as: Int.self) == nil)
    }
}
