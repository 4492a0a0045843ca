/// Salts that split one member seed into independent streams, so that changing how much one
/// consumer draws (say, the dropout probability) never shifts another's draws (data order).
package enum SeedSalt {
    /// Data order, augmentation and resampling.
    package static let data: UInt64 = 0xDA7A
    /// The decoder's initial weights.
    package static let decoderInit: UInt64 = 0xDEC0DE
    /// The decoder's dropout masks.
    package static let dropout: UInt64 = 0xD80F
}
