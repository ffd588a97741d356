import Foundation

/// The model families Raconteur runs, keyed by `general.architecture`.
///
/// The built-in families are fixed; `register` adds one more (a test's toy family, say). Registration is
/// thread-safe and takes effect for models loaded after it returns: a loaded model keeps the description it
/// resolved at load (`ModelConfig.architecture`).
public enum ArchitectureRegistry {
    /// Adding a family: its file in this folder and a line here.
    static let builtIn: [Architecture] = [
        .llama,
        .gemma3,
        .qwen3,
        .qwen2,
    ]

    public enum RegistrationError: Error, Equatable, CustomStringConvertible {
        /// Another description is registered under this name; families are never replaced.
        case nameTaken(String)

        public var description: String {
            switch self {
            case .nameTaken(let name): return "an architecture named '\(name)' is already registered"
            }
        }
    }

    private static let state = RegistryState(builtIn)

    /// The description registered under `name`, or nil.
    public static func architecture(named name: String) -> Architecture? {
        state.lock.withLock { state.byName[name] }
    }

    /// Registered names, built-in ones first, then in order of registration.
    public static var names: [String] {
        state.lock.withLock { state.order }
    }

    /// Adds a family. Registering a description equal to the one already under its name does nothing; a
    /// different one under a taken name throws, so a built-in family cannot be changed from outside.
    public static func register(_ architecture: Architecture) throws {
        try state.lock.withLock {
            if let existing = state.byName[architecture.name] {
                guard existing == architecture else { throw RegistrationError.nameTaken(architecture.name) }
                return
            }
            state.byName[architecture.name] = architecture
            state.order.append(architecture.name)
        }
    }
}

/// The registry's table, only read or written under `lock`.
private final class RegistryState: @unchecked Sendable {
    let lock = NSLock()
    var byName: [String: Architecture]
    var order: [String]

    init(_ builtIn: [Architecture]) {
        byName = Dictionary(uniqueKeysWithValues: builtIn.map { ($0.name, $0) })
        order = builtIn.map(\.name)
    }
}
