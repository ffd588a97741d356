// swift-tools-version:6.0
import PackageDescription

// libFuzzer targets for the GGUF reader and the request decoding (docs/FUZZING.md). Kept out of the root package so
// its normal build never sees -sanitize=fuzzer; scripts/fuzz.sh builds this package into Fuzz/.build.
let package = Package(
    name: "RaconteurFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Raconteur", path: ".."),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .target(name: "FuzzDriver"),
        .executableTarget(
            name: "FuzzGGUF",
            dependencies: ["FuzzDriver", .product(name: "RaconteurFuzzable", package: "Raconteur")]
        ),
        .executableTarget(
            name: "FuzzRequests",
            dependencies: [
                "FuzzDriver",
                .product(name: "RaconteurFuzzable", package: "Raconteur"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v5]
)
