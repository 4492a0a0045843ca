import FlyvisTorch
import Foundation

/// One array in a checkpoint, in the element type it is stored with.
package enum CheckpointArray: Sendable, Equatable {
    case float([Float], shape: [Int])
    case double([Double], shape: [Int])
    case int64([Int64], shape: [Int])
    case uint8([UInt8], shape: [Int])

    package var shape: [Int] {
        switch self {
        case let .float(_, s), let .double(_, s), let .int64(_, s), let .uint8(_, s): return s
        }
    }

    package var count: Int {
        switch self {
        case let .float(v, _): return v.count
        case let .double(v, _): return v.count
        case let .int64(v, _): return v.count
        case let .uint8(v, _): return v.count
        }
    }

    package var dtypeName: String {
        switch self {
        case .float: return "float32"
        case .double: return "float64"
        case .int64: return "int64"
        case .uint8: return "uint8"
        }
    }

    package var floats: [Float]? { if case let .float(v, _) = self { return v } else { return nil } }
    package var doubles: [Double]? { if case let .double(v, _) = self { return v } else { return nil } }
    package var int64s: [Int64]? { if case let .int64(v, _) = self { return v } else { return nil } }
    package var bytes: [UInt8]? { if case let .uint8(v, _) = self { return v } else { return nil } }

    /// No NaN or infinity (integer arrays always).
    package var isFinite: Bool {
        switch self {
        case let .float(v, _): return v.allSatisfy(\.isFinite)
        case let .double(v, _): return v.allSatisfy(\.isFinite)
        case .int64, .uint8: return true
        }
    }

    /// The values as Float32, converting from any stored type (BatchNorm's counter is int64).
    package var asFloats: [Float] {
        switch self {
        case let .float(v, _): return v
        case let .double(v, _): return v.map(Float.init)
        case let .int64(v, _): return v.map(Float.init)
        case let .uint8(v, _): return v.map(Float.init)
        }
    }
}

/// An ordered name → array map: a torch `state_dict()` (the order is torch's, which flyvis and
/// `load_state_dict` do not depend on but which keeps our files like flyvis's).
package struct StateDict: Sendable, Equatable {
    package private(set) var names: [String] = []
    private var arrays: [String: CheckpointArray] = [:]

    package init() {}

    package subscript(name: String) -> CheckpointArray? {
        get { arrays[name] }
        set {
            if newValue != nil, arrays[name] == nil { names.append(name) }
            if newValue == nil { names.removeAll { $0 == name } }
            arrays[name] = newValue
        }
    }

    package var isEmpty: Bool { names.isEmpty }
}

/// A torch optimizer `state_dict()`: parameter groups (hyper-parameters and the parameter ids
/// they own) and per-parameter state. Adam's state is `step`, `exp_avg`, `exp_avg_sq`; SGD
/// without momentum has none.
package struct OptimizerState: Sendable, Equatable {
    package struct Group: Sendable, Equatable {
        package var lr: Double
        package var params: [Int]
        package var betas: [Double]
        package var eps: Double
        package var weightDecay: Double
        package init(lr: Double, params: [Int], betas: [Double] = [0.9, 0.999], eps: Double = 1e-8, weightDecay: Double = 0) {
            self.lr = lr
            self.params = params
            self.betas = betas
            self.eps = eps
            self.weightDecay = weightDecay
        }
    }

    package struct AdamEntry: Sendable, Equatable {
        package var step: Double
        package var expAvg: CheckpointArray
        package var expAvgSq: CheckpointArray
        package init(step: Double, expAvg: CheckpointArray, expAvgSq: CheckpointArray) {
            self.step = step
            self.expAvg = expAvg
            self.expAvgSq = expAvgSq
        }
    }

    package enum Kind: String, Sendable { case adam, sgd }

    package var kind: Kind
    package var groups: [Group]
    /// Keyed by torch's parameter id (position across all groups).
    package var state: [Int: AdamEntry]

    package init(kind: Kind, groups: [Group], state: [Int: AdamEntry] = [:]) {
        self.kind = kind
        self.groups = groups
        self.state = state
    }
}

/// What flyvis-swift adds to a checkpoint so that a resumed run continues bit for bit: the
/// member's generator states, the epoch counter and the training time. Stored under one extra
/// key, which flyvis ignores; a flyvis checkpoint has none, and resume then starts fresh
/// generators.
package struct ResumeState: Sendable, Equatable {
    package var dataRNG: [UInt64]
    package var dropoutRNG: [String: [UInt64]]
    package var epochsDone: Int
    package var timeTrained: Double

    package init(dataRNG: [UInt64], dropoutRNG: [String: [UInt64]], epochsDone: Int, timeTrained: Double) {
        self.dataRNG = dataRNG
        self.dropoutRNG = dropoutRNG
        self.epochsDone = epochsDone
        self.timeTrained = timeTrained
    }
}

/// Everything a checkpoint holds, in the structure flyvis's `MultiTaskSolver.checkpoint()`
/// writes (`network`, `decoder`, `optim`, `time`, `val_loss`, `iteration`, `dt`,
/// `activity_optim`), plus our `ResumeState`.
package struct Checkpoint: Sendable, Equatable {
    package var network = StateDict()
    /// `{task: state dict}`, written in task order.
    package var decoder: [String: StateDict] = [:]
    package var optim: OptimizerState?
    package var activityOptim: OptimizerState?
    package var time = ""
    package var valLoss = Double.nan
    /// flyvis's convention: the solver's iteration − 1 at save time (−1 for the untrained state).
    package var iteration = -1
    package var dt = 0.02
    package var resume: ResumeState?

    package init() {}
}

/// The checkpoint files of one network directory: `chkpts/chkpt_00000`, `chkpt_00001`, ...
/// Written in torch's zip format (flyvis loads them with `torch.load`), atomically (temporary
/// file, fsync, rename); read in that format or in our earlier HDF5 format.
package struct CheckpointStore: Sendable {
    package let directory: URL

    package init(networkDirectory: ResultsDirectory) {
        directory = networkDirectory.url.appendingPathComponent(CheckpointSchema.folder)
    }

    package func path(index: Int) -> URL {
        directory.appendingPathComponent(CheckpointSchema.fileName(index: index))
    }

    /// Indices present on disk, ascending (the first run of digits in each `chkpt_*` name,
    /// as flyvis resolves them).
    package func indices() -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasPrefix("chkpt_") }.compactMap { name -> Int? in
            let digits = name.drop { !$0.isNumber }.prefix { $0.isNumber }.prefix(10)
            return digits.isEmpty ? nil : Int(digits)
        }.sorted()
    }

    package func write(_ checkpoint: Checkpoint, index: Int) throws {
        try Self.write(checkpoint, to: path(index: index))
    }

    /// Writes one checkpoint file atomically in torch's format.
    package static func write(_ checkpoint: Checkpoint, to url: URL) throws {
        try AtomicFile.write(url) { tmp in
            try TorchCheckpointCodec.write(checkpoint, to: tmp, archiveName: url.lastPathComponent)
        }
    }

    /// Reads and verifies one checkpoint.
    package func read(index: Int) throws(ResultsError) -> Checkpoint {
        try Self.read(path(index: index).path)
    }

    /// Reads a checkpoint file in either format (torch zip, or the HDF5 format of earlier
    /// flyvis-swift versions, told apart by their first bytes).
    package static func read(_ path: String) throws(ResultsError) -> Checkpoint {
        guard FileManager.default.fileExists(atPath: path) else {
            throw .corruptCheckpoint(path: path, reason: "no such file")
        }
        // A directory, FIFO or device named like a checkpoint is never opened (a FIFO would
        // block the reader, a directory make the zip reader seek forever).
        if let kind = RegularFile.irregularKind(path) {
            throw .corruptCheckpoint(path: path, reason: "it is \(kind), not a regular file")
        }
        let c = LegacyHDF5Checkpoint.looksLikeHDF5(path: path) ? try LegacyHDF5Checkpoint.read(path) : try TorchCheckpointCodec.read(path)
        try checkFinite(c, path: path)
        return c
    }

    /// A model with NaN or infinite parameters is no model: simulating it gives NaN, training
    /// from it diverges at once. Such a checkpoint is unusable like a damaged one (resume
    /// falls back to the previous checkpoint, naming this one).
    static func checkFinite(_ c: Checkpoint, path: String) throws(ResultsError) {
        var dicts = [("network", c.network)]
        for task in c.decoder.keys.sorted() { dicts.append(("decoder/\(task)", c.decoder[task]!)) }
        for (prefix, dict) in dicts {
            for name in dict.names where !(dict[name]?.isFinite ?? true) {
                throw .corruptCheckpoint(path: path, reason: "\(prefix)/\(name) holds NaN or infinite values")
            }
        }
    }

    /// The newest checkpoint that reads back and verifies, with a description of every newer
    /// one that was skipped (truncated, corrupted), so the caller can warn about them.
    package func latestValid(atMost maxIndex: Int? = nil) throws(ResultsError)
        -> (index: Int, checkpoint: Checkpoint, skipped: [String]) {
        var skipped: [String] = []
        for index in indices().reversed() where maxIndex.map({ index <= $0 }) ?? true {
            do {
                return (index, try read(index: index), skipped)
            } catch {
                skipped.append(error.description)
            }
        }
        throw .noValidCheckpoint(directory: directory.deletingLastPathComponent().path, problems: skipped)
    }
}
