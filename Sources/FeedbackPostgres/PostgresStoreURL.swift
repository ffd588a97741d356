import Feedback
import Foundation
import NIOSSL
import PostgresNIO

/// Where a PostgreSQL feedback store lives: `postgres://user[:password]@host[:port]/database[?sslmode=…]`
/// (the libpq URI form, "Connection URIs" in the PostgreSQL manual, without its multi-host and socket forms).
/// The password comes from the URL, else from the environment variable `RACONTEUR_STORE_PASSWORD` (like libpq's
/// `PGPASSWORD`), else from the file named by `RACONTEUR_STORE_PASSWORD_FILE` (first line, for secrets mounted as
/// files). It is never part of `description`, which is what logs and errors show.
public struct PostgresStoreURL: Sendable, Equatable, CustomStringConvertible {
    public var user: String
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String
    public var sslMode: SSLMode

    /// libpq's sslmode values this store understands ("SSL Support", table "SSL Mode Descriptions"); the modes that
    /// verify the server (`verify-ca`, `verify-full`) both verify it against the system's trust roots.
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    public static let passwordVariable = "RACONTEUR_STORE_PASSWORD"
    public static let passwordFileVariable = "RACONTEUR_STORE_PASSWORD_FILE"
    /// A password file larger than this is not a password file.
    public static let maximumPasswordFileBytes = 4096
    static let schemes: Set<String> = ["postgres", "postgresql"]

    /// Whether `string` names a PostgreSQL store (rather than a SQLite file path).
    public static func isPostgresURL(_ string: String) -> Bool {
        guard let colon = string.firstIndex(of: ":") else { return false }
        return schemes.contains(string[..<colon].lowercased()) && string[colon...].hasPrefix("://")
    }

    /// Parses `string`; `environment` supplies the password when the URL has none.
    public init(_ string: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        // Never echo the string itself in an error: it may hold a password.
        func invalid(_ reason: String) -> FeedbackStoreError {
            .cannotOpen(path: "postgres store URL", reason: reason)
        }
        guard Self.isPostgresURL(string), let components = URLComponents(string: string) else {
            throw invalid("expected postgres://user@host:port/database")
        }
        guard let host = components.host, !host.isEmpty else { throw invalid("the URL names no host") }
        guard let user = components.user, !user.isEmpty else { throw invalid("the URL names no user") }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw invalid("port \(port) is out of range 1-65535") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { throw invalid("the URL names no database (…/database)") }

        var sslMode = SSLMode.disable
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(SSLMode.init(rawValue:)) else {
                    throw invalid("sslmode must be one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                sslMode = mode
            default:
                throw invalid("unknown URL parameter '\(item.name)'")
            }
        }

        self.user = components.user ?? user
        self.host = host
        self.port = port
        self.database = database
        self.sslMode = sslMode
        if let password = components.password {
            self.password = password
        } else if let password = environment[Self.passwordVariable] {
            self.password = password
        } else if let file = environment[Self.passwordFileVariable] {
            self.password = try Self.readPasswordFile(file)
        } else {
            self.password = nil
        }
    }

    private static func readPasswordFile(_ path: String) throws -> String {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard let size = attributes?[.size] as? Int, let contents = FileManager.default.contents(atPath: path) else {
            throw FeedbackStoreError.cannotOpen(path: path, reason: "cannot read the store password file")
        }
        guard size <= maximumPasswordFileBytes, contents.count <= maximumPasswordFileBytes else {
            throw FeedbackStoreError.cannotOpen(path: path, reason: "the store password file is over \(maximumPasswordFileBytes) bytes")
        }
        guard let text = String(data: contents, encoding: .utf8) else {
            throw FeedbackStoreError.cannotOpen(path: path, reason: "the store password file is not UTF-8")
        }
        return String(text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }

    /// The URL without its password: safe for logs and error messages.
    public var description: String {
        var components = URLComponents()
        components.scheme = "postgres"
        components.user = user
        components.host = host
        components.port = port
        components.path = "/" + database
        if sslMode != .disable { components.queryItems = [URLQueryItem(name: "sslmode", value: sslMode.rawValue)] }
        return components.string ?? "postgres://\(host):\(port)/\(database)"
    }

    /// The client configuration for this URL.
    func clientConfiguration(maximumConnections: Int) -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS
        switch sslMode {
        case .disable:
            tls = .disable
        case .prefer, .require:
            // libpq's prefer and require encrypt without verifying the server's certificate.
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .none
            tls = sslMode == .prefer ? .prefer(configuration) : .require(configuration)
        case .verifyCA, .verifyFull:
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = sslMode == .verifyFull ? .fullVerification : .noHostnameVerification
            tls = .require(configuration)
        }
        var configuration = PostgresClient.Configuration(host: host, port: port, username: user, password: password,
                                                         database: database, tls: tls)
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }
}
