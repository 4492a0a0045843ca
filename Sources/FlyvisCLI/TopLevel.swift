import ArgumentParser
import Foundation

/// What the first command-line argument means.
enum TopLevel: Equatable {
    case help, run, unknownSubcommand(String)

    static var subcommandNames: [String] {
        RootCommand.configuration.subcommands.map { $0._commandName } + ["help"]
    }

    static func check(_ arguments: [String]) -> TopLevel {
        guard let first = arguments.first else { return .help }
        // Options, overrides (a.b=v, +a=v, ++a=v, ~a) and subcommands pass through.
        if first.hasPrefix("-") || first.hasPrefix("~") || first.hasPrefix("+") || first.contains("=")
            || subcommandNames.contains(first)
        {
            return .run
        }
        let names = subcommandNames.filter { $0 != "help" }
        let closest = names.min { editDistance($0, first) < editDistance($1, first) }!
        let hint = editDistance(closest, first) <= 3 ? "did you mean '\(closest)'? " : ""
        return .unknownSubcommand(
            "unknown subcommand '\(first)'; \(hint)the subcommands are \(names.joined(separator: ", ")) (see flyvis-ensemble --help)")
    }

    /// Levenshtein distance, for the "did you mean" hint.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let current = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = current
            }
        }
        return a.isEmpty ? b.count : row[b.count]
    }
}
