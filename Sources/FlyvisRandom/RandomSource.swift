/// The random generator the data side draws from (augmentation, data order); the solver saves
/// and restores its state. `RandomState` is the one used in training; tests substitute
/// scripted sequences.
package protocol RandomSource {
    mutating func uniform() -> Double
    mutating func normal() -> Double
}

extension RandomSource {
    /// A random integer in lo..<hi.
    package mutating func int(_ lo: Int, _ hi: Int) -> Int { lo + Int(uniform() * Double(hi - lo)) }
}

extension RandomState: RandomSource {}
