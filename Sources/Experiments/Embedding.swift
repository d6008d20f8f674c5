import Analysis
import Checkpointing
import Datasets
import Figures
import Foundation
import TensorCore

/// A 2-D map of points, as `embed` and the pipeline's embedding stage write it: the points
/// with their labels, and the words its plots show.
public struct EmbeddingMap {
  public var points: [(Double, Double)]
  public var labels: [Int]
  public var title: String
  public var xLabel: String
  public var yLabel: String
  /// One line about the map: explained variance, or the t-SNE's KL divergence and time.
  public var summary: String

  /// Writes `<folder>/<name>.csv` (x, y, label per point), `.svg` and `.png` (scatter plots
  /// coloured by class, `classNames` in the legend).
  public func write(name: String, classNames: [String], folder: String) throws {
    var csv = "x,y,label\n"
    for (p, l) in zip(points, labels) { csv += "\(p.0),\(p.1),\(l)\n" }
    try FigureFile.write(csv, to: "\(folder)/\(name).csv")
    try FigureFile.write(
      SVGPlot.scatter(points: points, labels: labels, classNames: classNames, title: title, xLabel: xLabel, yLabel: yLabel),
      to: "\(folder)/\(name).svg")
    try FigureFile.write(
      try ScatterRaster.render(
        points: points, labels: labels, classNames: classNames, title: title, xLabel: xLabel, yLabel: yLabel
      ).encoded(), to: "\(folder)/\(name).png")
  }
}

/// PCA and t-SNE maps of a matrix's rows.
public enum Embedding {
  /// The rows' projection on their first two principal components (one, for a single column).
  /// - Throws: `PCA`'s errors for a matrix it cannot fit.
  public static func pca(_ matrix: Tensor, labels: [Int], of what: String) throws -> (map: EmbeddingMap, pca: PCA) {
    let pca = try PCA(fitting: matrix, componentCount: min(2, matrix.shape[1]))
    let z = try pca.transform(matrix)
    let k = z.shape[1]
    let ratios = pca.explainedVarianceRatio.map { String(format: "%.1f%%", $0 * 100) }
    let map = EmbeddingMap(
      points: (0..<z.shape[0]).map { (Double(z.scalars[$0 * k]), k > 1 ? Double(z.scalars[$0 * k + 1]) : 0) },
      labels: labels, title: "PCA of " + what, xLabel: "PC 1 (\(ratios.first ?? "?") of the variance)",
      yLabel: "PC 2 (\(ratios.count > 1 ? ratios[1] : "-"))", summary: "explained variance \(ratios.joined(separator: ", "))")
    return (map, pca)
  }

  /// The rows' t-SNE map with `options` (Barnes-Hut or FFT interpolation); `progress(iteration)`
  /// every 10 iterations and after the last; `allowance` as `TSNE.embed`'s.
  /// - Throws: `TSNE`'s errors (too few points for the perplexity, bad options).
  public static func tsne(
    _ matrix: Tensor, labels: [Int], of what: String, options: TSNEOptions, allowance: ThreadAllowance? = nil,
    progress: ((Int) -> Void)? = nil
  ) throws -> (map: EmbeddingMap, result: TSNEResult) {
    let result = try TSNE.embed(matrix, options: options, allowance: allowance) { iteration, _ in progress?(iteration) }
    let e = result.embedding.scalars
    let map = EmbeddingMap(
      points: (0..<matrix.shape[0]).map { (Double(e[2 * $0]), Double(e[2 * $0 + 1])) }, labels: labels,
      title: "t-SNE (perplexity \(options.perplexity.formatted())) of " + what, xLabel: "t-SNE 1", yLabel: "t-SNE 2",
      summary: String(
        format: "%@, KL divergence %.3f, %.1f s (neighbours %.1f s, affinities %.1f s)",
        result.algorithm.words, result.klDivergence, result.seconds,
        result.neighbourSeconds, result.affinitySeconds))
    return (map, result)
  }

  /// A seeded subset of `count` rows (in their original order) and their labels, drawn with
  /// `generator`; the matrix itself when it has no more rows than that.
  public static func subset(
    _ matrix: Tensor, labels: [Int], count: Int, generator: inout SeededGenerator
  ) -> (matrix: Tensor, labels: [Int]) {
    guard count < matrix.shape[0] else { return (matrix, labels) }
    let chosen = Array(generator.permutation(matrix.shape[0]).prefix(count)).sorted()
    let d = matrix.shape[1]
    return (
      Tensor(shape: [count, d], scalars: chosen.flatMap { matrix.scalars[($0 * d)..<(($0 + 1) * d)] }),
      chosen.map { labels[$0] }
    )
  }
}

/// What `latentlab embed` does: a PCA or t-SNE map of a checkpoint's latent codes or of any
/// matrix, written as CSV, SVG and PNG into a folder.
public struct EmbeddingJob {
  /// Where the points come from.
  public enum Source {
    /// The codes a checkpoint's model gives the training or test images.
    case checkpoint(path: String, split: FashionMNIST.Split, data: String?)
    /// A matrix file (`.npy`, `.csv`, `file.h5:/dataset`) with optional labels (`MatrixInput`).
    case matrix(path: String, labels: String?)
  }

  /// `pca` or `tsne`.
  public enum Method: String, CaseIterable, Sendable {
    case pca, tsne
  }

  public var source: Source
  public var method: Method
  /// The t-SNE's settings (its `threads` also encode the codes).
  public var tsne: TSNEOptions
  /// A seeded subset of this many points (the `shuffle/embed` stream of `seed`).
  public var subset: Int?
  public var seed: UInt64
  public var out: String

  public init(source: Source, method: Method, tsne: TSNEOptions, subset: Int?, seed: UInt64, out: String) {
    self.source = source
    self.method = method
    self.tsne = tsne
    self.subset = subset
    self.seed = seed
    self.out = out
  }

  /// Reads the points, maps them, and writes `<out>/<method>.csv`, `.svg` and `.png`.
  /// - Throws: `ExperimentError.invalid` for labels that do not match the rows or a subset
  ///   under 2; the readers', the checkpoint's and the methods' errors.
  public func run(progress: ((Int) -> Void)? = nil) throws -> EmbeddingMap {
    var (matrix, labels, classNames, what) = try points()
    if let subset, subset < matrix.shape[0] {
      guard subset >= 2 else { throw ExperimentError.invalid("--subset must be at least 2") }
      var g = SeededGenerator(seed: seed, streamName: "shuffle/embed")
      (matrix, labels) = Embedding.subset(matrix, labels: labels, count: subset, generator: &g)
    }
    let map: EmbeddingMap
    switch method {
    case .pca: map = try Embedding.pca(matrix, labels: labels, of: what).map
    case .tsne: map = try Embedding.tsne(matrix, labels: labels, of: what, options: tsne, progress: progress).map
    }
    try map.write(name: method.rawValue, classNames: classNames, folder: out)
    return map
  }

  /// The matrix, one label per row, the class names and words for what the points are.
  private func points() throws -> (Tensor, [Int], [String], String) {
    switch source {
    case .checkpoint(let path, let split, let data):
      let saved = try CheckpointReader.read(path)
      let model = try loadModel(saved, path: path)
      model.parallel = DeterministicParallel(threads: tsne.threads)
      let set = try FashionMNIST.load(split, directory: FashionMNIST.directory(explicit: data))
      return (
        try latentCodes(model, set.images), set.labels.map { Int($0) }, FashionMNIST.classNames,
        "the \(saved.model.rawValue)'s latent codes (\(split.rawValue) images)"
      )
    case .matrix(let path, let labelsPath):
      let matrix = try MatrixInput.readMatrix(path)
      let labels = try labelsPath.map(MatrixInput.readLabels) ?? [Int](repeating: 0, count: matrix.shape[0])
      guard labels.count == matrix.shape[0] else {
        throw ExperimentError.invalid("\(labelsPath!): \(labels.count) labels for \(matrix.shape[0]) rows")
      }
      let classes = (labels.max() ?? 0) + 1
      return (
        matrix, labels, labelsPath == nil ? ["points"] : (0..<classes).map { "class \($0)" },
        URL(fileURLWithPath: path).lastPathComponent
      )
    }
  }
}
