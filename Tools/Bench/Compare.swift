import ArgumentParser
import Foundation

/// Compares the runs of `bench/pipeline --baseline`: the mean of each figure per revision, and the ratio of
/// this tree's to the baseline's, all measured on one machine in one sitting.
struct CompareBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare", abstract: "The before/after table of pipeline runs (their --summary lines).")

    @Argument(help: "The summary file: one JSON line per run.") var file: String
    @Option(help: "The label of the baseline runs.") var baseline: String

    func run() throws {
        let text = try String(contentsOfFile: file, encoding: .utf8)
        let runs = try text.split(separator: "\n").map { try JSONDecoder().decode(Report.Summary.self, from: Data($0.utf8)) }
        let before = runs.filter { $0.label == baseline }
        let after = runs.filter { $0.label != baseline }
        guard !before.isEmpty, !after.isEmpty, let label = after.first?.label else {
            throw ValidationError("\(file) needs runs of the baseline (\(baseline)) and of this tree")
        }
        print(Self.table(before: before, after: after, baseline: baseline, label: label))
    }

    static func mean(_ values: [Double]) -> Double { values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count) }

    /// The table: one row per figure, the runs of each side, their means and the ratio.
    static func table(before: [Report.Summary], after: [Report.Summary], baseline: String, label: String) -> String {
        func f(_ value: Double, _ digits: Int = 1) -> String { value.isNaN ? "—" : String(format: "%.\(digits)f", value) }
        var lines = [
            "", "before/after, \(before.count) round(s) each, alternating — before: \(baseline); after: \(label)", "",
            "| figure | before (each run) | after (each run) | before, mean | after, mean | after / before |",
            "|---|---|---|---|---|---|",
        ]
        func row(_ name: String, _ digits: Int = 1, _ value: (Report.Summary) -> Double?) {
            let b = before.compactMap(value), a = after.compactMap(value)
            guard !b.isEmpty || !a.isEmpty else { return }
            let mb = mean(b), ma = mean(a)
            lines.append("| \(name) | \(b.map { f($0, digits) }.joined(separator: ", ")) | \(a.map { f($0, digits) }.joined(separator: ", ")) | "
                + "\(f(mb, digits)) | \(f(ma, digits)) | \(f(ma / mb, 2)) |")
        }
        row("broker limit L, msg/s", 0) { $0.limit }
        row("closed loop, events/s", 1) { $0.closedThroughput }
        row("closed loop, events/s per L (×1000)", 2) { $0.closedThroughput / $0.limit * 1000 }
        row("closed loop p99, ms", 1) { $0.closedP99 }
        row("open loop rate, events/s", 1) { $0.openRate }
        row("open loop p99, ms", 1) { $0.openP99 }
        row("CPU ms per event, all processes", 2) { $0.cpuMillisecondsPerEventTotal }
        for process in PipelineBench.services + ["postgresql", "rabbitmq"] {
            row("CPU ms per event, \(process)", 2) { $0.cpuMillisecondsPerEvent[process] }
        }
        row("platform row (pass-through), events/s", 1) { $0.platformThroughput }
        row("platform row, CPU ms per event", 2) { $0.platformCPUMillisecondsPerEvent }
        row("transactions per event", 1) { $0.transactionsPerEvent }
        row("SQL statements per event", 1) { $0.statementsPerEvent }
        row("open loop, CPU ms per event, all processes", 2) { $0.openCPUMillisecondsPerEventTotal }
        row("open loop, transactions per event", 1) { $0.openTransactionsPerEvent }
        for service in PipelineBench.services {
            row("RSS idle, \(service) (MB)", 1) { $0.idleMB[service] }
        }
        return lines.joined(separator: "\n")
    }
}
