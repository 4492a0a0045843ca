import Foundation

/// Peak resident set size of this process in MB, from /proc (Linux) or getrusage: what a
/// rank costs a cluster node, printed by `bench` and at the end of every training run.
package func peakResidentMB() -> Double {
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
    {
        let kb = Double(line.split(separator: " ").dropFirst().first { !$0.isEmpty } ?? "0") ?? 0
        return kb / 1024
    }
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

/// The cores this process may run on: its CPU affinity (what SLURM and taskset grant, from
/// /proc/self/status), else the online processors.
package func availableCores() -> Int {
    let online = max(1, ProcessInfo.processInfo.activeProcessorCount)
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") })
    else { return online }
    var n = 0
    for part in line.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces).split(separator: ",") {
        let bounds = part.split(separator: "-").compactMap { Int($0) }
        if bounds.count == 2, bounds[1] >= bounds[0] { n += bounds[1] - bounds[0] + 1 } else if bounds.count == 1 { n += 1 }
    }
    return n > 0 ? min(n, online) : online
}
