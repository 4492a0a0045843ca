// swift-tools-version:6.0
// flyvis-swift: a distributed ensemble trainer for connectome-constrained models of the
// fly visual system. Modules follow the data flow:
// connectome → network → data → task (data set, decoders, losses) → training step → solver →
// ensemble → CLI, with the results tree (schema, checkpoints) between solver and ensemble.
import PackageDescription

/// The hot loops are written with SIMD types; let the compiler use the vector units of the
/// machine class we build for. Default haswell (AVX2/FMA, every x86 cluster CPU since 2013);
/// set FLYVIS_TARGET_CPU (e.g. "native", "x86-64") before building to change it.
let targetCPU = Context.environment["FLYVIS_TARGET_CPU"] ?? "haswell"
let numericsSettings: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", targetCPU], .when(platforms: [.linux]))
]

let package = Package(
    name: "flyvis-swift",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "flyvis-ensemble", targets: ["FlyvisCLI"]),
        .executable(name: "flyvis-mpi-selftest", targets: ["FlyvisMPISelfTest"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        // torch's checkpoint container is a zip archive.
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
    ],
    targets: [
        // C libraries, found through pkg-config.
        .systemLibrary(
            name: "COpenMPI", pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev"])]),
        .systemLibrary(
            name: "CHDF5", pkgConfig: "hdf5-openmpi",
            providers: [.apt(["libhdf5-openmpi-dev"])]),
        .systemLibrary(
            name: "CLibPNG", pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]),
        // The one C shim: macros Swift cannot import.
        .target(name: "CFlyvisShim", dependencies: ["COpenMPI", "CHDF5"]),

        // Low-level helpers every layer may use: atomic file writes (temporary, fsync, rename)
        // with their temporary and host naming, the worker pool, phase timing, log lines.
        .target(name: "FlyvisBase", dependencies: [.product(name: "Logging", package: "swift-log")]),

        // Safe Swift layers over the C libraries; nothing else calls the C APIs.
        .target(name: "FlyvisMPI", dependencies: ["COpenMPI", "CFlyvisShim"]),
        .target(name: "FlyvisHDF5", dependencies: ["CHDF5", "CFlyvisShim", "FlyvisBase", "FlyvisMPI"]),

        // Numerics and domain modules.
        .target(name: "FlyvisHex"),
        // Seeded generators whose state is saved in checkpoints (data order, augmentation, dropout).
        .target(name: "FlyvisRandom"),
        .target(
            name: "FlyvisConnectome", dependencies: ["FlyvisHex"],
            resources: [.copy("Resources/fib25-fib19_v2.2.json")]),
        .target(
            name: "FlyvisNetwork", dependencies: ["FlyvisBase", "FlyvisConnectome", "FlyvisRandom"],
            swiftSettings: numericsSettings),
        // Hex rendering, Sintel, augmentation, the built-in data set, loaders.
        .target(name: "FlyvisData", dependencies: ["FlyvisBase", "FlyvisHex", "FlyvisHDF5", "CLibPNG", "FlyvisRandom"]),
        // flyvis's analysis stimuli (flashes, moving edges and bars), rendered as flyvis renders them.
        .target(name: "FlyvisStimuli", dependencies: ["FlyvisBase", "FlyvisHex", "FlyvisHDF5", "FlyvisRandom"]),
        // flyvis's Task: data set, split and loaders, the decoders and the losses.
        .target(
            name: "FlyvisTask", dependencies: ["FlyvisBase", "FlyvisHex", "FlyvisNetwork", "FlyvisData", "FlyvisRandom"],
            swiftSettings: numericsSettings),
        // One training iteration: forward, decoders and losses, backward, Adam, penalties, schedules.
        .target(
            name: "FlyvisTraining", dependencies: ["FlyvisBase", "FlyvisConnectome", "FlyvisNetwork", "FlyvisTask"],
            swiftSettings: numericsSettings),
        // flyvis's config tree, command-line overrides, interpolation and validation.
        .target(
            name: "FlyvisConfig", dependencies: ["FlyvisBase", "FlyvisHex", .product(name: "Yams", package: "Yams")],
            resources: [.copy("Resources/config")]),
        // torch's zip serialization and the pickle subset its checkpoints use, in Swift.
        .target(name: "FlyvisTorch", dependencies: ["FlyvisBase", .product(name: "ZIPFoundation", package: "ZIPFoundation")]),
        // flyvis-compatible results directories and checkpoints (torch format; HDF5 still read),
        // and the one rule that picks a network's best checkpoint.
        .target(name: "FlyvisResults", dependencies: ["FlyvisBase", "FlyvisHDF5", "FlyvisTorch", "FlyvisRandom", "FlyvisNetwork"]),
        // MultiTaskSolver: training loop, checkpoints, validation, exact resume.
        .target(
            name: "FlyvisSolver",
            dependencies: [
                "FlyvisBase", "FlyvisConfig", "FlyvisConnectome", "FlyvisData", "FlyvisNetwork",
                "FlyvisResults", "FlyvisTask", "FlyvisTraining", "FlyvisHDF5", "FlyvisRandom", "FlyvisHex",
            ]),
        // flyvis's tuning indices (FRI, DSI, preferred direction, correlations to known tuning)
        // from stimulus responses: pure functions on plain arrays.
        .target(name: "FlyvisTuning"),
        // flyvis's stimulus-response analysis: stimuli through trained members, under MPI, into
        // parallel-HDF5 files, and the tuning indices.
        .target(
            name: "FlyvisResponses",
            dependencies: [
                "FlyvisBase", "FlyvisConfig", "FlyvisStimuli", "FlyvisTuning", "FlyvisNetwork", "FlyvisConnectome",
                "FlyvisResults", "FlyvisSolver", "FlyvisHDF5", "FlyvisMPI",
            ],
            swiftSettings: numericsSettings),
        // The ensemble report page (inline SVG, no dependencies): drawing only, from plain values.
        .target(name: "FlyvisReport"),
        // The MPI ensemble: a member's production sequence, rank-0 coordinator, live status,
        // gathered summary, ranking, report.
        .target(
            name: "FlyvisEnsemble",
            dependencies: [
                "FlyvisBase", "FlyvisConfig", "FlyvisMPI", "FlyvisHDF5", "FlyvisResults",
                "FlyvisRandom", "FlyvisReport", "FlyvisSolver", "FlyvisResponses", "FlyvisTuning",
            ]),
        // The workloads `bench` times and the machine's FMA peak, compiled for the target CPU;
        // the node-throughput benchmark runs the iteration workload in child processes.
        .target(
            name: "FlyvisBench",
            dependencies: [
                "FlyvisBase", "FlyvisConnectome", "FlyvisHex", "FlyvisNetwork", "FlyvisRandom", "FlyvisTask", "FlyvisTraining",
            ],
            swiftSettings: numericsSettings),

        // Executables: argument parsing and calls into the library layers, nothing else.
        .executableTarget(
            name: "FlyvisCLI",
            dependencies: [
                "FlyvisBase", "FlyvisMPI", "FlyvisHDF5", "FlyvisResults", "FlyvisEnsemble", "FlyvisResponses", "FlyvisStimuli",
                "FlyvisConnectome", "FlyvisNetwork", "FlyvisTask", "FlyvisTraining", "FlyvisSolver", "FlyvisConfig", "FlyvisBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "FlyvisMPISelfTest",
            dependencies: ["FlyvisMPI", "FlyvisHDF5"]),

        // Tests, and what they share: fixture paths, comparisons that fail on short output,
        // temporary directories, tiny configs, the mock Sintel writer, child processes.
        .target(name: "FlyvisTestSupport", dependencies: ["FlyvisHDF5", "FlyvisData"], path: "Tests/FlyvisTestSupport"),
        .testTarget(
            name: "FoundationTests",
            dependencies: [
                "FlyvisTestSupport", "FlyvisBase", "FlyvisMPI", "FlyvisHDF5", "FlyvisHex", "FlyvisResults", "FlyvisEnsemble",
                "FlyvisMPISelfTest", "FlyvisCLI", "FlyvisBench",
            ]),
        .testTarget(
            name: "NetworkTests",
            dependencies: ["FlyvisTestSupport", "FlyvisConnectome", "FlyvisNetwork", "FlyvisHDF5", "FlyvisRandom"]),
        .testTarget(
            name: "TrainingTests",
            dependencies: [
                "FlyvisTestSupport", "FlyvisTask", "FlyvisTraining", "FlyvisNetwork", "FlyvisConnectome", "FlyvisHDF5", "FlyvisHex",
                "FlyvisRandom",
            ]),
        .testTarget(name: "DataTests", dependencies: ["FlyvisTestSupport", "FlyvisData", "FlyvisHDF5", "FlyvisHex", "FlyvisRandom"]),
        .testTarget(name: "StimuliTests", dependencies: ["FlyvisTestSupport", "FlyvisStimuli", "FlyvisHDF5"]),
        .testTarget(name: "ConfigTests", dependencies: ["FlyvisTestSupport", "FlyvisConfig"]),
        .testTarget(
            name: "InteropTests",
            dependencies: [
                "FlyvisTestSupport", "FlyvisBase", "FlyvisTorch", "FlyvisResults", "FlyvisHDF5", "FlyvisSolver", "FlyvisNetwork",
                "FlyvisConfig", "FlyvisData", "FlyvisEnsemble",
            ]),
        .testTarget(
            name: "ReportTests",
            dependencies: [
                "FlyvisTestSupport", "FlyvisReport", "FlyvisEnsemble", "FlyvisResults", "FlyvisHDF5", "FlyvisCLI",
                "FlyvisResponses",
            ]),
        .testTarget(
            name: "SolverTests",
            dependencies: [
                "FlyvisTestSupport", "FlyvisBase", "FlyvisSolver", "FlyvisConfig", "FlyvisResults", "FlyvisHDF5", "FlyvisNetwork",
                "FlyvisTask", "FlyvisTraining", "FlyvisData", "FlyvisRandom",
            ]),
        .testTarget(name: "TuningTests", dependencies: ["FlyvisTestSupport", "FlyvisTuning", "FlyvisHDF5"]),
        .testTarget(
            name: "ResponsesTests",
            dependencies: [
                "FlyvisTestSupport", "FlyvisResponses", "FlyvisNetwork", "FlyvisResults", "FlyvisSolver", "FlyvisHDF5",
                "FlyvisCLI",
            ]),
        // Path safety, member locks, full disks, stale temporaries: in-process and through the binary.
        .testTarget(
            name: "ReliabilityTests",
            dependencies: [
                "FlyvisTestSupport", "FlyvisBase", "FlyvisSolver", "FlyvisConfig", "FlyvisResults", "FlyvisHDF5", "FlyvisData", "FlyvisCLI",
                "FlyvisEnsemble", "FlyvisTorch",
            ]),
    ]
)
