import Foundation

/// Linear warm-up then cosine decay to a floor (docs/RACO.md, "Learning-rate schedule"). Pure function of the step.
///
/// Steps are 0-based: step t is the (t + 1)-th optimiser update.
/// - t < warmupSteps: α = peak · (t + 1) / warmupSteps (the first step is already non-zero and step
///   warmupSteps − 1 reaches the peak);
/// - warmupSteps ≤ t: with progress π_t = min(1, (t − warmupSteps) / max(1, totalSteps − warmupSteps)),
///   α = floor + (peak − floor) · (1 + cos(π · π_t)) / 2, so α = peak at t = warmupSteps, falls
///   monotonically, and stays at the floor from t = totalSteps on.
public struct LearningRateSchedule: Sendable, Equatable, Codable {
    public let peak: Double
    public let floor: Double
    public let warmupSteps: Int
    public let totalSteps: Int

    public init(peak: Double, floor: Double = 0, warmupSteps: Int, totalSteps: Int) throws {
        guard peak.isFinite, floor.isFinite, peak > 0, floor >= 0, floor <= peak else {
            throw AlignmentError.nonFinite("learning-rate schedule (need 0 ≤ floor ≤ peak, peak > 0)")
        }
        guard warmupSteps >= 0, totalSteps >= warmupSteps else {
            throw AlignmentError.countMismatch(expected: warmupSteps, actual: totalSteps, what: "total steps (at least the warm-up)")
        }
        self.peak = peak
        self.floor = floor
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
    }

    public func learningRate(atStep step: Int) -> Double {
        if step < warmupSteps {
            return peak * Double(step + 1) / Double(warmupSteps)
        }
        let progress = min(1, Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps)))
        return floor + (peak - floor) * 0.5 * (1 + cos(Double.pi * progress))
    }
}
