// swift-tools-version:6.0
import PackageDescription

// Hot numeric targets are optimised even in debug builds: the test suite runs real models.
let optimised: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked"]),
    .unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma", "-Xcc", "-mf16c"], .when(platforms: [.linux])),
]
let fast: [SwiftSetting] = [.unsafeFlags(["-O"])]

let package = Package(
    name: "Raconteur",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "raconteur", targets: ["raconteur"]),
        .executable(name: "raconteur-bench", targets: ["raconteur-bench"]),
        // For the fuzz targets in Fuzz/ (a separate package that depends on this one by path; docs/FUZZING.md).
        .library(name: "RaconteurFuzzable", targets: ["GGUF", "Model", "Tokenizers", "Adapters", "Server"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // 3.x and 4.x share the API used here; the range lets SwiftPM keep the 4.x its other users resolve.
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .target(name: "CSupport"),
        .target(name: "GGUF", swiftSettings: fast),
        .target(name: "Kernels", dependencies: ["CBLAS", "CSupport", "GGUF"], swiftSettings: optimised),
        .target(name: "Tokenizers", swiftSettings: fast),
        .target(name: "Model", dependencies: ["GGUF", "Kernels", "Tokenizers"], swiftSettings: optimised),
        .target(name: "Engine", dependencies: ["Model", "Tokenizers"], swiftSettings: fast),
        .target(name: "Adapters", dependencies: ["Model", "GGUF", "Kernels"], swiftSettings: fast),
        .target(name: "Alignment", dependencies: ["Model", "Adapters", "Tokenizers", "Kernels"], swiftSettings: fast),
        .target(name: "Feedback", dependencies: [.product(name: "GRDB", package: "GRDB.swift")]),
        // The same store on PostgreSQL, for replicas that share one database (issue 24, docs/STORE.md).
        .target(
            name: "FeedbackPostgres",
            dependencies: [
                "Feedback",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Server",
            dependencies: [
                "Engine", "Model", "Tokenizers", "GGUF", "Adapters", "Alignment", "Feedback",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
            ],
            // The web console's files, the starter grid's preference set and the OpenAPI document, compiled into the binary.
            resources: [.embedInCode("Console"), .embedInCode("Starter"), .embedInCode("OpenAPI")]
        ),
        .target(
            name: "CommandLineSupport",
            dependencies: ["GGUF", "Model", "Tokenizers", "Adapters", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: fast
        ),
        .executableTarget(
            name: "raconteur-bench",
            dependencies: [
                "CommandLineSupport", "GGUF", "Kernels", "Model", "Engine", "Tokenizers", "Adapters", "Alignment",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: fast
        ),
        .executableTarget(
            name: "raconteur",
            dependencies: [
                "CommandLineSupport", "GGUF", "Kernels", "Tokenizers", "Model", "Engine", "Adapters", "Alignment", "Feedback", "Server",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: fast
        ),
        .testTarget(name: "GGUFTests", dependencies: ["GGUF"]),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels"], swiftSettings: fast),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "GGUF"], swiftSettings: fast),
        .testTarget(name: "ModelTests", dependencies: ["Model", "Engine", "GGUF", "Kernels", "Tokenizers"], swiftSettings: fast),
        .testTarget(name: "AdaptersTests", dependencies: ["Adapters", "Model", "GGUF"], swiftSettings: fast),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "Model", "Tokenizers", "GGUF"], swiftSettings: fast),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "Engine", "Model", "Tokenizers", "Adapters", "GGUF", "Feedback",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(name: "AlignmentTests", dependencies: ["Alignment", "Model", "Adapters", "GGUF", "Tokenizers"], swiftSettings: fast),
        .testTarget(
            name: "FeedbackTests",
            dependencies: [
                "Feedback", "FeedbackPostgres", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v5]
)
