import ArgumentParser
import FlyvisBase
import FlyvisEnsemble
import FlyvisMPI
import FlyvisResponses
import FlyvisResults
import FlyvisStimuli
import Foundation

/// `flyvis-ensemble responses <ens-dir>`: flyvis's flash and moving-edge responses of every
/// member, and their tuning indices, as one MPI job (or on one rank without mpirun).
struct Responses: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Stimulus responses and tuning (FRI, DSI) of every member of an ensemble, under MPI.",
        discussion: """
            mpirun -n 4 flyvis-ensemble responses data/results/flow/0000
            Runs flyvis's analysis stimuli (flash_responses, moving_edge_responses; every parameter is an \
            option) through each member at its best checkpoint (flyvis's rule: validation/epe, else \
            validation/loss) and writes <ens>/responses/flashes.h5 and moving_edge.h5 (dataset responses: \
            member, sample, frame, cell, with coordinates) through parallel HDF5, plus tuning.h5 and tuning.txt \
            (FRI at every flash radius, DSI and preferred direction per edge intensity, correlations to known \
            tuning). Members are spread over the ranks; renderings are cached under --root (default: the \
            results root above the ensemble directory).
            """)

    @Argument(help: "Ensemble directory, <root>/results/<task>/<EEEE> (ours or flyvis's).") var ensemble: String
    @Option(help: "Stimulus sets: flashes, moving-edge, or both comma-separated.") var stimuli = "flashes,moving-edge"
    @Option(help: "Checkpoint of every member: best, last or an index.") var checkpoint = "best"
    @Option(help: "Cells recorded: central (the central cell of every type), all, or cell types such as T4a,T5a.")
    var cells = "central"
    @Flag(name: .customLong("no-tuning"), help: "Write the responses only, not tuning.h5.") var noTuning = false
    @Option(help: "Renderings cache root (default: the root above <ens>/../../.., else $FLYVIS_ROOT_DIR, else ./data).")
    var root: String?
    @Option(parsing: .unconditional, help: "Integration and frame time step in seconds.") var dt = 1.0 / 200
    @Option(parsing: .unconditional, help: "Flash radii in hexals (−1: the whole eye).") var radius = "-1,6"
    @Option(parsing: .unconditional, help: "Flash OFF and ON intensities.") var dynamicRange = "0,1"
    @Option(parsing: .unconditional, help: "Seconds per flash alternation.") var tStim = 1.0
    @Option(parsing: .unconditional, help: "Flash alternations (0 grey, 1 flash).") var alternations = "0,1,0"
    @Option(parsing: .unconditional, help: "Edge directions in degrees.") var angles = "0,30,60,90,120,150,180,210,240,270,300,330"
    @Option(parsing: .unconditional, help: "Edge intensities (0 OFF, 1 ON).") var intensities = "0,1"
    @Option(parsing: .unconditional, help: "Edge speeds in half ommatidia per second.") var speeds = "2.4,4.8,9.7,13,19,25"
    @Option(parsing: .unconditional, help: "First and one-past-last edge offset in LEDs.") var offsets = "-10,11"
    @Option(parsing: .unconditional, help: "Edge height in LEDs.") var height = 80.0
    @Option(name: .customLong("post-pad-mode"), help: "After a fast edge: continue, value or reflect.") var postPadMode = "continue"
    @Option(
        parsing: .unconditional,
        help:
            "Seconds of grey inside each stimulus before it starts (the steady state before it is always 1 s of grey, as in flyvis's analysis)."
    )
    var tPre = 1.0
    @Option(parsing: .unconditional, help: "Seconds after each edge.") var tPost = 1.0
    @Option(name: .customLong("batch-size"), help: "Samples simulated together.") var batchSize = 4
    @Option(help: "Threads per rank.") var threads = 1
    @Option(name: .customLong("progress-interval"), help: "Seconds between progress lines.") var progressInterval = 30.0

    func validate() throws {
        _ = try request()
        guard CheckpointSelector(checkpoint) != nil else {
            throw ValidationError("--checkpoint must be best, last or a checkpoint index (got '\(checkpoint)')")
        }
        _ = try CellSelection(parsing: cells)
        guard (1...4096).contains(batchSize) else { throw ValidationError("--batch-size must be 1…4096 (got \(batchSize))") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard progressInterval >= 0, progressInterval.isFinite else { throw ValidationError("--progress-interval must be seconds ≥ 0") }
    }

    /// The stimulus parameters as the library takes them.
    func request() throws -> StimulusRequest {
        var r = StimulusRequest()
        r.kinds = try stimuli.split(separator: ",").map { try StimulusRequest.Kind(parsing: String($0)) }
        r.dt = dt
        r.radius = try Self.list(radius, "--radius").map { v in
            guard v == v.rounded(), abs(v) < 1e6 else { throw ValidationError("--radius takes whole hexal counts (got \(v))") }
            return Int(v)
        }
        r.dynamicRange = try Self.list(dynamicRange, "--dynamic-range")
        r.tStim = tStim
        r.alternations = try Self.list(alternations, "--alternations").map { Int($0) }
        r.flashTPre = tPre
        r.angles = try Self.list(angles, "--angles")
        r.intensities = try Self.list(intensities, "--intensities")
        r.speeds = try Self.list(speeds, "--speeds")
        let o = try Self.list(offsets, "--offsets")
        guard o.count == 2, o.allSatisfy({ $0 == $0.rounded() && abs($0) < 1e6 }), o[0] < o[1] else {
            throw ValidationError("--offsets takes two whole LED offsets, first < last (flyvis's default: -10,11)")
        }
        r.offsets = Int(o[0])..<Int(o[1])
        r.height = height
        guard let mode = PostPadMode(rawValue: postPadMode) else {
            throw ValidationError("--post-pad-mode must be continue, value or reflect (got '\(postPadMode)')")
        }
        r.postPadMode = mode
        r.edgeTPre = tPre
        r.tPost = tPost
        return r
    }

    static func list(_ text: String, _ option: String) throws -> [Double] {
        let values = text.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0?.isFinite == true }) else {
            throw ValidationError("\(option) takes comma-separated numbers (got '\(text)')")
        }
        return values.map { $0! }
    }

    func run() throws {
        let comm = try MPI.initialize()
        defer { MPI.finalize() }
        StopSignal.installHandlers()
        let ens = URL(fileURLWithPath: (ensemble as NSString).expandingTildeInPath).standardizedFileURL.resolvingSymlinksInPath()
        var job = ResponsesJob(ensemble: ens)
        job.checkpoint = CheckpointSelector(checkpoint)!
        job.cells = try CellSelection(parsing: cells)
        job.batchSize = batchSize
        job.threads = threads
        job.progressInterval = progressInterval
        job.log = { print($0) }
        job.shouldStop = { StopSignal.isSet }
        let request = try request()
        job.stimuliKey = request.key
        let cacheRoot = ResponsesJob.cacheRoot(explicit: root, ensemble: ens)
        if comm.isRoot {
            print(
                "responses: \(request.kinds.map(\.rawValue).joined(separator: ", ")) for \(ens.path) on \(comm.size) rank(s); renderings under \(cacheRoot.path)"
            )
        }
        let started = Date()
        do {
            let outcome = try job.run(
                communicator: comm,
                stimuli: { extent in
                    try request.sets(extent: extent, cache: cacheRoot, log: { if comm.isRoot { print("responses: \($0)") } })
                }, tuning: !noTuning)
            // Every rank's peak memory, so a cluster user sees the largest.
            let peak = try comm.allreduce([peakResidentMB()], .max)[0]
            if comm.isRoot {
                print(
                    String(
                        format: "responses: %d member(s), %d file(s) in %.1f s; peak RSS %.0f MB (largest rank)",
                        outcome.members.count, outcome.files.count + (noTuning ? 0 : 2), Date().timeIntervalSince(started), peak))
            }
        } catch ResponsesError.interrupted {
            if comm.isRoot { TrainingLog.console.error("\(ResponsesError.interrupted)") }
            throw ExitCode(ExitStatus.interrupted.rawValue)
        } catch {
            TrainingLog.console.error("\(error)")
            throw ExitCode(ExitStatus.failure.rawValue)
        }
    }
}
