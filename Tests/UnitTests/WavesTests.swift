import ServiceKit
import Testing

/// A batch's events in waves: a subject's events in the order they came, each wave naming a subject once.
@Suite("Waves")
struct WavesTests {
    @Test("events about different subjects share the first wave; a subject's second event waits for the next")
    func distinctSubjectsShareAWave() {
        #expect(Waves.of([["a"], ["b"], ["c"]]) == [[0, 1, 2]])
        #expect(Waves.of([["a"], ["a"], ["b"], ["a"]]) == [[0, 2], [1], [3]])
    }

    @Test("an event naming several subjects goes after the last wave holding any of them")
    func severalSubjects() {
        // 0: a; 1: b; 2: a and b (after both); 3: c (first wave); 4: b (after 2); 5: nothing named.
        let waves = Waves.of([["a"], ["b"], ["a", "b"], ["c"], ["b"], []])
        #expect(waves == [[0, 1, 3, 5], [2], [4]])
        // Every wave names each subject at most once, and each subject's events keep their order.
        let named: [Set<String>] = [["a"], ["b"], ["a", "b"], ["c"], ["b"], []]
        for wave in waves {
            let all = wave.flatMap { named[$0] }
            #expect(all.count == Set(all).count)
        }
        let order = waves.flatMap { $0 }
        for subject in ["a", "b", "c"] {
            let positions = order.filter { named[$0].contains(subject) }
            #expect(positions == positions.sorted())
        }
    }
}
