import ArgumentParser
import FlyvisConfig
import FlyvisEnsemble
import FlyvisResults
import FlyvisSolver
import Foundation

/// A problem with a command's input files or directories: one line, exit status 1, no usage
/// text (usage is for mistyped options, exit 64).
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
