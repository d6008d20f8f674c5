import Foundation
import TensorCore

/// A figure's distribution over a sweep's seeds.
public struct SeedStatistics: Codable, Equatable, Sendable {
  public var count: Int
  public var mean: Double
  /// The sample standard deviation (n − 1); 0 for a single seed.
  public var standardDeviation: Double
  public var minimum: Double
  public var maximum: Double
  /// The 95% percentile-bootstrap interval of the mean.
  public var interval95: [Double]

  enum CodingKeys: String, CodingKey {
    case count, mean, minimum, maximum
    case standardDeviation = "standard_deviation"
    case interval95 = "interval_95"
  }

  /// The statistics of `values`, the bootstrap drawing `resamples` resamples from `generator`
  /// (seeded, so a report is reproducible).
  /// - Precondition: `values` is not empty.
  public init(_ values: [Double], resamples: Int = 10_000, generator: inout SeededGenerator) {
    precondition(!values.isEmpty, "no values")
    let n = values.count
    count = n
    mean = values.reduce(0, +) / Double(n)
    let m = mean
    standardDeviation = n > 1 ? (values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(n - 1)).squareRoot() : 0
    minimum = values.min()!
    maximum = values.max()!
    var means = [Double](repeating: 0, count: resamples)
    for r in 0..<resamples {
      var sum = 0.0
      for _ in 0..<n { sum += values[generator.nextInt(below: n)] }
      means[r] = sum / Double(n)
    }
    means.sort()
    let low = means[Int((0.025 * Double(resamples - 1)).rounded())]
    let high = means[Int((0.975 * Double(resamples - 1)).rounded())]
    interval95 = [low, high]
  }
}

/// The Wilson score interval of a proportion `successes / trials` at 95% (z = 1.96): unlike
/// the normal approximation it stays inside [0, 1] and is sensible for 0 or all successes.
public func wilsonInterval(successes: Int, trials: Int, z: Double = 1.959963984540054) -> [Double] {
  guard trials > 0 else { return [0, 1] }
  let n = Double(trials)
  let p = Double(successes) / n
  let denominator = 1 + z * z / n
  let centre = (p + z * z / (2 * n)) / denominator
  let half = z * (p * (1 - p) / n + z * z / (4 * n * n)).squareRoot() / denominator
  return [max(0, centre - half), min(1, centre + half)]
}
