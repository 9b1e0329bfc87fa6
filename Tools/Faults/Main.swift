import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import Storage
import ToolKit

/// The fault suites: every fault of docs/RELIABILITY.md against real processes (`scripts/fault-test`), and the
/// clustered engines' faults (`scripts/cluster-test`).
@main
struct FaultSuites: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "huhang-faults",
        abstract: "Inject faults into stacks of the suites' own and check the ledger.",
        subcommands: [SingleEngines.self, ClusteredEngines.self],
        defaultSubcommand: SingleEngines.self)
}

/// The options both suites take.
struct SuiteOptions: ParsableArguments {
    @Option(help: "Only these faults, by number, separated by commas.") var only: String?
    @Option(help: "The repository (for the stack scripts).") var root = FileManager.default.currentDirectoryPath

    var chosen: Set<Int>? { only.map { Set($0.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }) } }
    var binaries: URL { URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent() }
    var logger: Logger {
        var logger = Logger(label: "faults")
        logger.logLevel = .warning
        return logger
    }
}

/// The fault suite on one broker and one database.
struct SingleEngines: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "faults", abstract: "Inject the faults of docs/RELIABILITY.md into a stack of the suite's own and check the ledger.")

    @OptionGroup var options: SuiteOptions

    func run() async throws {
        let root = URL(fileURLWithPath: options.root)
        let stack = try FaultStack(root: root)
        let suite = try Suite(stack: stack, logs: stack.directory.appendingPathComponent("logs"), binaries: options.binaries, logger: options.logger)
        let started = Date()
        try suite.stack.up()
        var verdicts: [Verdict] = []
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await suite.database.run() }
            do {
                try await suite.ensure("intake")
                try await suite.registerAgency()
                try await suite.ensure("assessment")
                for (number, fault) in suite.allFaults() where options.chosen?.contains(number) ?? true {
                    say("fault \(number) …", terminator: "")
                    let verdict = await fault(suite)
                    say(" \(verdict.label.replacingOccurrences(of: "**", with: "")) (\(Int(verdict.seconds)) s)")
                    verdicts.append(verdict)
                }
            } catch {
                say("suite could not start: \(error)")
            }
            await suite.stopEverything()
            group.cancelAll()
        }
        suite.stack.down()
        say("\n| # | fault | sent | confirmed | applied | lost | duplicated | verdict | what else held |")
        say("|---|---|---|---|---|---|---|---|---|")
        for v in verdicts {
            say("| \(v.number) | \(v.fault) | \(v.sent) | \(v.confirmed) | \(v.applied) | \(v.lost) | \(v.duplicated) | \(v.label) | \(v.condition) |")
        }
        let failed = verdicts.filter { !$0.passed }.count
        say("\n\(verdicts.count - failed) of \(verdicts.count) faults passed in \(Int(Date().timeIntervalSince(started))) s; logs in .fault/logs")
        if failed > 0 || verdicts.isEmpty { throw ExitCode(1) }
    }
}

/// The cluster suite: three broker nodes and a database pair with automatic failover, nodes killed mid-burst.
struct ClusteredEngines: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster", abstract: "Kill and cut off broker and database nodes under the whole loop and check the ledger.")

    @OptionGroup var options: SuiteOptions
    @Option(help: "How many times to run the scenarios, one after another on the same engines.") var runs = 1

    func run() async throws {
        let root = URL(fileURLWithPath: options.root)
        let stack = Clusters(root: root)
        let logs = root.appendingPathComponent(".dev/cluster-test/logs")
        let started = Date()
        say("starting three broker nodes and the database pair …")
        try await blocking { try stack.broker("up") }
        try await blocking { try stack.database("up") }
        let suite = try Suite(stack: stack, logs: logs, binaries: options.binaries, logger: options.logger)
        var verdicts: [(run: Int, verdict: Verdict)] = []
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await suite.database.run() }
            do {
                try await suite.ensure("intake")
                try await suite.registerAgency()
                for name in Suite<Clusters>.services { try await suite.ensure(name) }
                for run in 1...max(1, runs) {
                    for (number, scenario) in suite.allScenarios() where options.chosen?.contains(number) ?? true {
                        say("run \(run), scenario \(number) …", terminator: "")
                        let verdict = await scenario(suite)
                        say(" \(verdict.label.replacingOccurrences(of: "**", with: "")) (\(Int(verdict.seconds)) s)")
                        verdicts.append((run, verdict))
                    }
                }
            } catch {
                say("suite could not start: \(error)")
            }
            await suite.stopEverything()
            group.cancelAll()
        }
        say("\n| run | # | scenario | sent | confirmed | applied | lost | duplicated | recovered | verdict | what was seen |")
        say("|---|---|---|---|---|---|---|---|---|---|---|")
        for (run, v) in verdicts {
            let recovered = v.recovered.map { String(format: "%.1f s", $0) } ?? "never"
            say("| \(run) | \(v.number) | \(v.fault) | \(v.sent) | \(v.confirmed) | \(v.applied) | \(v.lost) | \(v.duplicated) | \(recovered) | \(v.label) | \(v.condition) |")
        }
        let failed = verdicts.filter { !$0.verdict.passed }.count
        let remedied = verdicts.filter { $0.verdict.passed && $0.verdict.remedy != nil }.count
        say("\n\(verdicts.count - failed) of \(verdicts.count) scenario runs passed\(remedied > 0 ? " (\(remedied) after the operator's remedy, see the rows)" : "") in \(Int(Date().timeIntervalSince(started))) s; logs in .dev/cluster-test/logs")
        if failed > 0 || verdicts.isEmpty { throw ExitCode(1) }
    }
}
