import Foundation
import HDF5
import Models
import NN
import TensorCore

/// Reads and validates checkpoints: format name and version, model kind, configuration, and
/// every parameter's name and shape against what the configuration implies.
public enum CheckpointReader {
  /// Reads the checkpoint at `path`.
  /// - Throws: `CheckpointError` saying exactly what does not match, or `HDF5Error` for a file
  ///   libhdf5 cannot read (including a Fletcher-32 checksum failure).
  public static func read(_ path: String) throws -> Checkpoint {
    let file = try HDF5File.open(path: path)
    defer { try? file.close() }
    func string(_ name: String, on object: String = "/") throws -> String {
      guard try file.attributeNames(on: object).contains(name) else {
        throw CheckpointError.invalidField(path: path, field: "\(object) attribute \(name)", reason: "missing")
      }
      guard case .string(let s) = try file.attribute(name, on: object) else {
        throw CheckpointError.invalidField(path: path, field: "\(object) attribute \(name)", reason: "expected a string")
      }
      return s
    }
    func integer(_ name: String, on object: String = "/") throws -> Int64 {
      guard try file.attributeNames(on: object).contains(name) else {
        throw CheckpointError.invalidField(path: path, field: "\(object) attribute \(name)", reason: "missing")
      }
      guard case .int(let i) = try file.attribute(name, on: object) else {
        throw CheckpointError.invalidField(path: path, field: "\(object) attribute \(name)", reason: "expected an integer")
      }
      return i
    }
    func decode<T: Decodable>(_ type: T.Type, _ text: String, field: String) throws -> T {
      do {
        return try JSONDecoder().decode(T.self, from: Data(text.utf8))
      } catch {
        throw CheckpointError.invalidField(path: path, field: field, reason: "not the expected JSON (\(error))")
      }
    }

    let rootAttributes = try file.attributeNames()
    guard rootAttributes.contains("format"), case .string(let format) = try file.attribute("format"),
      format == Checkpoint.formatName
    else {
      let found = rootAttributes.contains("format") ? "\"\(try file.attribute("format"))\"" : "missing"
      throw CheckpointError.notACheckpoint(path: path, found: found)
    }
    let version = try integer("format_version")
    guard version == Checkpoint.formatVersion else { throw CheckpointError.unsupportedVersion(path: path, found: version) }
    let modelName = try string("model")
    guard let kind = ModelKind(rawValue: modelName) else {
      throw CheckpointError.invalidField(
        path: path, field: "model", reason: "\"\(modelName)\", expected autoencoder, vae or classifier")
    }
    let config = try decode(AutoencoderConfig.self, try string("config"), field: "config")
    do {
      try config.validate(model: kind.rawValue)
    } catch {
      throw CheckpointError.invalidField(path: path, field: "config", reason: "\(error)")
    }
    let training = try string("training")
    let seed = try integer("seed")
    guard seed >= 0 else { throw CheckpointError.invalidField(path: path, field: "seed", reason: "negative (\(seed))") }
    let checksums = try decode([String: String].self, try string("dataset_sha256"), field: "dataset_sha256")
    var software = try string("software")
    if software.hasPrefix("latentlab ") { software.removeFirst("latentlab ".count) }

    // Every group of the format; /progress is written last, so its absence marks a file
    // whose writing did not finish.
    for group in ["/progress", "/state_dict", "/rng", "/history"] where !(try file.exists(group)) {
      throw CheckpointError.invalidField(
        path: path, field: group, reason: group == "/progress" ? "missing (the file is incomplete)" : "missing")
    }

    // Parameters: exactly the expected names, each of the expected shape, float32.
    let expected = try Checkpoint.expectedParameters(kind: kind, config: config)
    let stored = Set(try file.children(of: "/state_dict").map(\.name))
    if let extra = stored.subtracting(expected.map(\.name)).sorted().first {
      throw CheckpointError.parameterMismatch(path: path, parameter: extra, reason: "not a parameter of this \(kind.rawValue)")
    }
    var stateDict: [(name: String, tensor: Tensor)] = []
    for (name, shape) in expected {
      guard stored.contains(name) else {
        throw CheckpointError.parameterMismatch(path: path, parameter: name, reason: "missing")
      }
      let (values, found) = try file.read("/state_dict/\(name)", as: Float.self)
      guard found == shape else {
        throw CheckpointError.parameterMismatch(
          path: path, parameter: name, reason: "shape \(found), expected \(shape) for config \(try CheckpointWriter.json(config))")
      }
      stateDict.append((name, Tensor(shape: shape, scalars: values)))
    }

    var optimizer: OptimizerCheckpoint?
    if try file.exists("/optimizer") {
      let settings = try decode(OptimizerSettings.self, try string("settings", on: "/optimizer"), field: "/optimizer settings")
      var state = OptimizerState()
      for (name, _) in try file.children(of: "/optimizer") {
        let group = "/optimizer/\(name)"
        state.steps[name] = Int(try integer("step", on: group))
        var buffers: [String: Tensor] = [:]
        for (buffer, _) in try file.children(of: group) {
          let (values, shape) = try file.read("\(group)/\(buffer)", as: Float.self)
          buffers[buffer] = Tensor(shape: shape, scalars: values)
        }
        state.buffers[name] = buffers
      }
      optimizer = OptimizerCheckpoint(settings: settings, state: state)
    }

    var rng: [String: [UInt64]] = [:]
    do {
      for (stream, _) in try file.children(of: "/rng") {
        let words = try file.read("/rng/\(stream)", as: UInt64.self).values
        guard words.count == 4, words.contains(where: { $0 != 0 }) else {
          throw CheckpointError.invalidField(path: path, field: "/rng/\(stream)", reason: "expected four words, not all zero")
        }
        rng[stream] = words
      }
    }

    let epoch = Int(try integer("epoch", on: "/progress"))
    let step = Int(try integer("step", on: "/progress"))

    var history: [EpochRecord] = []
    if try file.exists("/history/epoch") {
      let epochs = try file.read("/history/epoch", as: Int64.self).values
      let trainLoss = try file.read("/history/train_loss", as: Double.self).values
      let validationLoss = try file.read("/history/validation_loss", as: Double.self).values
      let hasAccuracy = try file.exists("/history/train_accuracy")
      let trainAccuracy = hasAccuracy ? try file.read("/history/train_accuracy", as: Double.self).values : []
      let validationAccuracy = hasAccuracy ? try file.read("/history/validation_accuracy", as: Double.self).values : []
      guard trainLoss.count == epochs.count, validationLoss.count == epochs.count else {
        throw CheckpointError.invalidField(path: path, field: "/history", reason: "columns of different lengths")
      }
      let optional = { (x: Double) -> Double? in x.isNaN ? nil : x }
      for i in 0..<epochs.count {
        history.append(EpochRecord(
          epoch: Int(epochs[i]), trainLoss: trainLoss[i], validationLoss: optional(validationLoss[i]),
          trainAccuracy: hasAccuracy ? optional(trainAccuracy[i]) : nil,
          validationAccuracy: hasAccuracy ? optional(validationAccuracy[i]) : nil, seconds: 0))
      }
    }

    return Checkpoint(
      model: kind, config: config, training: training, seed: UInt64(seed), datasetSHA256: checksums,
      software: software, stateDict: stateDict, optimizer: optimizer, rng: rng, epoch: epoch, step: step,
      history: history)
  }
}
