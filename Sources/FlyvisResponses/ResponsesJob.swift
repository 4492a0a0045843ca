import FlyvisConnectome
import FlyvisMPI
import FlyvisResults
import FlyvisSolver
import FlyvisStimuli
import Foundation

/// `flyvis-ensemble responses`: every member of an ensemble through flyvis's stimuli, spread
/// over the MPI ranks (member i on rank i mod size, so more members than ranks work), each
/// stimulus set into one parallel-HDF5 file `<ens>/responses/<stimulus>.h5`.
package struct ResponsesJob {
    package var ensemble: URL
    package var checkpoint: CheckpointSelector = .best
    package var cells: CellSelection = .central
    package var batchSize = 4
    package var threads = 1
    /// Seconds between progress lines on rank 0.
    package var progressInterval: TimeInterval = 30
    package var log: (String) -> Void = { print($0) }
    package var shouldStop: () -> Bool = { false }
    /// The stimuli's `StimulusRequest.key`, stored with the tuning readout.
    package var stimuliKey = ""

    package init(ensemble: URL) { self.ensemble = ensemble }

    package var outputDirectory: URL { ensemble.appendingPathComponent(Self.folder) }

    /// Where renderings are cached: `explicit`, else the root above `<root>/results/<task>/<EEEE>`,
    /// else `$FLYVIS_ROOT_DIR`, else `./data` (as the trainer's data).
    package static func cacheRoot(explicit: String?, ensemble: URL) -> URL {
        if let explicit { return URL(fileURLWithPath: (explicit as NSString).expandingTildeInPath).standardizedFileURL }
        let results = ensemble.deletingLastPathComponent().deletingLastPathComponent()
        if results.lastPathComponent == ResultsSchema.resultsFolder { return results.deletingLastPathComponent() }
        if let env = ProcessInfo.processInfo.environment["FLYVIS_ROOT_DIR"], !env.isEmpty { return URL(fileURLWithPath: env) }
        return URL(fileURLWithPath: "data").standardizedFileURL
    }
    package static let folder = "responses"

    /// What a run produced, on every rank.
    package struct Outcome {
        package var members: [ResponsesMember]
        package var files: [URL]
        /// The tuning readout (rank 0 only).
        package var tuning: TuningTable?
    }

    /// Runs the readout. `stimuli(extent)` builds the stimulus sets on the members' lattice.
    /// With `tuning`, each member's central responses are reduced while they stream past, and
    /// rank 0 writes `tuning.h5` and `tuning.txt` beside the responses.
    package func run(
        communicator comm: Communicator, stimuli: (Int) throws -> [any StimulusSet],
        tuning: Bool = true
    ) throws -> Outcome {
        let agree = RankAgreement(comm)
        // Members and stimuli: every rank reads the same directories; a failure anywhere ends all.
        var members: [ResponsesMember] = []
        var sets: [any StimulusSet] = []
        var connectome: Connectome?
        var failure: (any Error)?
        do {
            members = try ResponsesMember.list(ensemble: ensemble, checkpoint: checkpoint)
            let extents = Set(members.map(\.extent))
            guard extents.count == 1, let extent = extents.first else {
                throw ResponsesError.invalidParameter(
                    "the members of '\(ensemble.path)' have different extents (\(extents.sorted().map(String.init).joined(separator: ", "))); compute their responses separately"
                )
            }
            connectome = try Build.connectome(try TrainedNetwork.storedConfig(ResultsDirectory(members[0].directory)))
            sets = try stimuli(extent)
            if comm.isRoot { try FileManager.default.createDirectory(at: outputDirectory, withIntermediateDirectories: true) }
        } catch { failure = error }
        try agree.check(failure)
        guard let connectome else { throw ResponsesError.noMembers(directory: ensemble.path) }
        let coordinates = try CellCoordinates(cells, connectome: connectome)
        // Every rank loads its own members' checkpoints before any file exists. The last one
        // stays loaded for the stimulus sets (with one member per rank, as in an ensemble job
        // with a rank per member, no checkpoint is read twice); the others are read again
        // when their turn comes, so memory holds one network whatever the member count.
        let mine = stride(from: comm.rank, to: members.count, by: comm.size).map { $0 }
        let loaded = LoadedMember()
        failure = nil
        do { for m in mine { _ = try loaded.network(members, m, threads: threads) } } catch { failure = error }
        try agree.check(failure)

        var outcome = Outcome(members: members, files: [], tuning: nil)
        var table = TuningTable(
            members: members.map(\.name), checkpoints: members.map(\.checkpointIndex),
            cellTypes: connectome.cellTypes)
        table.stimuli = stimuliKey
        for set in sets {
            let url = outputDirectory.appendingPathComponent("\(set.name).h5")
            try checkSpace(for: url, members: members.count, set: set, cells: coordinates.count, agree: agree)
            let file = try ResponsesFile(
                url: url, communicator: comm, members: members.map(\.name), checkpoints: members.map(\.checkpointIndex),
                samples: set.sampleCount, frames: set.frameCount, cells: coordinates, time: set.time,
                sampleParameters: set.sampleParameters,
                attributes: Self.attributes(set) + [
                    ("dt", .number(set.dt)), ("t_pre_steady_state", .number(1.0)),
                    ("checkpoint_rule", .text(checkpoint.description)),
                ])
            var reducer: (any ResponseReducer)?
            failure = nil
            do { reducer = tuning ? try TuningReadout.reducer(for: set, cellTypes: connectome.cellTypes) : nil } catch { failure = error }
            do { try agree.check(failure) } catch { file.abandon(); throw error }
            let reductions: [Int: [Double]]
            do {
                reductions = try write(
                    set, to: file, members: members, loaded: loaded, cells: coordinates,
                    communicator: comm, agree: agree, reducer: reducer)
                try file.commit()
            } catch {
                file.abandon()
                throw error
            }
            if let reducer {
                let results = try gather(reductions, count: reducer.resultCount, members: members.count, communicator: comm)
                if comm.isRoot { TuningReadout.fill(&table, reducer: reducer, results: results) }
            }
            outcome.files.append(url)
            if comm.isRoot { log("responses: wrote \(url.path)") }
        }
        if tuning {
            failure = nil
            if comm.isRoot {
                do {
                    try table.write(directory: outputDirectory)
                    outcome.tuning = table
                    log("responses: wrote \(outputDirectory.appendingPathComponent(TuningTable.fileName).path) and \(TuningTable.textName)")
                } catch { failure = error }
            }
            try agree.check(failure)
        }
        return outcome
    }

    /// The collective rounds of one stimulus set: in round r, rank k computes member r·size + k
    /// batch by batch and writes each batch's block; ranks without a member that round take part
    /// in the same collective writes with empty blocks.
    private func write(
        _ set: any StimulusSet, to file: ResponsesFile, members: [ResponsesMember], loaded: LoadedMember,
        cells: CellCoordinates, communicator comm: Communicator, agree: RankAgreement,
        reducer: (any ResponseReducer)?
    ) throws -> [Int: [Double]] {
        let rounds = (members.count + comm.size - 1) / comm.size
        let batches = (set.sampleCount + batchSize - 1) / batchSize
        var reductions: [Int: [Double]] = [:]
        let clock = ContinuousClock()
        let started = clock.now
        var lastLine = started
        for round in 0..<rounds {
            if try agree.anyRequests(shouldStop()) { throw ResponsesError.interrupted }
            let m = round * comm.size + comm.rank
            var written = 0
            var failure: (any Error)?
            if m < members.count {
                do {
                    let network = try loaded.network(members, m, threads: threads)
                    let runner = try StimulusResponse(network: network, dt: set.dt, cells: cells.nodes, batchSize: batchSize)
                    var reduction = reducer
                    try runner.run(
                        samples: set.sampleCount, frames: set.frameCount,
                        render: { i, buffer in try set.render(sample: i, into: buffer) }
                    ) { range, values in
                        try reduction?.add(samples: range, values: values, cells: cells)
                        try file.write(member: m, samples: range, values: values)
                        written += 1
                        if comm.isRoot, clock.now - lastLine >= .seconds(progressInterval) {
                            lastLine = clock.now
                            progress(
                                set, round: round, rounds: rounds, batch: written, batches: batches, size: comm.size,
                                elapsed: clock.now - started)
                        }
                    }
                    if let reduction { reductions[m] = try reduction.result() }
                } catch {
                    failure = error
                }
            }
            // Keep the collective calls in step whatever happened above.
            while written < batches {
                do { try file.skip() } catch { failure = failure ?? error }
                written += 1
            }
            try agree.check(failure)
        }
        return reductions
    }

    /// Every member's reduced result on rank 0, in member order (one gather per round; ranks
    /// without a member that round send NaN).
    private func gather(_ local: [Int: [Double]], count: Int, members: Int, communicator comm: Communicator) throws -> [[Double]] {
        var out = [[Double]](repeating: [Double](repeating: .nan, count: count), count: members)
        let rounds = (members + comm.size - 1) / comm.size
        for round in 0..<rounds {
            let mine = local[round * comm.size + comm.rank] ?? [Double](repeating: .nan, count: count)
            let all = try comm.gather(mine.count == count ? mine : [Double](repeating: .nan, count: count))
            guard comm.isRoot else { continue }
            for k in 0..<comm.size where round * comm.size + k < members {
                out[round * comm.size + k] = Array(all[(k * count)..<((k + 1) * count)])
            }
        }
        return out
    }

    private func progress(
        _ set: any StimulusSet, round: Int, rounds: Int, batch: Int, batches: Int, size: Int,
        elapsed: Duration
    ) {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let done = Double(round * batches + batch) / Double(max(1, rounds * batches))
        let samplesDone = Double(round * set.sampleCount + min(set.sampleCount, batch * batchSize)) * Double(size)
        let eta = done > 0 ? seconds * (1 - done) / done : .nan
        log(
            String(
                format: "responses: %@: members %d/%d done, %.1f stimuli/s, ETA %@", set.name, round * size,
                rounds * size, samplesDone / max(seconds, 1e-9), Self.duration(eta)))
    }

    static func duration(_ s: Double) -> String {
        guard s.isFinite else { return "unknown" }
        let t = Int(s.rounded())
        return t >= 3600 ? "\(t / 3600)h\(t % 3600 / 60)m" : t >= 60 ? "\(t / 60)m\(t % 60)s" : "\(t)s"
    }

    /// Rank 0 checks that the file fits before anything is written (a collective MPI-IO write
    /// that fails on a full disk can leave ranks hanging).
    private func checkSpace(for url: URL, members: Int, set: any StimulusSet, cells: Int, agree: RankAgreement) throws {
        var failure: (any Error)?
        if agree.communicator.isRoot {
            let needed = members * set.sampleCount * set.frameCount * cells * MemoryLayout<Float>.size + (1 << 20)
            var fs = statvfs()
            if statvfs(url.deletingLastPathComponent().path, &fs) == 0 {
                let available = Int(fs.f_bavail) * Int(fs.f_frsize)
                if available < needed { failure = ResponsesError.noSpace(path: url.path, needed: needed, available: available) }
            }
        }
        try agree.check(failure)
    }

    /// flyvis's analysis files store every stimulus parameter as `config_<name>`.
    static func attributes(_ set: any StimulusSet) -> [(name: String, value: AttributeValue)] {
        set.configuration.map { item in
            switch item.value {
            case let .number(x): return ("config_\(item.name)", .number(x))
            case let .numbers(xs): return ("config_\(item.name)", .numbers(xs))
            case let .string(s): return ("config_\(item.name)", .text(s))
            }
        }
    }
}
