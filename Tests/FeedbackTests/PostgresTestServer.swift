import FeedbackPostgres
import Foundation
import Logging
import PostgresNIO
#if canImport(Glibc)
import Glibc
#endif

/// One PostgreSQL server for the whole test process, started on first use: Debian's server binaries
/// (scripts/setup.sh --test installs `postgresql`) run `initdb` in a fresh temporary directory and listen on a
/// free loopback port, with password (SCRAM) authentication so the store's password handling is exercised. It is
/// never a system service. A watchdog in its own session stops it and deletes its directory once this process has
/// exited, however it exits. Each test gets its own database (`makeDatabase()`), so tests run in parallel.
///
/// As root (CI's containers), the server runs as the `postgres` user, because initdb refuses root.
actor PostgresTestServer {
    static let shared = PostgresTestServer()

    struct Instance: Sendable {
        let directory: String
        let port: Int
        let password: String
        let binaries: String
    }

    private var starting: Task<Instance, any Error>?
    private var databases = 0

    /// The running server, started if need be. Throws (failing the test) if it cannot start.
    func instance() async throws -> Instance {
        if let starting { return try await starting.value }
        // start() blocks for seconds (initdb, pg_ctl): on a thread of its own, not one of the few of Swift's pool.
        let task = Task {
            try await withCheckedThrowingContinuation { continuation in
                Thread.detachNewThread { continuation.resume(with: Result { try Self.start() }) }
            }
        }
        starting = task
        return try await task.value
    }

    /// A new empty database on the server, and its URL with the password in it.
    func makeDatabase() async throws -> PostgresStoreURL {
        let instance = try await instance()
        databases += 1
        let name = "feedback_\(databases)_\(UUID().uuidString.prefix(8).lowercased())"
        try await Self.admin(instance) { connection, logger in
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        }
        return try PostgresStoreURL("postgres://postgres:\(instance.password)@127.0.0.1:\(instance.port)/\(name)", environment: [:])
    }

    /// Runs `body` on a connection to the maintenance database `postgres`.
    static func admin(_ instance: Instance,
                      _ body: (PostgresConnection, Logger) async throws -> Void) async throws {
        try await connect(host: "127.0.0.1", port: instance.port, password: instance.password, database: "postgres", body)
    }

    /// Runs `body` on a connection of its own to a store's database, past the store (for tests that write rows the
    /// store would refuse).
    static func connect<Result>(to url: PostgresStoreURL,
                                _ body: (PostgresConnection, Logger) async throws -> Result) async throws -> Result {
        try await connect(host: url.host, port: url.port, password: url.password, database: url.database, body)
    }

    static func connect<Result>(host: String, port: Int, password: String?, database: String,
                                _ body: (PostgresConnection, Logger) async throws -> Result) async throws -> Result {
        let logger = Logger(label: "postgres-test-admin")
        let configuration = PostgresConnection.Configuration(host: host, port: port, username: "postgres",
                                                             password: password, database: database, tls: .disable)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        do {
            let result = try await body(connection, logger)
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    // MARK: Starting and stopping

    struct StartError: Error, CustomStringConvertible {
        let description: String
    }

    /// The newest Debian server binaries, or `RACONTEUR_PG_BIN`.
    static func binaries() throws -> String {
        if let configured = ProcessInfo.processInfo.environment["RACONTEUR_PG_BIN"] { return configured }
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        for version in versions.reversed() where FileManager.default.isExecutableFile(atPath: "\(root)/\(version)/bin/initdb") {
            return "\(root)/\(version)/bin"
        }
        throw StartError(description: "PostgreSQL's server binaries are not installed (\(root)/*/bin/initdb); run scripts/setup.sh --test")
    }

    static func start(attempts: Int = 3) throws -> Instance {
        let binaries = try binaries()
        let asRoot = getuid() == 0
        // As root, /tmp rather than $TMPDIR, which the postgres user may not be allowed to enter.
        let parent = asRoot ? URL(fileURLWithPath: "/tmp") : FileManager.default.temporaryDirectory
        let directory = parent.appendingPathComponent("raconteur-pg-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let password = UUID().uuidString
        if asRoot {
            // initdb runs as postgres, which must own the directory it writes into.
            try FileManager.default.setAttributes([.ownerAccountName: "postgres", .posixPermissions: 0o700], ofItemAtPath: directory)
        }
        try Data((password + "\n").utf8).write(to: URL(fileURLWithPath: directory + "/password"))
        if asRoot { try FileManager.default.setAttributes([.ownerAccountName: "postgres"], ofItemAtPath: directory + "/password") }
        try startWatchdog(directory: directory, binaries: binaries, asRoot: asRoot)

        try run(binaries + "/initdb", ["-D", directory + "/data", "-U", "postgres", "--pwfile=" + directory + "/password",
                                       "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync"],
                asRoot: asRoot)
        var lastError: (any Error)?
        for _ in 0..<attempts {
            let port = try freePort()
            do {
                // fsync off: a test server's data need not survive a power cut.
                try run(binaries + "/pg_ctl", ["-D", directory + "/data", "-l", directory + "/server.log", "-w", "-t", "60",
                                               "-o", "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off",
                                               "start"], asRoot: asRoot)
                return Instance(directory: directory, port: port, password: password, binaries: binaries)
            } catch {
                lastError = error  // the port was taken between choosing and binding it: try another
            }
        }
        let log = (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
        throw StartError(description: "PostgreSQL did not start: \(lastError.map { "\($0)" } ?? "?")\n\(log)")
    }

    /// A port that was free a moment ago: bind port 0 on loopback and read what the kernel chose.
    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw StartError(description: "socket() failed") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard bound else { throw StartError(description: "bind() on 127.0.0.1 failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Runs a server program to completion (as postgres when we are root); throws with its output if it fails.
    /// posix_spawn and waitpid rather than Foundation's Process, whose waitUntilExit was seen to hang after pg_ctl
    /// started the server; the output goes to a file, not a pipe, which the server (a daemon) would hold open.
    static func run(_ program: String, _ arguments: [String], asRoot: Bool) throws {
        let argv = (asRoot ? ["/usr/sbin/runuser", "-u", "postgres", "--", program] : [program]) + arguments
        let logPath = "/tmp/raconteur-pg-command-\(UUID().uuidString).log"
        defer { unlink(logPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { for argument in cArguments { free(argument) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, &cArguments, environ)
        guard spawned == 0 else { throw StartError(description: "cannot start \(argv[0]): error \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        // WIFEXITED and WEXITSTATUS, which Swift does not import as functions.
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            throw StartError(description: "\((program as NSString).lastPathComponent) ended with status \(status): \(log)")
        }
    }

    /// A shell in its own session (so a signal to this process group does not reach it) that waits for this
    /// process to end, then stops the server and removes its directory.
    static func startWatchdog(directory: String, binaries: String, asRoot: Bool) throws {
        let stop = (asRoot ? "/usr/sbin/runuser -u postgres -- " : "") + "'\(binaries)/pg_ctl' -D '\(directory)/data' -m immediate stop"
        let script = "while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done; \(stop) >/dev/null 2>&1; rm -rf '\(directory)'"
        let watchdog = Process()
        watchdog.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        watchdog.arguments = ["/bin/sh", "-c", script]
        watchdog.standardOutput = FileHandle.nullDevice
        watchdog.standardError = FileHandle.nullDevice
        watchdog.standardInput = FileHandle.nullDevice
        try watchdog.run()
    }
}
