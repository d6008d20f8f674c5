import Checkpointing
import Datasets
import Figures
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

/// What `latentlab generate` does: a PNG of images decoded from a checkpoint's latent space.
public struct GenerationJob {
  /// Which images.
  public enum Figure: Equatable, Sendable {
    /// `rows × columns` images: the VAE's draws from its prior, or an autoencoder's points
    /// drawn inside its training codes' box (`Generation.grid`).
    case grid(rows: Int, columns: Int)
    /// Test images `first` and `second` with `steps` images decoded on the line between their
    /// codes (`Generation.interpolation`).
    case interpolation(first: Int, second: Int, steps: Int)
  }

  public var checkpoint: String
  public var figure: Figure
  /// Seeds the draws (the `noise/generate` stream).
  public var seed: UInt64
  /// The Fashion-MNIST folder (nil: the default).
  public var data: String?
  /// The PNG to write (nil: `generated-RxC.png` or `interpolation-I-J.png`).
  public var out: String?

  public init(checkpoint: String, figure: Figure, seed: UInt64, data: String?, out: String?) {
    self.checkpoint = checkpoint
    self.figure = figure
    self.seed = seed
    self.data = data
    self.out = out
  }

  /// Writes the PNG; returns its path and size in pixels.
  /// - Throws: `ExperimentError.invalid` for a classifier's checkpoint or a test index out of
  ///   range; the reader's and the model's errors.
  public func run() throws -> (path: String, width: Int, height: Int) {
    let saved = try CheckpointReader.read(checkpoint)
    guard saved.model != .classifier else {
      throw ExperimentError.invalid("\(checkpoint): generation needs an autoencoder or a VAE checkpoint")
    }
    let model = try loadModel(saved, path: checkpoint)
    let directory = FashionMNIST.directory(explicit: data)
    let png: PNGImage
    let path: String
    switch figure {
    case .grid(let rows, let columns):
      var g = SeededGenerator(seed: seed, streamName: "noise/generate")
      let images: Tensor
      if let samples = try model.samplePrior(count: rows * columns, generator: &g) {
        images = samples
      } else {
        let train = try FashionMNIST.load(.train, directory: directory)
        images = try Generation.grid(model, spanning: train.images, count: rows * columns, generator: &g)
      }
      png = try ImageGrid.render(imageList(images), side: AutoencoderConfig.imageSide, columns: columns, scale: 2)
      path = out ?? "generated-\(rows)x\(columns).png"
    case .interpolation(let first, let second, let steps):
      let test = try FashionMNIST.load(.test, directory: directory)
      for i in [first, second] where i < 0 || i >= test.count {
        throw ExperimentError.invalid("--interpolate: index \(i) is outside the test set (0..<\(test.count))")
      }
      let list = try Generation.interpolation(model, between: test.subset([first, second]).images, steps: steps)
      png = try ImageGrid.render(list, side: AutoencoderConfig.imageSide, columns: list.count, scale: 2)
      path = out ?? "interpolation-\(first)-\(second).png"
    }
    try FigureFile.write(try png.encoded(), to: path)
    return (path, png.width, png.height)
  }
}
