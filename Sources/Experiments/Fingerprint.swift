import Analysis
import Datasets
import Foundation
import Models
import NN
import TensorCore

/// A fixed short run whose results identify a build's numerics: the SHA-256 of what a small
/// training, its codes, their PCA and their t-SNE produce. The same on every machine that
/// takes the same `InstructionSet` path; `make test` asserts the committed values, so a CPU
/// or a dependency that changes a bit shows up wherever the tests run.
///
/// The run: the seed autoencoder (seed 0) trained 2 epochs (batch 200, Adam 3e-3, L2 1e-4,
/// 2 threads) on the first 1,200 training images; the codes of the first 500 test images; PCA
/// of those codes to 2-D; t-SNE of them (perplexity 20, 250 iterations), once by Barnes-Hut and
/// once by FFT interpolation. Each part is hashed
/// as little-endian float32 or float64 values, in order (not as files, whose headers carry the
/// software version).
public struct Fingerprint: Codable, Equatable, Sendable {
  /// Each part's SHA-256, by name: `parameters`, `codes`, `pca`, `tsne`, `tsne-fft`.
  public var parts: [String: String]
  /// The SHA-256 of the parts' digests in that order: the one line to compare.
  public var combined: String
  /// The path the run took (`InstructionSet.selected`).
  public var path: String

  /// The parts in the order they are combined.
  public static let partNames = ["parameters", "codes", "pca", "tsne", "tsne-fft"]

  /// Runs the fixed run on the Fashion-MNIST files in `data` (the default folder when nil).
  /// - Throws: the data set's errors (missing or damaged files), or a model's.
  public static func compute(data: String?) throws -> Fingerprint {
    let directory = FashionMNIST.directory(explicit: data)
    let train = LabeledTensor(try FashionMNIST.load(.train, directory: directory).subset(Array(0..<1200)))
    let test = try FashionMNIST.load(.test, directory: directory).subset(Array(0..<500))
    let model = try ModelFactory.make(.autoencoder, config: .seed, seed: 0)
    model.parallel = DeterministicParallel(threads: 2)
    let options = TrainingOptions(epochs: 2, batchSize: 200, optimizer: Preset.seed.autoencoder.optimizer, seed: 0)
    _ = try Trainer(options: options, showsProgress: false).fit(model, train: train, validation: nil)
    let codes = try model.encode(test.images)
    let pca = try PCA(fitting: codes, componentCount: 2)
    var tsne = TSNEOptions()
    tsne.perplexity = 20
    tsne.iterations = 250
    tsne.threads = 2
    tsne.algorithm = .barnesHut
    var tsneFFT = tsne
    tsneFFT.algorithm = .fft
    let parts: [String: String] = [
      "parameters": digest(model.stateDict.flatMap { $0.parameter.value.scalars }),
      "codes": digest(codes.scalars),
      "pca": digest(try pca.transform(codes).scalars),
      "tsne": digest(try TSNE.embed(codes, options: tsne).embedding.scalars),
      "tsne-fft": digest(try TSNE.embed(codes, options: tsneFFT).embedding.scalars),
    ]
    let combined = SHA256.hexDigest(of: Array(partNames.map { parts[$0]! }.joined(separator: "\n").utf8))
    return Fingerprint(parts: parts, combined: combined, path: InstructionSet.selected.rawValue)
  }

  /// The SHA-256 of values as little-endian bytes.
  static func digest<T: BinaryFloatingPoint>(_ values: [T]) -> String {
    values.withUnsafeBytes { SHA256.hexDigest(of: Array($0)) }
  }

  /// The lines `latentlab fingerprint` prints and the golden files hold: one `name sha256`
  /// per part, then `fingerprint sha256`.
  public var lines: [String] {
    Self.partNames.map { "\($0) \(parts[$0]!)" } + ["fingerprint \(combined)"]
  }
}
