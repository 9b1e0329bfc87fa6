import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import Storage
import ToolKit

/// The fault suite: every fault of docs/RELIABILITY.md against real processes (run it through scripts/fault-test).
@main
struct FaultSuite: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "huhang-faults",
        abstract: "Inject the faults of docs/RELIABILITY.md into a stack of the suite's own and check the ledger.")

    @Option(help: "Only these faults, by number, separated by commas.") var only: String?
    @Option(help: "The repository (for scripts/dev-stack).") var root = FileManager.default.currentDirectoryPath

    func run() async throws {
        var logger = Logger(label: "faults")
        logger.logLevel = .warning
        let binaries = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let suite = try Suite(root: URL(fileURLWithPath: root), binaries: binaries, logger: logger)
        let chosen = only.map { Set($0.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }) }
        let started = Date()
        try suite.stack.up()
        var verdicts: [Verdict] = []
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await suite.database.run() }
            do {
                try await suite.ensure("intake")
                try await suite.registerAgency()
                try await suite.ensure("assessment")
                for (number, fault) in suite.allFaults() where chosen?.contains(number) ?? true {
                    say("fault \(number) …", terminator: "")
                    let verdict = await fault(suite)
                    say(" \(verdict.passed ? "pass" : "FAIL") (\(Int(verdict.seconds)) s)")
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
            say("| \(v.number) | \(v.fault) | \(v.sent) | \(v.confirmed) | \(v.applied) | \(v.lost) | \(v.duplicated) | \(v.passed ? "pass" : "**FAIL**") | \(v.condition) |")
        }
        let failed = verdicts.filter { !$0.passed }.count
        say("\n\(verdicts.count - failed) of \(verdicts.count) faults passed in \(Int(Date().timeIntervalSince(started))) s; logs in .fault/logs")
        if failed > 0 || verdicts.isEmpty { throw ExitCode(1) }
    }
}
