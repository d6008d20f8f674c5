import Foundation
import HDF5
import Models
import NN
import TensorCore

/// What reading a checkpoint found: the checkpoint, when nothing is wrong, and every problem.
public struct CheckpointExamination {
  /// The checkpoint, only when `problems` is empty.
  public var checkpoint: Checkpoint?
  /// Every problem found, in the order of the file's layout (`CheckpointError` or `HDF5Error`).
  public var problems: [Error]

  /// Whether any problem says the file is damaged or unreadable (see `CheckpointError.isDamage`).
  public var isDamaged: Bool { problems.contains(where: CheckpointError.isDamage) }
}

/// Reads and validates checkpoints: the seal, format name and version, model kind,
/// configuration, every parameter's name and shape against what the configuration implies,
/// and the optimizer, random-stream and history data (every dataset's checksum is verified
/// as it is read).
public enum CheckpointReader {
  /// Reads the checkpoint at `path`.
  /// - Throws: the first problem `examine` finds: `CheckpointError` saying exactly what does
  ///   not match or that the file is damaged, or `HDF5Error` for data libhdf5 cannot read
  ///   (including a checksum failure).
  public static func read(_ path: String) throws -> Checkpoint {
    let result = examine(path)
    if let first = result.problems.first { throw first }
    guard let checkpoint = result.checkpoint else {
      throw CheckpointError.unreadable(path: path, reason: "nothing could be read")
    }
    return checkpoint
  }

  /// Reads the checkpoint at `path`, going on past each problem as far as the file allows, so
  /// that every problem is reported (`latentlab inspect`).
  public static func examine(_ path: String) -> CheckpointExamination {
    var problems: [Error] = []
    var seal: CheckpointSeal.Status?
    do {
      seal = try CheckpointSeal.verify(path)
    } catch {
      // Reported, and the content is still examined (in isolation: HDF5File.open) to say
      // what else is wrong.
      problems.append(error)
    }
    let file: HDF5File
    do {
      file = try HDF5File.open(path: path, trusted: seal == .intact)
    } catch {
      problems.append(error)
      return CheckpointExamination(checkpoint: nil, problems: problems)
    }
    defer { try? file.close() }
    return examine(file, after: problems)
  }

  /// Examines an open file, whose seal (if any) was checked; `problems` are those met so far.
  static func examine(_ file: HDF5File, after problems: [Error]) -> CheckpointExamination {
    var problems = problems
    problems += file.damage.map { CheckpointError.damaged(path: file.path, reason: "cannot read \($0)") }
    let reader = FieldReader(file: file, path: file.path)
    let checkpoint = reader.checkpoint()
    problems += reader.problems
    return CheckpointExamination(checkpoint: problems.isEmpty ? checkpoint : nil, problems: problems)
  }
}

/// Reads a checkpoint's fields one by one, recording each problem and going on where it can.
private final class FieldReader {
  let file: HDF5File
  let path: String
  var problems: [Error] = []

  init(file: HDF5File, path: String) {
    self.file = file
    self.path = path
  }

  /// Runs `body`, recording its error; nil when it failed.
  func attempt<T>(_ body: () throws -> T) -> T? {
    do { return try body() } catch {
      problems.append(error)
      return nil
    }
  }

  func invalid(_ field: String, _ reason: String) -> CheckpointError {
    .invalidField(path: path, field: field, reason: reason)
  }

  func attribute(_ name: String, on object: String) throws -> HDF5AttributeValue {
    guard try file.attributeNames(on: object).contains(name) else { throw invalid("\(object) attribute \(name)", "missing") }
    return try file.attribute(name, on: object)
  }

  func string(_ name: String, on object: String = "/") -> String? {
    attempt {
      guard case .string(let s) = try attribute(name, on: object) else {
        throw invalid("\(object) attribute \(name)", "expected a string")
      }
      return s
    }
  }

  func integer(_ name: String, on object: String = "/") -> Int64? {
    attempt {
      guard case .int(let i) = try attribute(name, on: object) else {
        throw invalid("\(object) attribute \(name)", "expected an integer")
      }
      return i
    }
  }

  func decode<T: Decodable>(_ type: T.Type, _ text: String?, field: String) -> T? {
    guard let text else { return nil }
    return attempt {
      do {
        return try JSONDecoder().decode(T.self, from: Data(text.utf8))
      } catch {
        throw invalid(field, "not the expected JSON (\(error))")
      }
    }
  }

  func exists(_ object: String) -> Bool { attempt { try file.exists(object) } ?? false }

  func children(of group: String) -> [String] {
    guard exists(group) else { return [] }
    return attempt { try file.memberNames(of: group) } ?? []
  }

  func checkpoint() -> Checkpoint? {
    // The format's identity first: without it nothing else is worth reading.
    let format = attempt { () -> String in
      let names = try file.attributeNames()
      guard names.contains("format") else { throw CheckpointError.notACheckpoint(path: path, found: "missing") }
      let value = try file.attribute("format")
      guard case .string(let s) = value, s == Checkpoint.formatName else {
        throw CheckpointError.notACheckpoint(path: path, found: "\"\(value)\"")
      }
      return s
    }
    guard format != nil else { return nil }
    if let version = integer("format_version"), version != Checkpoint.formatVersion {
      problems.append(CheckpointError.unsupportedVersion(path: path, found: version))
      return nil
    }

    let kind = string("model").flatMap { name -> ModelKind? in
      guard let kind = ModelKind(rawValue: name) else {
        problems.append(invalid("model", "\"\(name)\", expected autoencoder, vae or classifier"))
        return nil
      }
      return kind
    }
    let config = decode(AutoencoderConfig.self, string("config"), field: "config").flatMap { config -> AutoencoderConfig? in
      attempt {
        do { try config.validate(model: kind?.rawValue ?? "autoencoder") } catch { throw invalid("config", "\(error)") }
        return config
      }
    }
    let training = string("training")
    let seed = integer("seed").flatMap { seed -> UInt64? in
      guard seed >= 0 else {
        problems.append(invalid("seed", "negative (\(seed))"))
        return nil
      }
      return UInt64(seed)
    }
    let checksums = decode([String: String].self, string("dataset_sha256"), field: "dataset_sha256")
    let software = string("software").map { $0.hasPrefix("latentlab ") ? String($0.dropFirst("latentlab ".count)) : $0 }

    // Every group of the format; /progress is written last, so its absence marks a file
    // whose writing did not finish.
    for group in ["/progress", "/state_dict", "/rng", "/history"] where !exists(group) {
      problems.append(invalid(group, group == "/progress" ? "missing (the file is incomplete)" : "missing"))
    }

    let stateDict = parameters(kind: kind, config: config)
    let optimizer = optimizerState()
    let rng = randomStreams()
    let epoch = exists("/progress") ? integer("epoch", on: "/progress") : nil
    let step = exists("/progress") ? integer("step", on: "/progress") : nil
    let history = epochHistory()

    guard problems.isEmpty, let kind, let config, let training, let seed, let checksums, let software, let stateDict,
      let epoch, let step, let history
    else { return nil }
    return Checkpoint(
      model: kind, config: config, training: training, seed: seed, datasetSHA256: checksums, software: software,
      stateDict: stateDict, optimizer: optimizer, rng: rng, epoch: Int(epoch), step: Int(step), history: history)
  }

  /// Exactly the parameters the kind and config imply, each float32 of the expected shape;
  /// every stored dataset is read (so its checksum is verified) even when they cannot be judged.
  func parameters(kind: ModelKind?, config: AutoencoderConfig?) -> [(name: String, tensor: Tensor)]? {
    let stored = children(of: "/state_dict")
    var values: [String: (values: [Float], shape: [Int])] = [:]
    for name in stored {
      if let read = attempt({ try file.read("/state_dict/\(name)", as: Float.self) }) { values[name] = read }
    }
    let widths = kind == .classifier
      ? Checkpoint.headWidths(shapes: values.mapValues(\.shape)) ?? ClassifierDefaults.headWidths : ClassifierDefaults.headWidths
    guard let kind, let config,
      let expected = attempt({ try Checkpoint.expectedParameters(kind: kind, config: config, headWidths: widths) })
    else { return nil }
    for extra in Set(stored).subtracting(expected.map(\.name)).sorted() {
      problems.append(CheckpointError.parameterMismatch(path: path, parameter: extra, reason: "not a parameter of this \(kind.rawValue)"))
    }
    var stateDict: [(name: String, tensor: Tensor)] = []
    for (name, shape) in expected {
      guard stored.contains(name) else {
        problems.append(CheckpointError.parameterMismatch(path: path, parameter: name, reason: "missing"))
        continue
      }
      guard let (scalars, found) = values[name] else { continue }
      guard found == shape else {
        let json = (try? CheckpointWriter.json(config)) ?? "\(config)"
        problems.append(CheckpointError.parameterMismatch(
          path: path, parameter: name, reason: "shape \(found), expected \(shape) for config \(json)"))
        continue
      }
      stateDict.append((name, Tensor(shape: shape, scalars: scalars)))
    }
    return stateDict.count == expected.count ? stateDict : nil
  }

  func optimizerState() -> OptimizerCheckpoint? {
    guard exists("/optimizer") else { return nil }
    let settings = decode(OptimizerSettings.self, string("settings", on: "/optimizer"), field: "/optimizer settings")
    var state = OptimizerState()
    for name in children(of: "/optimizer") {
      let group = "/optimizer/\(name)"
      if let step = integer("step", on: group) { state.steps[name] = Int(step) }
      var buffers: [String: Tensor] = [:]
      for buffer in children(of: group) {
        if let (values, shape) = attempt({ try file.read("\(group)/\(buffer)", as: Float.self) }) {
          buffers[buffer] = Tensor(shape: shape, scalars: values)
        }
      }
      state.buffers[name] = buffers
    }
    return settings.map { OptimizerCheckpoint(settings: $0, state: state) }
  }

  func randomStreams() -> [String: [UInt64]] {
    var rng: [String: [UInt64]] = [:]
    for stream in children(of: "/rng") {
      guard let words = attempt({ try file.read("/rng/\(stream)", as: UInt64.self).values }) else { continue }
      guard words.count == 4, words.contains(where: { $0 != 0 }) else {
        problems.append(invalid("/rng/\(stream)", "expected four words, not all zero"))
        continue
      }
      rng[stream] = words
    }
    return rng
  }

  func epochHistory() -> [EpochRecord]? {
    guard exists("/history/epoch") else { return [] }
    func column<T: HDF5Scalar>(_ name: String, _ type: T.Type) -> [T]? {
      attempt { try file.read("/history/\(name)", as: T.self).values }
    }
    let epochs = column("epoch", Int64.self)
    let trainLoss = column("train_loss", Double.self)
    let validationLoss = column("validation_loss", Double.self)
    let hasAccuracy = exists("/history/train_accuracy")
    let trainAccuracy = hasAccuracy ? column("train_accuracy", Double.self) : []
    let validationAccuracy = hasAccuracy ? column("validation_accuracy", Double.self) : []
    guard let epochs, let trainLoss, let validationLoss, let trainAccuracy, let validationAccuracy else { return nil }
    guard trainLoss.count == epochs.count, validationLoss.count == epochs.count,
      !hasAccuracy || (trainAccuracy.count == epochs.count && validationAccuracy.count == epochs.count)
    else {
      problems.append(invalid("/history", "columns of different lengths"))
      return nil
    }
    let optional = { (x: Double) -> Double? in x.isNaN ? nil : x }
    return epochs.indices.map { i in
      EpochRecord(
        epoch: Int(epochs[i]), trainLoss: trainLoss[i], validationLoss: optional(validationLoss[i]),
        trainAccuracy: hasAccuracy ? optional(trainAccuracy[i]) : nil,
        validationAccuracy: hasAccuracy ? optional(validationAccuracy[i]) : nil, seconds: 0)
    }
  }
}
