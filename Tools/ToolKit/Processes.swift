import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

public struct CommandFailure: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// A child process started with `posix_spawn` and reaped with `waitpid` by the suite itself (Foundation's
/// `Process` waits through the main run loop, which an async command does not turn).
public struct Child: Sendable {
    public let pid: pid_t

    /// Starts `path` with `arguments`, its output appended to `output`.
    public init(_ path: String, _ arguments: [String], environment: [String: String], output: String) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let env = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }.map { "\($0.key)=\($0.value)" }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        // Signals as a fresh process has them: the suite's own process may ignore or block some (a service
        // lifecycle takes SIGINT and SIGTERM itself), and a child that inherited that could not be stopped —
        // nor stop its own children (pg_autoctl stops PostgreSQL with SIGINT).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var everySignal = sigset_t()
        sigfillset(&everySignal)
        var noSignal = sigset_t()
        sigemptyset(&noSignal)
        posix_spawnattr_setsigdefault(&attributes, &everySignal)
        posix_spawnattr_setsigmask(&attributes, &noSignal)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var pid: pid_t = 0
        let status = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        guard status == 0 else { throw CommandFailure(description: "cannot start \(path): \(String(cString: strerror(status)))") }
        self.pid = pid
    }

    /// Reaps it if it has ended. - Returns: Its exit status (128 + signal when killed), or nil while it runs.
    public func poll() -> Int32? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        guard result == pid else { return result < 0 ? -1 : nil }
        return Self.decode(status)
    }

    /// Blocks until it ends. - Returns: Its exit status.
    public func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return Self.decode(status)
    }

    private static func decode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}

/// Runs a command to its end. - Returns: What it printed.
@discardableResult
public func run(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws -> String {
    // A file, not a pipe: a daemon the command starts (epmd, a broker) may keep a pipe open long after.
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("huhang-faults-\(UUID().uuidString)").path
    defer { unlink(file) }
    let status = try Child(path, arguments, environment: environment, output: file).wait()
    let output = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
    guard status == 0 else {
        throw CommandFailure(description: "\(path) \(arguments.joined(separator: " ")) exited \(status): \(output.suffix(2000))")
    }
    return output
}

/// A service process the suite started, known by its PID.
public final class ServiceProcess: @unchecked Sendable {
    public let name: String
    public let port: Int
    public let child: Child
    public let log: URL
    private var status: Int32?

    /// Starts a service binary.
    /// - Parameters:
    ///   - name: The executable, e.g. `intake`.
    ///   - binaries: Where the built executables are.
    ///   - environment: Its settings.
    ///   - port: Its HTTP port.
    ///   - logs: The folder for its log.
    ///   - arguments: Its command-line arguments, if any.
    public init(_ name: String, binaries: URL, environment: [String: String], port: Int, logs: URL, arguments: [String] = []) throws {
        self.name = name
        self.port = port
        log = logs.appendingPathComponent("\(([name] + arguments).joined(separator: "-"))-\(port).log")
        child = try Child(
            binaries.appendingPathComponent(name).path, arguments,
            environment: environment.merging(["HTTP_PORT": String(port), "HTTP_HOST": "127.0.0.1"]) { _, new in new }, output: log.path)
    }

    public var pid: Int32 { child.pid }

    /// Its exit status once it has ended.
    public var terminationStatus: Int32? {
        if status == nil { status = child.poll() }
        return status
    }

    public var isRunning: Bool { terminationStatus == nil }

    public func signal(_ signal: Int32) { if isRunning { kill(pid, signal) } }

    /// Waits for the process to end. - Returns: Whether it ended within the time.
    public func wait(upTo seconds: Double) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while isRunning && Date() < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        return !isRunning
    }

    /// Ends it: SIGTERM, then SIGKILL after a grace.
    public func stop() async {
        signal(SIGTERM)
        if !(await wait(upTo: 15)) { signal(SIGKILL); _ = await wait(upTo: 5) }
    }

    /// Polls `/health/ready` until it answers 200. - Returns: Whether it did within the time.
    public func ready(within seconds: Double) async -> Bool {
        await Self.ready(port: port, within: seconds)
    }

    public static func ready(port: Int, within seconds: Double) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if await httpStatus("http://127.0.0.1:\(port)/health/ready") == 200 { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// The resident memory of the process, in kB.
    public var residentKB: Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }
        return 0
    }

    /// CPU seconds used so far (user + system).
    public var cpuSeconds: Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

/// The HTTP status of a GET, or 0 when nothing answered.
///
/// A loopback address whose port refuses connections answers 0 at once: AsyncHTTPClient would keep
/// trying to connect with growing pauses (100 ms and more) until the timeout, which would blur start →
/// ready times measured by polling.
public func httpStatus(_ url: String, timeout: TimeInterval = 2) async -> Int {
    if let components = URLComponents(string: url), components.host == "127.0.0.1", let port = components.port,
       !loopbackPortAccepts(port) {
        return 0
    }
    return (try? await HTTPExchange.send("GET", url, timeout: timeout).status) ?? 0
}

/// Whether something listens on a loopback port (a connection on loopback is accepted or refused at once).
func loopbackPortAccepts(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return true }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}

/// One HTTP request and its whole answer, through the process's shared AsyncHTTPClient.
public enum HTTPExchange {
    /// Sends a request and reads the answer.
    /// - Parameters:
    ///   - method: The HTTP method.
    ///   - url: The whole address.
    ///   - headers: Header names and values.
    ///   - body: The request's body, if any.
    ///   - timeout: How long the whole exchange may take.
    /// - Returns: The status and up to 16 MiB of the answer's body.
    public static func send(
        _ method: String, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil, timeout: TimeInterval = 30
    ) async throws -> (status: Int, body: [UInt8]) {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
        let answer = try await response.body.collect(upTo: 16 << 20)
        return (Int(response.status.code), Array(buffer: answer))
    }
}

/// Writes a line to standard output at once (a pipe would otherwise hold it until the end).
public func say(_ text: String, terminator: String = "\n") {
    FileHandle.standardOutput.write(Data((text + terminator).utf8))
}

/// A small seeded generator, so a generated load or a failing run can be replayed.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(state: UInt64) { self.state = state }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A value shared between tasks behind a lock, as a reference (a `Mutex` cannot be captured by a task).
public final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    public init(_ value: Value) { mutex = Mutex(value) }
    public func withLock<Result: Sendable>(_ body: (inout sending Value) throws -> sending Result) rethrows -> sending Result {
        try mutex.withLock(body)
    }
    public var value: Value { mutex.withLock { $0 } }
}
