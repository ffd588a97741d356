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
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .target(name: "GGUF", swiftSettings: fast),
        .target(name: "Kernels", dependencies: ["CBLAS"], swiftSettings: optimised),
        .target(name: "Tokenizers", swiftSettings: fast),
        .target(name: "Model", dependencies: ["GGUF", "Kernels", "Tokenizers"], swiftSettings: optimised),
        .target(name: "Engine", dependencies: ["Model", "Tokenizers"], swiftSettings: fast),
        .target(name: "Alignment", dependencies: ["Model"], swiftSettings: fast),
        .executableTarget(
            name: "raconteur",
            dependencies: [
                "GGUF", "Kernels", "Tokenizers", "Model", "Engine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: fast
        ),
        .testTarget(name: "GGUFTests", dependencies: ["GGUF"]),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels"], swiftSettings: fast),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "GGUF"], swiftSettings: fast),
        .testTarget(name: "ModelTests", dependencies: ["Model", "Engine", "GGUF", "Kernels", "Tokenizers"], swiftSettings: fast),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "Model", "Tokenizers"], swiftSettings: fast),
        .testTarget(name: "AlignmentTests", dependencies: ["Alignment"], swiftSettings: fast),
    ],
    swiftLanguageModes: [.v5]
)
