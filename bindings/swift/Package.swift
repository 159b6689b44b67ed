// swift-tools-version:5.7
// A SwiftPM package over libbackendai: a system-library target (module map over the C header)
// and a Swift wrapper. Build with the library's directory on the linker path, e.g.
//   swift build -Xlinker -L../../target/debug
import PackageDescription

let package = Package(
    name: "BackendAI",
    products: [
        .library(name: "BackendAI", targets: ["BackendAI"]),
    ],
    targets: [
        .systemLibrary(name: "CBackendAI", path: "Sources/CBackendAI"),
        .target(name: "BackendAI", dependencies: ["CBackendAI"]),
        .testTarget(name: "BackendAITests", dependencies: ["BackendAI"]),
    ]
)
