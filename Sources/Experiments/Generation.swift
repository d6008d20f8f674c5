import Models
import TensorCore

/// New images from a trained autoencoder's (or VAE's) latent space.
public enum Generation {
  /// `count` images decoded from latent vectors drawn uniformly inside the box the codes of
  /// `images` span (per coordinate, min to max), with `generator`.
  public static func grid(
    _ model: any TrainableModel, spanning images: Tensor, count: Int, generator: inout SeededGenerator
  ) throws -> Tensor {
    let codes = try latentCodes(model, images)
    let latent = codes.shape[1]
    var low = [Float](repeating: .infinity, count: latent), high = [Float](repeating: -.infinity, count: latent)
    for i in 0..<codes.shape[0] {
      for j in 0..<latent {
        low[j] = min(low[j], codes.scalars[i * latent + j])
        high[j] = max(high[j], codes.scalars[i * latent + j])
      }
    }
    let z = (0..<(count * latent)).map { i in generator.nextUniform(low[i % latent], high[i % latent]) }
    return try model.decode(Tensor(shape: [count, latent], scalars: z))
  }

  /// The two images of `pair` (`[2, 1, 28, 28]`) with `steps` images decoded from evenly spaced
  /// points on the line between their codes (ends included) in between, as flat images.
  public static func interpolation(_ model: any TrainableModel, between pair: Tensor, steps: Int) throws -> [[Float]] {
    guard pair.shape.first == 2, steps >= 2 else {
      throw ExperimentError.invalid("interpolation needs two images and at least 2 steps")
    }
    let ends = try latentCodes(model, pair)
    let latent = ends.shape[1]
    var z: [Float] = []
    for s in 0..<steps {
      let t = Float(s) / Float(steps - 1)
      for j in 0..<latent { z.append((1 - t) * ends.scalars[j] + t * ends.scalars[latent + j]) }
    }
    let decoded = try model.decode(Tensor(shape: [steps, latent], scalars: z))
    let originals = imageList(pair)
    return [originals[0]] + imageList(decoded) + [originals[1]]
  }
}
