import Foundation
import Models
import TensorCore

/// How a continuous hyperparameter is drawn from its range.
public enum DrawScale: String, Codable, Sendable {
  /// `exp(uniform(log a, log b))`: every decade equally likely (optuna's `log=True`).
  case log
  /// `uniform(a, b)`.
  case uniform
}

/// A hyperparameter space of the seed study's kind, declared as data (`docs/search-space.md`
/// gives the JSON format; `Spaces/` holds the shipped ones).
///
/// The seed report is ambiguous: its problem statement lets the latent size L be 2, 4 or 6
/// while its results table writes "2 - 4"; it does not say how the learning rate and L2 were
/// drawn (log-uniformly here by default); it writes conv 3's padding "01". Integers are drawn
/// uniformly in their inclusive ranges, L and the optimizer uniformly from their lists.
public struct SearchSpace: Codable, Equatable, Sendable {
  /// What reading of the seed report this is, for the report ("problem statement").
  public var name: String
  public var conv1Channels: ClosedRange<Int>
  public var conv2Channels: ClosedRange<Int>
  public var conv3Channels: ClosedRange<Int>
  public var hidden: ClosedRange<Int>
  public var latent: [Int]
  public var learningRate: ClosedRange<Double>
  public var learningRateScale: DrawScale
  public var weightDecay: ClosedRange<Double>
  public var weightDecayScale: DrawScale
  public var optimizers: [String]
  public var conv3Padding: Int

  public init(
    name: String, conv1Channels: ClosedRange<Int>, conv2Channels: ClosedRange<Int>, conv3Channels: ClosedRange<Int>,
    hidden: ClosedRange<Int>, latent: [Int], learningRate: ClosedRange<Double>, learningRateScale: DrawScale = .log,
    weightDecay: ClosedRange<Double>, weightDecayScale: DrawScale = .log, optimizers: [String], conv3Padding: Int
  ) {
    self.name = name
    self.conv1Channels = conv1Channels
    self.conv2Channels = conv2Channels
    self.conv3Channels = conv3Channels
    self.hidden = hidden
    self.latent = latent
    self.learningRate = learningRate
    self.learningRateScale = learningRateScale
    self.weightDecay = weightDecay
    self.weightDecayScale = weightDecayScale
    self.optimizers = optimizers
    self.conv3Padding = conv3Padding
  }

  /// The problem statement's reading (the default): L in {2, 4, 6}, learning rate and L2
  /// log-uniform, conv 3 padding 1 (`Spaces/problem-statement.json`).
  public static let seed = SearchSpace(
    name: "problem statement", conv1Channels: 8...10, conv2Channels: 15...20, conv3Channels: 25...35, hidden: 60...80,
    latent: [2, 4, 6], learningRate: 1e-3...1e-1, weightDecay: 1e-4...1e-1, optimizers: ["adam", "sgd", "rmsprop"],
    conv3Padding: 1)

  /// The results table's reading: L in {2, 3, 4}, the rest as the problem statement's
  /// (`Spaces/results-table.json`).
  public static let resultsTable: SearchSpace = {
    var space = SearchSpace.seed
    space.name = "results table"
    space.latent = [2, 3, 4]
    return space
  }()

  enum CodingKeys: String, CodingKey {
    case name, conv1Channels, conv2Channels, conv3Channels, hidden, latent, learningRate, learningRateScale, weightDecay
    case weightDecayScale, optimizers, conv3Padding
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    func range<T: Decodable & Comparable>(_ key: CodingKeys) throws -> ClosedRange<T> {
      let bounds = try c.decode([T].self, forKey: key)
      guard bounds.count == 2, bounds[0] <= bounds[1] else {
        throw DecodingError.dataCorruptedError(
          forKey: key, in: c, debugDescription: "expected [low, high] with low <= high, got \(bounds)")
      }
      return bounds[0]...bounds[1]
    }
    // Files written before the space had a name or scales are the problem statement's reading.
    name = try c.decodeIfPresent(String.self, forKey: .name) ?? SearchSpace.seed.name
    conv1Channels = try range(.conv1Channels)
    conv2Channels = try range(.conv2Channels)
    conv3Channels = try range(.conv3Channels)
    hidden = try range(.hidden)
    latent = try c.decode([Int].self, forKey: .latent)
    learningRate = try range(.learningRate)
    learningRateScale = try c.decodeIfPresent(DrawScale.self, forKey: .learningRateScale) ?? .log
    weightDecay = try range(.weightDecay)
    weightDecayScale = try c.decodeIfPresent(DrawScale.self, forKey: .weightDecayScale) ?? .log
    optimizers = try c.decode([String].self, forKey: .optimizers)
    conv3Padding = try c.decode(Int.self, forKey: .conv3Padding)
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(name, forKey: .name)
    for (key, r) in [(CodingKeys.conv1Channels, conv1Channels), (.conv2Channels, conv2Channels), (.conv3Channels, conv3Channels), (.hidden, hidden)] {
      try c.encode([r.lowerBound, r.upperBound], forKey: key)
    }
    try c.encode(latent, forKey: .latent)
    try c.encode([learningRate.lowerBound, learningRate.upperBound], forKey: .learningRate)
    try c.encode(learningRateScale, forKey: .learningRateScale)
    try c.encode([weightDecay.lowerBound, weightDecay.upperBound], forKey: .weightDecay)
    try c.encode(weightDecayScale, forKey: .weightDecayScale)
    try c.encode(optimizers, forKey: .optimizers)
    try c.encode(conv3Padding, forKey: .conv3Padding)
  }

  /// Reads a space from a JSON file (`docs/search-space.md`) and checks it.
  /// - Throws: `ExperimentError.invalid` naming the file and what is wrong with it.
  public static func read(_ path: String) throws -> SearchSpace {
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
      throw ExperimentError.invalid("\(path): cannot read: \(error.localizedDescription)")
    }
    let space: SearchSpace
    do {
      space = try JSONDecoder().decode(SearchSpace.self, from: data)
    } catch let DecodingError.keyNotFound(key, _) {
      throw ExperimentError.invalid("\(path): no field \(key.stringValue) (docs/search-space.md lists them)")
    } catch let DecodingError.typeMismatch(_, context), let DecodingError.dataCorrupted(context) {
      let field = context.codingPath.map(\.stringValue).joined(separator: ".")
      throw ExperimentError.invalid("\(path): field \(field.isEmpty ? "(top level)" : field): \(context.debugDescription)")
    } catch {
      throw ExperimentError.invalid("\(path): not a search space: \(error)")
    }
    do { try space.validate() } catch { throw ExperimentError.invalid("\(path): \(error)") }
    return space
  }

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
    func draw(_ r: ClosedRange<Double>, _ scale: DrawScale) -> Double {
      switch scale {
      case .log:
        let (low, high) = (RepeatableMath.log(r.lowerBound), RepeatableMath.log(r.upperBound))
        return RepeatableMath.exp(low + (high - low) * g.nextDouble())
      case .uniform: return r.lowerBound + (r.upperBound - r.lowerBound) * g.nextDouble()
      }
    }
    return (0..<count).map { _ in
      let c1 = integer(conv1Channels), c2 = integer(conv2Channels), c3 = integer(conv3Channels), h = integer(hidden)
      let l = latent[g.nextInt(below: latent.count)]
      let lr = draw(learningRate, learningRateScale), wd = draw(weightDecay, weightDecayScale)
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
