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

    @Test("answers kept across batches are given only at the configuration version they were read at")
    func answersKeptByVersion() {
        let cache = ConfigurationCache()
        #expect(cache.answer("intake.authorization.a.t", at: 3, as: String.self) == nil)
        cache.keep("allowed", as: "intake.authorization.a.t", at: 3)
        #expect(cache.answer("intake.authorization.a.t", at: 3, as: String.self) == "allowed")
        // Another version (a change was counted, or a batch that claimed before it) is not given it.
        #expect(cache.answer("intake.authorization.a.t", at: 4, as: String.self) == nil)
        #expect(cache.answer("intake.authorization.a.t", at: 2, as: String.self) == nil)
        #expect(cache.answer("intake.authorization.a.t", at: 3, as: Int.self) == nil)
        // An answer read at another version replaces all that was kept.
        cache.keep("refused", as: "intake.authorization.a.t", at: 4)
        #expect(cache.count == 1)
        #expect(cache.answer("intake.authorization.a.t", at: 4, as: String.self) == "refused")
        #expect(cache.answer("intake.authorization.a.t", at: 3, as: String.self) == nil)
    }

    @Test("a full cache starts again rather than growing")
    func capacityBounds() {
        let cache = ConfigurationCache(capacity: 2)
        cache.keep(1, as: "a", at: 1)
        cache.keep(2, as: "b", at: 1)
        #expect(cache.count == 2)
        cache.keep(3, as: "c", at: 1)
        #expect(cache.count == 1)
        #expect(cache.answer("c", at: 1, as: Int.self) == 3)
        #expect(cache.answer("a", at: 1, as: Int.self) == nil)
    }
}
