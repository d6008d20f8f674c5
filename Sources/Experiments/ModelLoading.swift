import Checkpointing
import Foundation
import Models
import TensorCore

/// The images of a tensor `[N, 1, 28, 28]` as flat arrays, for `ImageGrid`.
public func imageList(_ images: Tensor) -> [[Float]] {
  let plane = images.shape.dropFirst().reduce(1, *)
  return (0..<images.shape[0]).map { Array(images.scalars[($0 * plane)..<(($0 + 1) * plane)]) }
}

/// The latent codes a model gives images (the VAE's posterior means), in batches.
public func latentCodes(_ model: any TrainableModel, _ images: Tensor, batchSize: Int = 1000) throws -> Tensor {
  let n = images.shape[0]
  var parts: [Float] = []
  var width = 0
  var start = 0
  while start < n {
    let codes = try model.encode(images.slice(outer: start..<min(n, start + batchSize)))
    width = codes.shape[1]
    parts += codes.scalars
    start += batchSize
  }
  return Tensor(shape: [n, width], scalars: parts)
}

/// Builds the model a checkpoint describes, with its parameters.
public func loadModel(_ checkpoint: Checkpoint, path: String) throws -> any TrainableModel {
  let record = try? JSONDecoder().decode(TrainingRecord.self, from: Data(checkpoint.training.utf8))
  let model = try ModelFactory.make(
    checkpoint.model, config: checkpoint.config, seed: checkpoint.seed, vaeLoss: record?.vae ?? VAELossSettings(),
    headWidths: checkpoint.classifierHeadWidths ?? ClassifierDefaults.headWidths)
  try checkpoint.restore(into: model, path: path)
  return model
}
