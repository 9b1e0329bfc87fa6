/// The events of a group handled together (``HandlerRegistry/together(_:_:)``), in waves: each wave names a
/// subject at most once, so that it can be applied in one statement per step, and a subject's events are
/// applied in the order they came.
public enum Waves {
    /// The events in waves: an event goes into the wave after the last one holding any of its subjects.
    /// - Parameter subjects: Each event's subjects, in the batch's order.
    /// - Returns: The events' indices, wave by wave, each wave in the batch's order.
    public static func of(_ subjects: [Set<String>]) -> [[Int]] {
        var last: [String: Int] = [:]
        var waves: [[Int]] = []
        for (index, named) in subjects.enumerated() {
            let wave = named.map { (last[$0] ?? -1) + 1 }.max() ?? 0
            for subject in named { last[subject] = wave }
            while waves.count <= wave { waves.append([]) }
            waves[wave].append(index)
        }
        return waves
    }
}
