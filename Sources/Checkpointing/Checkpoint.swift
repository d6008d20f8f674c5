import Foundation
import HDF5
import Models
import NN
import TensorCore

/// A problem with a checkpoint file: what is wrong, where, and what was expected.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
  case notACheckpoint(path: String, found: String)
  case unsupportedVersion(path: String, found: Int64)
  case invalidField(path: String, field: String, reason: String)
  case parameterMismatch(path: String, parameter: String, reason: String)
  case cannotWrite(path: String, reason: String)
  /// The file's bytes are not what was written: a seal or checksum mismatch, or metadata
  /// libhdf5 cannot decode.
  case damaged(path: String, reason: String)
  /// The file cannot be read at all (missing, no permission, an I/O error, not HDF5).
  case unreadable(path: String, reason: String)

  /// Whether `error` says a file is damaged or unreadable (rather than a readable file that
  /// is not a valid checkpoint): the distinction behind exit status 2 of `inspect` and `diff`.
  public static func isDamage(_ error: Error) -> Bool {
    switch error {
    case CheckpointError.damaged, CheckpointError.unreadable: return true
    case HDF5Error.callFailed: return true
    case HDF5Error.notFound(_, let object): return object == HDF5Error.wholeFile
    case HDF5Error.typeMismatch(_, let object, let expected, _): return object == "/" && expected == HDF5Error.anHDF5File
    default: return false
    }
  }

  public var description: String {
    switch self {
    case .notACheckpoint(let path, let found):
      return "\(path): not a LatentLab checkpoint (root attribute format is \(found), expected \"latentlab-checkpoint\")"
    case .unsupportedVersion(let path, let found):
      return "\(path): checkpoint format_version \(found); this LatentLab reads version 1"
        + (found > 1 ? " (the file comes from a newer LatentLab)" : "")
    case .invalidField(let path, let field, let reason):
      return "\(path): \(field): \(reason)"
    case .parameterMismatch(let path, let parameter, let reason):
      return "\(path): /state_dict/\(parameter): \(reason)"
    case .cannotWrite(let path, let reason):
      return "\(path): cannot write the checkpoint: \(reason)"
    case .damaged(let path, let reason):
      return "\(path): the file is damaged: \(reason)"
    case .unreadable(let path, let reason):
      return "\(path): cannot read the file: \(reason)"
    }
  }
}

/// The optimizer part of a checkpoint: its settings and its state by parameter name.
public struct OptimizerCheckpoint: Equatable {
  public var settings: OptimizerSettings
  public var state: OptimizerState

  public init(settings: OptimizerSettings, state: OptimizerState) {
    self.settings = settings
    self.state = state
  }
}

/// Everything a LatentLab checkpoint (format version 1) holds; see `docs/checkpoint-format.md`.
public struct Checkpoint {
  /// The format's name, the root attribute `format`.
  public static let formatName = "latentlab-checkpoint"
  /// The version this code writes and reads.
  public static let formatVersion: Int64 = 1

  public var model: ModelKind
  public var config: AutoencoderConfig
  /// The training settings as JSON (hyperparameters, optimizer, epochs, batch size, loss).
  public var training: String
  public var seed: UInt64
  /// SHA-256 of each data file the model was trained on, by file name.
  public var datasetSHA256: [String: String]
  public var software: String
  /// Parameters in the model's order, PyTorch names and layouts.
  public var stateDict: [(name: String, tensor: Tensor)]
  public var optimizer: OptimizerCheckpoint?
  /// Random-number streams' states (four words each), by stream name.
  public var rng: [String: [UInt64]]
  /// Completed epochs and optimizer steps.
  public var epoch: Int
  public var step: Int
  public var history: [EpochRecord]

  public init(
    model: ModelKind, config: AutoencoderConfig, training: String, seed: UInt64, datasetSHA256: [String: String],
    software: String = LatentLabVersion.current, stateDict: [(name: String, tensor: Tensor)],
    optimizer: OptimizerCheckpoint? = nil, rng: [String: [UInt64]] = [:], epoch: Int = 0, step: Int = 0,
    history: [EpochRecord] = []
  ) {
    self.model = model
    self.config = config
    self.training = training
    self.seed = seed
    self.datasetSHA256 = datasetSHA256
    self.software = software
    self.stateDict = stateDict
    self.optimizer = optimizer
    self.rng = rng
    self.epoch = epoch
    self.step = step
    self.history = history
  }

  /// The parameter names and shapes a model of `kind` and `config` has, in order (a
  /// classifier's head `headWidths` wide).
  public static func expectedParameters(
    kind: ModelKind, config: AutoencoderConfig, headWidths: [Int] = ClassifierDefaults.headWidths
  ) throws -> [(name: String, shape: [Int])] {
    let model = try ModelFactory.make(kind, config: config, seed: 0, headWidths: headWidths)
    return model.stateDict.map { ($0.name, $0.parameter.value.shape) }
  }

  /// A classifier's head widths as its parameters' shapes give them (nil for another model).
  public var classifierHeadWidths: [Int]? {
    guard model == .classifier else { return nil }
    return Self.headWidths(shapes: Dictionary(stateDict.map { ($0.name, $0.tensor.shape) }, uniquingKeysWith: { a, _ in a }))
  }

  /// The hidden widths of a head whose dense layers' weights `head.<i>.weight` have these
  /// shapes (`[out, in]`): every layer's output width but the last's; nil without a head.
  static func headWidths(shapes: [String: [Int]]) -> [Int]? {
    let layers = shapes.keys.compactMap { name -> (Int, [Int])? in
      let parts = name.split(separator: ".")
      guard parts.count == 3, parts[0] == "head", parts[2] == "weight", let i = Int(parts[1]), let shape = shapes[name],
        shape.count == 2
      else { return nil }
      return (i, shape)
    }.sorted { $0.0 < $1.0 }
    guard layers.count >= 1 else { return nil }
    return layers.dropLast().map { $0.1[0] }
  }

  /// Copies this checkpoint's parameters into `model`, checking names and shapes.
  public func restore(into model: any TrainableModel, path: String = "checkpoint") throws {
    let target = model.stateDict
    let stored = Dictionary(stateDict.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
    for p in target {
      guard let t = stored[p.name] else {
        throw CheckpointError.parameterMismatch(path: path, parameter: p.name, reason: "missing")
      }
      guard t.shape == p.parameter.value.shape else {
        throw CheckpointError.parameterMismatch(
          path: path, parameter: p.name, reason: "shape \(t.shape), expected \(p.parameter.value.shape) for this config")
      }
      p.parameter.value = t
    }
  }
}

extension TrainableModel {
  /// The model's parameters and their values, for a checkpoint.
  public func stateDictTensors() -> [(name: String, tensor: Tensor)] {
    stateDict.map { ($0.name, $0.parameter.value) }
  }
}
