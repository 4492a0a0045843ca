/// flyvis's temporal helpers (`flyvis.datasets.rendering.utils`): `resample`, which stretches
/// a few rendered frames over a duration, and `pad`, which lengthens a movie to a duration.
/// Both work on frame indices here; the frames themselves are filled in by `FrameLayout`.
enum Resampling {
    /// Which of `count` rendered frames each of `steps` frames shows:
    /// `torch.linspace(0, count − 1, steps).long()`. torch computes the float32 ramp from both
    /// ends (start + step·i below the midpoint, end − step·(steps−1−i) above it) with fused
    /// multiply-adds, then truncates; the truncation makes a frame last ±1 step, so the float32
    /// details decide which frames repeat.
    static func indices(count: Int, steps: Int) -> [Int32] {
        guard steps > 0 else { return [] }
        if steps == 1 { return [0] }
        let start: Float = 0, end = Float(count - 1)
        let step = (end - start) / Float(steps - 1)
        let halfway = steps / 2
        return (0..<steps).map { i in
            let value =
                i < halfway
                ? start.addingProduct(step, Float(i))
                : end.addingProduct(-step, Float(steps - 1 - i))
            return Int32(value.rounded(.towardZero))
        }
    }

    /// Frames `pad(stim, duration, dt)` adds to a movie of `current` frames:
    /// `int(duration / dt) − current` when positive, else none.
    static func padding(duration: Double, dt: Double, current: Int) -> Int? {
        guard let target = pythonInt(duration / dt) else { return nil }
        return max(0, target - current)
    }
}
