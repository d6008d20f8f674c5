import Foundation
import Models
import TensorCore

/// The hyperparameter space of the seed study, declared as data.
///
/// The problem statement lets the latent size L be 2, 4 or 6 (the report's results table
/// writes "2-4"; LatentLab follows the problem statement). Learning rate and L2 are drawn
/// log-uniformly; integers uniformly in their inclusive ranges.
public struct SearchSpace: Codable, Equatable, Sendable {
  public var conv1Channels: ClosedRange<Int>
  public var conv2Channels: ClosedRange<Int>
  public var conv3Channels: ClosedRange<Int>
  public var hidden: ClosedRange<Int>
  public var latent: [Int]
  public var learningRate: ClosedRange<Double>
  public var weightDecay: ClosedRange<Double>
  public var optimizers: [String]
  public var conv3Padding: Int

  /// The seed study's space.
  public static let seed = SearchSpace(
    conv1Channels: 8...10, conv2Channels: 15...20, conv3Channels: 25...35, hidden: 60...80, latent: [2, 4, 6],
    learningRate: 1e-3...1e-1, weightDecay: 1e-4...1e-1, optimizers: ["adam", "sgd", "rmsprop"], conv3Padding: 1)

  /// Checks every range and choice.
  /// - Throws: `ExperimentError.invalid` naming the field and what is allowed.
  public func validate() throws {
    for (name, range) in [("conv1Channels", conv1Channels), ("conv2Channels", conv2Channels), ("conv3Channels", conv3Channels), ("hidden", hidden)]
    where range.lowerBound < 1 || range.upperBound > 4096 {
      throw ExperimentError.invalid("search space: \(name) = \(range), expected a range within 1...4096")
    }
    guard !latent.isEmpty, latent.allSatisfy({ $0 >= 1 && $0 <= 4096 }) else {
      throw ExperimentError.invalid("search space: latent = \(latent), expected one or more sizes in 1...4096")
    }
    for (name, range) in [("learningRate", learningRate), ("weightDecay", weightDecay)]
    where !(range.lowerBound > 0) || !range.upperBound.isFinite {
      throw ExperimentError.invalid("search space: \(name) = \(range), expected a positive, finite range (it is drawn log-uniformly)")
    }
    guard !optimizers.isEmpty, optimizers.allSatisfy({ ["adam", "sgd", "rmsprop"].contains($0) }) else {
      throw ExperimentError.invalid("search space: optimizers = \(optimizers), expected some of adam, sgd, rmsprop")
    }
    guard conv3Padding == 0 || conv3Padding == 1 else {
      throw ExperimentError.invalid("search space: conv3Padding = \(conv3Padding), expected 0 or 1")
    }
  }

  /// The `count` trials' parameters drawn in order from the `search` stream of `seed`: trial
  /// `i` is the same whatever happens to the others, so an interrupted study resumes with the
  /// same trials.
  public func sample(count: Int, seed: UInt64) -> [TrialParameters] {
    var g = SeededGenerator(seed: seed, stream: .search)
    func integer(_ r: ClosedRange<Int>) -> Int { r.lowerBound + g.nextInt(below: r.count) }
    func logUniform(_ r: ClosedRange<Double>) -> Double {
      exp(log(r.lowerBound) + (log(r.upperBound) - log(r.lowerBound)) * g.nextDouble())
    }
    return (0..<count).map { _ in
      let c1 = integer(conv1Channels), c2 = integer(conv2Channels), c3 = integer(conv3Channels), h = integer(hidden)
      let l = latent[g.nextInt(below: latent.count)]
      let lr = logUniform(learningRate), wd = logUniform(weightDecay)
      let opt = optimizers[g.nextInt(below: optimizers.count)]
      return TrialParameters(
        config: AutoencoderConfig(channels: [c1, c2, c3], hidden: h, latent: l, conv3Padding: conv3Padding),
        optimizer: OptimizerSettings(kind: opt, learningRate: lr, weightDecay: wd))
    }
  }
}

/// One point of the search space: an architecture and an optimizer.
public struct TrialParameters: Codable, Equatable, Sendable {
  public var config: AutoencoderConfig
  public var optimizer: OptimizerSettings

  public init(config: AutoencoderConfig, optimizer: OptimizerSettings) {
    self.config = config
    self.optimizer = optimizer
  }
}

/// A finished trial: its parameters, each fold's validation MSE, their mean (the objective),
/// and how long it took.
public struct TrialResult: Codable, Equatable, Sendable {
  public var trial: Int
  public var parameters: TrialParameters
  public var foldMSE: [Double]
  public var meanMSE: Double
  public var seconds: Double
  /// `ok`, or why the trial failed (a diverged fold: its objective is then infinite).
  public var status: String

  enum CodingKeys: String, CodingKey {
    case trial, parameters, seconds, status
    case foldMSE = "fold_mse"
    case meanMSE = "mean_mse"
  }

  public init(trial: Int, parameters: TrialParameters, foldMSE: [Double], meanMSE: Double, seconds: Double, status: String) {
    self.trial = trial
    self.parameters = parameters
    self.foldMSE = foldMSE
    self.meanMSE = meanMSE
    self.seconds = seconds
    self.status = status
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(trial, forKey: .trial)
    try c.encode(parameters, forKey: .parameters)
    // JSON has no infinity: a failed trial's objective is written as null.
    try c.encode(foldMSE.map { $0.isFinite ? $0 : nil }, forKey: .foldMSE)
    try c.encode(meanMSE.isFinite ? meanMSE : nil, forKey: .meanMSE)
    try c.encode(seconds, forKey: .seconds)
    try c.encode(status, forKey: .status)
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    trial = try c.decode(Int.self, forKey: .trial)
    parameters = try c.decode(TrialParameters.self, forKey: .parameters)
    foldMSE = try c.decode([Double?].self, forKey: .foldMSE).map { $0 ?? .infinity }
    meanMSE = try c.decode(Double?.self, forKey: .meanMSE) ?? .infinity
    seconds = try c.decode(Double.self, forKey: .seconds)
    status = try c.decode(String.self, forKey: .status)
  }
}
