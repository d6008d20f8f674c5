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
    let saved = try CheckpointReader.read(checkpoint)
    guard saved.model != .classifier else { throw ValidationError("\(checkpoint): generation needs an autoencoder or a VAE checkpoint") }
    let model = try loadModel(saved, path: checkpoint)
    let directory = FashionMNIST.directory(explicit: data)
    var png: PNGImage
    let path: String
    if let grid {
      let parts = grid.lowercased().split(separator: "x").compactMap { Int($0) }
      guard parts.count == 2, parts.allSatisfy({ $0 >= 1 && $0 <= 64 }) else {
        throw ValidationError("--grid must look like 8x8 (rows and columns in 1...64), got \"\(grid)\"")
      }
      let count = parts[0] * parts[1]
      var g = SeededGenerator(seed: seed, streamName: "noise/generate")
      let images: Tensor
      if let samples = try model.samplePrior(count: count, generator: &g) {
        images = samples
      } else {
        let train = try FashionMNIST.load(.train, directory: directory)
        images = try Generation.grid(model, spanning: train.images, count: count, generator: &g)
      }
      png = try ImageGrid.render(imageList(images), side: 28, columns: parts[1], scale: 2)
      path = out ?? "generated-\(parts[0])x\(parts[1]).png"
    } else {
      guard interpolate.count == 2, steps >= 2 else { throw ValidationError("--interpolate takes two indices, and --steps at least 2") }
      let test = try FashionMNIST.load(.test, directory: directory)
      for i in interpolate where i < 0 || i >= test.count {
        throw ValidationError("--interpolate: index \(i) is outside the test set (0..<\(test.count))")
      }
      let list = try Generation.interpolation(model, between: test.subset(interpolate).images, steps: steps)
      png = try ImageGrid.render(list, side: 28, columns: list.count, scale: 2)
      path = out ?? "interpolation-\(interpolate[0])-\(interpolate[1]).png"
    }
    try FigureFile.write(try png.encoded(), to: path)
    print("wrote \(path) (\(png.width)x\(png.height))")
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
  @Option(help: "t-SNE perplexity.") var perplexity: Double = 30
  @Option(help: "t-SNE Barnes-Hut accuracy (0: exact repulsion).") var theta: Double = 0.5
  @Option(help: "t-SNE iterations.") var iterations: Int = 1000
  @Option(help: "Worker threads. Results are bit-identical for any count.") var threads: Int = 2
  @Option(help: "Use a seeded random subset of this many points.") var subset: Int?
  @Option(help: "Which images to encode: train or test.") var split: String = "train"
  @Option(help: "Seed of the subset draw.") var seed: UInt64 = 0
  @Option(help: ArgumentHelp("Directory holding the Fashion-MNIST IDX files.", valueName: "dir")) var data: String?
  @Option(help: ArgumentHelp("Output folder.", valueName: "dir")) var out: String = "embedding"

  func run() throws {
    guard method == "pca" || method == "tsne" else { throw ValidationError("--method must be pca or tsne, got \(method)") }
    guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
    guard (checkpoint == nil) != (input == nil) else { throw ValidationError("give a checkpoint or --input MATRIX, not both") }
    var matrix: Tensor
    var pointLabels: [Int]
    var classNames: [String]
    var title: String
    if let checkpoint {
      guard let which = FashionMNIST.Split(rawValue: split) else { throw ValidationError("--split must be train or test, got \(split)") }
      let saved = try CheckpointReader.read(checkpoint)
      let model = try loadModel(saved, path: checkpoint)
      model.parallel = DeterministicParallel(threads: threads)
      let set = try FashionMNIST.load(which, directory: FashionMNIST.directory(explicit: data))
      matrix = try latentCodes(model, set.images)
      pointLabels = set.labels.map { Int($0) }
      classNames = FashionMNIST.classNames
      title = "the \(saved.model.rawValue)'s latent codes (\(split) images)"
    } else {
      matrix = try MatrixInput.readMatrix(input!)
      pointLabels = try labels.map(MatrixInput.readLabels) ?? [Int](repeating: 0, count: matrix.shape[0])
      guard pointLabels.count == matrix.shape[0] else {
        throw ValidationError("\(labels!): \(pointLabels.count) labels for \(matrix.shape[0]) rows")
      }
      let classes = (pointLabels.max() ?? 0) + 1
      classNames = labels == nil ? ["points"] : (0..<classes).map { "class \($0)" }
      title = URL(fileURLWithPath: input!).lastPathComponent
    }
    if let subset, subset < matrix.shape[0] {
      guard subset >= 2 else { throw ValidationError("--subset must be at least 2") }
      var g = SeededGenerator(seed: seed, streamName: "shuffle/embed")
      let chosen = Array(g.permutation(matrix.shape[0]).prefix(subset)).sorted()
      let d = matrix.shape[1]
      matrix = Tensor(shape: [subset, d], scalars: chosen.flatMap { matrix.scalars[($0 * d)..<(($0 + 1) * d)] })
      pointLabels = chosen.map { pointLabels[$0] }
    }
    let points: [(Double, Double)]
    let xLabel: String, yLabel: String, summary: String
    if method == "pca" {
      let pca = try PCA(fitting: matrix, componentCount: min(2, matrix.shape[1]))
      let z = try pca.transform(matrix)
      let k = z.shape[1]
      points = (0..<z.shape[0]).map { (Double(z.scalars[$0 * k]), k > 1 ? Double(z.scalars[$0 * k + 1]) : 0) }
      let ratios = pca.explainedVarianceRatio.map { String(format: "%.1f%%", $0 * 100) }
      xLabel = "PC 1 (\(ratios.first ?? "?") of the variance)"
      yLabel = "PC 2 (\(ratios.count > 1 ? ratios[1] : "-"))"
      summary = "explained variance \(ratios.joined(separator: ", "))"
      title = "PCA of " + title
    } else {
      var options = TSNEOptions()
      options.perplexity = perplexity
      options.theta = theta
      options.iterations = iterations
      options.threads = threads
      let bar = ProgressReporter(label: "t-SNE", total: iterations, unit: "it")
      var done = 0
      let result = try TSNE.embed(matrix, options: options) { iteration, _ in
        bar.advance(by: iteration - done)
        done = iteration
      }
      bar.finish()
      points = (0..<matrix.shape[0]).map { (Double(result.embedding.scalars[2 * $0]), Double(result.embedding.scalars[2 * $0 + 1])) }
      (xLabel, yLabel) = ("t-SNE 1", "t-SNE 2")
      summary = String(format: "KL divergence %.3f, %.1f s", result.klDivergence, result.seconds)
      title = "t-SNE (perplexity \(perplexity.formatted())) of " + title
    }
    var csv = "x,y,label\n"
    for (p, l) in zip(points, pointLabels) { csv += "\(p.0),\(p.1),\(l)\n" }
    try FigureFile.write(csv, to: out + "/\(method).csv")
    try FigureFile.write(
      SVGPlot.scatter(points: points, labels: pointLabels, classNames: classNames, title: title, xLabel: xLabel, yLabel: yLabel),
      to: out + "/\(method).svg")
    try FigureFile.write(
      try ScatterRaster.render(
        points: points, labels: pointLabels, classNames: classNames, title: title, xLabel: xLabel, yLabel: yLabel
      ).encoded(), to: out + "/\(method).png")
    print("wrote \(out)/\(method).csv, .svg and .png (\(points.count) points; \(summary))")
  }
}
