import Analysis
import ArgumentParser
import Checkpointing
import Datasets
import Experiments
import Figures
import Foundation
import HDF5
import Models
import NN
import TensorCore

/// `latentlab generate`: images decoded from the latent space.
struct GenerateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "generate",
    abstract: "Decode new images from an autoencoder's or VAE's latent space (a grid), or interpolate between two test images.",
    discussion: """
      Autoencoder: latent vectors drawn uniformly inside the box the training images' codes \
      span (per coordinate, min to max). VAE: draws from the prior N(0, I). --interpolate I J \
      decodes evenly spaced points on the line between test images I's and J's codes, with \
      the two originals at the ends.
      """)

  @Argument(help: ArgumentHelp("An autoencoder or VAE checkpoint.", valueName: "checkpoint")) var checkpoint: String
  @Option(help: ArgumentHelp("Rows x columns of generated images.", valueName: "RxC")) var grid: String?
  @Option(parsing: .upToNextOption, help: ArgumentHelp("Two test-image indices.", valueName: "i j")) var interpolate: [Int] = []
  @Option(help: "Points on the interpolation line, ends included.") var steps: Int = 10
  @Option(help: "Seed of the draws.") var seed: UInt64 = 0
  @Option(help: ArgumentHelp("Directory holding the Fashion-MNIST IDX files.", valueName: "dir")) var data: String?
  @Option(help: ArgumentHelp("Output PNG file.", valueName: "file")) var out: String?

  func run() throws {
    guard (grid == nil) != interpolate.isEmpty else {
      throw ValidationError("give exactly one of --grid RxC or --interpolate I J")
    }
    let figure: GenerationJob.Figure
    if let grid {
      let parts = grid.lowercased().split(separator: "x").compactMap { Int($0) }
      guard parts.count == 2, parts.allSatisfy({ $0 >= 1 && $0 <= 64 }) else {
        throw ValidationError("--grid must look like 8x8 (rows and columns in 1...64), got \"\(grid)\"")
      }
      figure = .grid(rows: parts[0], columns: parts[1])
    } else {
      guard interpolate.count == 2, steps >= 2 else { throw ValidationError("--interpolate takes two indices, and --steps at least 2") }
      figure = .interpolation(first: interpolate[0], second: interpolate[1], steps: steps)
    }
    let written = try GenerationJob(checkpoint: checkpoint, figure: figure, seed: seed, data: data, out: out).run()
    print("wrote \(written.path) (\(written.width)x\(written.height))")
  }
}

/// `latentlab embed`: 2-D maps of latent codes (or of any matrix).
struct EmbedCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "embed",
    abstract: "Map a model's latent codes (or any matrix) to 2-D with PCA or Barnes-Hut t-SNE and plot them by class.",
    discussion: """
      Writes <out>/<method>.csv (x, y, label per point) and <out>/<method>.svg (a scatter plot \
      coloured by class, with a legend). With a checkpoint, the points are the codes of the \
      training images (--split test for the test images); --input takes any matrix instead \
      (.npy, .csv, or file.h5:/dataset), with optional --labels.
      """)

  @Argument(help: ArgumentHelp("A LatentLab checkpoint.", valueName: "checkpoint")) var checkpoint: String?
  @Option(help: ArgumentHelp("A matrix to embed instead: .npy, .csv, or file.h5:/dataset.", valueName: "matrix")) var input: String?
  @Option(help: ArgumentHelp("Labels for --input: .npy or one integer per line.", valueName: "file")) var labels: String?
  @Option(help: "pca or tsne.") var method: String = "pca"
  @Option(help: "t-SNE perplexity.") var perplexity: Double = Preset.seed.embedding.perplexity
  @Option(help: "t-SNE method: bh (Barnes-Hut), fft (FIt-SNE interpolation) or auto (fft from \(TSNEAlgorithm.fftThreshold) points).")
  var algorithm: String = TSNEAlgorithm.auto.rawValue
  @Option(help: "t-SNE Barnes-Hut accuracy (0: exact repulsion).") var theta: Double = 0.5
  @Option(help: "t-SNE iterations.") var iterations: Int = Preset.seed.embedding.tsneIterations
  @Option(help: "Worker threads. Results are bit-identical for any count.") var threads: Int = 2
  @Option(help: "Use a seeded random subset of this many points.") var subset: Int?
  @Option(help: "Which images to encode: train or test.") var split: String = "train"
  @Option(help: "Seed of the subset draw.") var seed: UInt64 = 0
  @Option(help: ArgumentHelp("Directory holding the Fashion-MNIST IDX files.", valueName: "dir")) var data: String?
  @Option(help: ArgumentHelp("Output folder.", valueName: "dir")) var out: String = "embedding"

  func run() throws {
    guard let chosenMethod = EmbeddingJob.Method(rawValue: method) else {
      throw ValidationError("--method must be pca or tsne, got \(method)")
    }
    guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
    guard let chosenAlgorithm = TSNEAlgorithm(rawValue: algorithm) else {
      throw ValidationError("--algorithm must be bh, fft or auto, got \(algorithm)")
    }
    guard (checkpoint == nil) != (input == nil) else { throw ValidationError("give a checkpoint or --input MATRIX, not both") }
    let source: EmbeddingJob.Source
    if let checkpoint {
      guard let which = FashionMNIST.Split(rawValue: split) else { throw ValidationError("--split must be train or test, got \(split)") }
      source = .checkpoint(path: checkpoint, split: which, data: data)
    } else {
      source = .matrix(path: input!, labels: labels)
    }
    var options = TSNEOptions()
    options.perplexity = perplexity
    options.algorithm = chosenAlgorithm
    options.theta = theta
    options.iterations = iterations
    options.threads = threads
    let job = EmbeddingJob(source: source, method: chosenMethod, tsne: options, subset: subset, seed: seed, out: out)
    let bar = chosenMethod == .tsne ? ProgressReporter(label: "t-SNE", total: iterations, unit: "it") : nil
    var done = 0
    let map = try job.run { iteration in
      bar?.advance(by: iteration - done)
      done = iteration
    }
    bar?.finish()
    print("wrote \(out)/\(method).csv, .svg and .png (\(map.points.count) points; \(map.summary))")
  }
}
