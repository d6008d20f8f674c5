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
      if let vae = model as? VariationalAutoencoder {
        images = try vae.generate(count: count, generator: &g)
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

/// Reads a matrix a user brings: `.npy`, `.csv` (one row per point, numbers only, an optional
/// header line), or an HDF5 dataset as `file.h5:/path/to/dataset`.
func readMatrix(_ spec: String) throws -> Tensor {
  if let range = spec.range(of: ".h5:") ?? spec.range(of: ".hdf5:") {
    let file = String(spec[..<range.lowerBound]) + String(spec[range.lowerBound..<range.upperBound].dropLast())
    let dataset = String(spec[range.upperBound...])
    let h5 = try HDF5File.open(path: file)
    let (values, shape) = try h5.readNumeric(dataset)
    guard shape.count == 2 else { throw ValidationError("\(file):\(dataset): expected a 2-D dataset, found shape \(shape)") }
    return Tensor(shape: shape, scalars: values.map(Float.init))
  }
  if spec.hasSuffix(".npy") {
    let array = try NumPyArray.read(path: spec)
    guard array.shape.count == 2 else { throw ValidationError("\(spec): expected a 2-D array, found shape \(array.shape)") }
    return array.tensor()
  }
  let text: String
  do { text = try String(contentsOfFile: spec, encoding: .utf8) } catch {
    throw ValidationError("\(spec): cannot read: \(error.localizedDescription)")
  }
  var rows: [[Float]] = []
  for (number, line) in text.split(whereSeparator: \.isNewline).enumerated() {
    let fields = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    let values = fields.compactMap(Float.init)
    if values.count != fields.count {
      if number == 0 && rows.isEmpty { continue }  // a header
      throw ValidationError("\(spec): line \(number + 1): expected numbers separated by commas, found \"\(line.prefix(60))\"")
    }
    if let first = rows.first, first.count != values.count {
      throw ValidationError("\(spec): line \(number + 1): \(values.count) values, expected \(first.count) like the first row")
    }
    rows.append(values)
  }
  guard !rows.isEmpty else { throw ValidationError("\(spec): no rows") }
  return Tensor(shape: [rows.count, rows[0].count], scalars: rows.flatMap { $0 })
}

/// Reads labels: a 1-D `.npy`, or a text/CSV file with one integer per line.
func readLabels(_ path: String) throws -> [Int] {
  if path.hasSuffix(".npy") { return try NumPyArray.read(path: path).doubles().map { Int($0) } }
  let text = try String(contentsOfFile: path, encoding: .utf8)
  return try text.split(whereSeparator: \.isNewline).enumerated().compactMap { number, line in
    let s = line.trimmingCharacters(in: .whitespaces)
    if s.isEmpty { return nil }
    guard let v = Int(s) else {
      if number == 0 { return nil }
      throw ValidationError("\(path): line \(number + 1): expected an integer label, found \"\(s.prefix(40))\"")
    }
    return v
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
      matrix = try readMatrix(input!)
      pointLabels = try labels.map(readLabels) ?? [Int](repeating: 0, count: matrix.shape[0])
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
