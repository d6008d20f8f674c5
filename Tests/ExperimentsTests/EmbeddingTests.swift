import Analysis
import Experiments
import Foundation
import TensorCore
import XCTest

/// The embedding stage as a library: seeded subsets, the maps' shapes and words, and
/// `EmbeddingJob` on a matrix file (what `latentlab embed --input` runs).
final class EmbeddingTests: XCTestCase {
  var folder: String!

  override func setUpWithError() throws {
    folder = FileManager.default.temporaryDirectory.appendingPathComponent("embedding-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

  /// Three clusters in 3-D, 20 points each, labelled by cluster.
  func clusters() -> (Tensor, [Int]) {
    var g = SeededGenerator(seed: 4, streamName: "test/embedding")
    var scalars: [Float] = []
    var labels: [Int] = []
    for i in 0..<60 {
      let c = i % 3
      scalars += (0..<3).map { Float(($0 == c ? 10 : 0)) + g.nextFloat() }
      labels.append(c)
    }
    return (Tensor(shape: [60, 3], scalars: scalars), labels)
  }

  func testSubsetsAreSeededAndKeepTheirRowsAndLabels() {
    let (m, labels) = clusters()
    var a = SeededGenerator(seed: 1, streamName: "shuffle/embed")
    var b = SeededGenerator(seed: 1, streamName: "shuffle/embed")
    let first = Embedding.subset(m, labels: labels, count: 10, generator: &a)
    let second = Embedding.subset(m, labels: labels, count: 10, generator: &b)
    XCTAssertEqual(first.matrix, second.matrix)
    XCTAssertEqual(first.labels, second.labels)
    for r in 0..<10 {
      let row = Array(first.matrix.scalars[(3 * r)..<(3 * r + 3)])
      XCTAssertEqual(row.firstIndex(of: row.max()!), first.labels[r], "row \(r) keeps its label")
    }
    XCTAssertEqual(Embedding.subset(m, labels: labels, count: 100, generator: &a).matrix, m)
  }

  func testPCASeparatesTheClustersAndSaysHowMuchVarianceItKeeps() throws {
    let (m, labels) = clusters()
    let (map, pca) = try Embedding.pca(m, labels: labels, of: "clusters")
    XCTAssertEqual(map.points.count, 60)
    XCTAssertEqual(map.title, "PCA of clusters")
    XCTAssertGreaterThan(pca.explainedVarianceRatio.reduce(0, +), 0.95)
    XCTAssertTrue(map.summary.hasPrefix("explained variance "), map.summary)
  }

  func testAJobOnAMatrixFileWritesItsFilesAndChecksItsLabels() throws {
    let (m, labels) = clusters()
    var csv = ""
    for r in 0..<60 { csv += (0..<3).map { "\(m.scalars[3 * r + $0])" }.joined(separator: ",") + "\n" }
    try csv.write(toFile: folder + "/m.csv", atomically: true, encoding: .utf8)
    try labels.map(String.init).joined(separator: "\n").write(toFile: folder + "/labels.txt", atomically: true, encoding: .utf8)
    var options = TSNEOptions()
    options.perplexity = 5
    options.iterations = 250
    let job = EmbeddingJob(
      source: .matrix(path: folder + "/m.csv", labels: folder + "/labels.txt"), method: .tsne, tsne: options, subset: 30, seed: 2,
      out: folder + "/out")
    let map = try job.run()
    XCTAssertEqual(map.points.count, 30)
    for ext in ["csv", "svg", "png"] { XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/out/tsne.\(ext)"), ext) }
    try "0\n1\n".write(toFile: folder + "/labels.txt", atomically: true, encoding: .utf8)
    XCTAssertThrowsError(try job.run()) { XCTAssertTrue("\($0)".contains("2 labels for 60 rows"), "\($0)") }
  }
}
