import FlyvisHex

/// How flyvis continues a moving bar after its last offset (`post_pad_mode`).
package enum PostPadMode: String, Sendable, CaseIterable {
    /// Repeat the last frame (the bar stays where it stopped).
    case `continue`
    /// Grey background.
    case value
    /// Mirror the movie back from its last frame (torch's reflect padding, edge not repeated).
    case reflect
}
