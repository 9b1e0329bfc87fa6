// swift-tools-version:6.1

import PackageDescription

let package = Package(
    name: "huhang",
    platforms: [.macOS(.v15)],
    products: [
        // The message contracts, for agencies' own Swift code.
        .library(name: "HuhangContracts", targets: ["Contracts"]),
        .executable(name: "intake", targets: ["IntakeMain"]),
        .executable(name: "assessment", targets: ["AssessmentMain"]),
        .executable(name: "intervention", targets: ["InterventionMain"]),
        .executable(name: "inspection", targets: ["InspectionMain"]),
        .executable(name: "notification", targets: ["NotificationMain"]),
        .executable(name: "console", targets: ["ConsoleMain"]),
        .executable(name: "huhang-admin", targets: ["AdminMain"]),
        // The image's one executable: every service, the console and huhang-admin, chosen by the name it runs under.
        .executable(name: "huhang", targets: ["Huhang"]),
        .executable(name: "huhang-bench", targets: ["Bench"]),
        .executable(name: "huhang-faults", targets: ["Faults"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
    ],
    targets: [
        // MARK: Shared

        .target(
            name: "Contracts",
            path: "Shared/Contracts",
            exclude: ["asyncapi.yaml"],
            resources: [.copy("Schemas")]
        ),
        .systemLibrary(
            name: "CRabbitMQ",
            path: "Shared/CRabbitMQ",
            pkgConfig: "librabbitmq",
            providers: [.apt(["librabbitmq-dev"])]
        ),
        .target(
            name: "Messaging",
            dependencies: [
                "CRabbitMQ",
                "Contracts",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/Messaging"
        ),
        .target(
            name: "Storage",
            dependencies: [
                "Contracts",
                "Messaging",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/Storage"
        ),
        .target(
            name: "ServiceKit",
            dependencies: [
                "Contracts",
                "Messaging",
                "Storage",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "Shared/ServiceKit"
        ),

        // MARK: Services

        // Each service is a library (its domain, stores, routes, handlers; what the tests import) and a
        // three-line executable under Main/ that runs it.

        .target(
            name: "Intake",
            dependencies: [
                "ServiceKit",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            path: "Services/Intake",
            exclude: ["Main"],
            resources: [.copy("openapi.yaml")]
        ),
        .executableTarget(name: "IntakeMain", dependencies: ["Intake", "ServiceKit"], path: "Services/Intake/Main"),
        .target(
            name: "Assessment",
            dependencies: ["ServiceKit", .product(name: "HTTPTypes", package: "swift-http-types")],
            path: "Services/Assessment",
            exclude: ["Main"],
            resources: [.copy("Models"), .copy("openapi.yaml")]
        ),
        .executableTarget(name: "AssessmentMain", dependencies: ["Assessment", "ServiceKit"], path: "Services/Assessment/Main"),
        .target(
            name: "Intervention",
            dependencies: [
                "ServiceKit",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            path: "Services/Intervention",
            exclude: ["Main"],
            resources: [.copy("openapi.yaml")]
        ),
        .executableTarget(name: "InterventionMain", dependencies: ["Intervention", "ServiceKit"], path: "Services/Intervention/Main"),
        .target(
            name: "Inspection",
            dependencies: ["ServiceKit", .product(name: "HTTPTypes", package: "swift-http-types")],
            path: "Services/Inspection",
            exclude: ["Main"],
            resources: [.copy("openapi.yaml")]
        ),
        .executableTarget(name: "InspectionMain", dependencies: ["Inspection", "ServiceKit"], path: "Services/Inspection/Main"),
        .target(
            name: "Notification",
            dependencies: [
                "ServiceKit",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            path: "Services/Notification",
            exclude: ["Main"],
            resources: [.copy("openapi.yaml")]
        ),
        .executableTarget(name: "NotificationMain", dependencies: ["Notification", "ServiceKit"], path: "Services/Notification/Main"),

        // The people's console: server-rendered pages built from the five services' APIs.
        .target(
            name: "Console",
            dependencies: [
                "ServiceKit",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "HummingbirdOTP", package: "hummingbird-auth"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            path: "Services/Console",
            exclude: ["Main"]
        ),
        .executableTarget(name: "ConsoleMain", dependencies: ["Console", "ServiceKit"], path: "Services/Console/Main"),

        // MARK: Tools

        .target(
            name: "AdminCommands",
            dependencies: [
                "Contracts", "Messaging", "ServiceKit",
                "ToolKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tools/Admin",
            exclude: ["Main"]
        ),
        .executableTarget(name: "AdminMain", dependencies: ["AdminCommands"], path: "Tools/Admin/Main"),
        .executableTarget(
            name: "Huhang",
            dependencies: ["AdminCommands", "Assessment", "Console", "Inspection", "Intake", "Intervention", "Notification", "ServiceKit"],
            path: "Tools/Huhang"
        ),

        // What the tools share: child processes, service processes, their memory and readiness, and HTTP calls.
        .target(
            name: "ToolKit",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tools/ToolKit"
        ),

        // The benchmarks' generators (the pipeline's event mix, the bad inputs), a library so that the tests
        // check them without importing the executable.
        .target(
            name: "BenchKit",
            dependencies: ["Contracts", "Messaging", "ToolKit"],
            path: "Tools/BenchKit"
        ),

        .executableTarget(
            name: "Bench",
            dependencies: [
                "BenchKit", "Contracts", "Messaging", "ServiceKit", "Storage", "ToolKit",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Tools/Bench"
        ),

        .executableTarget(
            name: "Faults",
            dependencies: [
                "Contracts", "Messaging", "Storage", "ToolKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Tools/Faults"
        ),

        // MARK: Tests

        .testTarget(
            name: "ContractsTests",
            dependencies: ["Contracts", .product(name: "Yams", package: "Yams")],
            path: "Tests/ContractsTests"
        ),
        .testTarget(
            name: "UnitTests",
            dependencies: [
                "Contracts", "Messaging", "Storage", "ServiceKit", "Intake", "Assessment", "Intervention", "Inspection", "Notification", "BenchKit",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/UnitTests"
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "Contracts", "Messaging", "Storage", "ServiceKit",
                "Intake", "Assessment", "Intervention", "Inspection", "Notification", "Console", "ToolKit",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HummingbirdOTP", package: "hummingbird-auth"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/IntegrationTests"
        ),
    ]
)

for target in package.targets where [.executable, .test, .regular].contains(target.type) {
    var settings = target.swiftSettings ?? []
    // Require `any` for existential types.
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    // Imports are visible only where they are written.
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    target.swiftSettings = settings
}

// The executables are linked with the toolchain's lld and packed relative relocations
// (DT_RELR, glibc 2.36 and later: Debian 12, the image's base). A service linked
// with the Swift runtime and Foundation static, as the container image links it,
// otherwise reads 3 MB of relocation records at every start and keeps them resident;
// packed they take 50 kB, and idle resident memory falls by about 7 MB per service.
for target in package.targets where target.type == .executable {
    var settings = target.linkerSettings ?? []
    settings.append(.unsafeFlags(
        ["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"], .when(platforms: [.linux])))
    target.linkerSettings = settings
}
