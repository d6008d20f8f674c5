import Foundation
import TensorCore
import TestSupport
import XCTest

/// `generate` and `embed` end to end, and the figures `train` writes.
final class AnalysisCommandTests: LatentLabCommandTestCase {
  func isPNG(_ path: String) throws -> Bool {
    let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    return bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) && String(decoding: bytes.suffix(8).prefix(4), as: UTF8.self) == "IEND"
  }

  func testTrainingFiguresGenerationAndEmbedding() throws {
    let run = directory + "/vae"
    let trained = try runLatentLab(["train", "vae", "--subset", "1000", "--epochs", "2", "--batch-size", "250", "--out", run])
    XCTAssertEqual(trained.status, 0, trained.stderr)
    for file in ["curves.svg", "reconstructions.png", "samples.png"] {
      XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/" + file), file)
    }
    XCTAssertTrue(try isPNG(run + "/samples.png"))
    let curves = try String(contentsOfFile: run + "/curves.svg", encoding: .utf8)
    XCTAssertTrue(curves.contains(">epoch</text>") && curves.contains(">validation</text>"))

    let grid = try runLatentLab(["generate", run + "/checkpoint.h5", "--grid", "3x4", "--out", directory + "/grid.png"])
    XCTAssertEqual(grid.status, 0, grid.stderr)
    XCTAssertTrue(grid.stdout.contains("(234x176)"), grid.stdout)  // 4 tiles of 56 + 5 gaps; 3 tiles + 4 gaps
    XCTAssertTrue(try isPNG(directory + "/grid.png"))
    let line = try runLatentLab(["generate", run + "/checkpoint.h5", "--interpolate", "3", "7", "--steps", "5", "--out", directory + "/line.png"])
    XCTAssertEqual(line.status, 0, line.stderr)
    XCTAssertTrue(try isPNG(directory + "/line.png"))
    let bad = try runLatentLab(["generate", run + "/checkpoint.h5", "--grid", "3x4", "--interpolate", "1", "2"])
    XCTAssertNotEqual(bad.status, 0)
    XCTAssertTrue(bad.stderr.contains("exactly one of --grid"), bad.stderr)

    let embedded = try runLatentLab(["embed", run + "/checkpoint.h5", "--split", "test", "--subset", "500", "--out", directory + "/emb"])
    XCTAssertEqual(embedded.status, 0, embedded.stderr)
    let csv = try String(contentsOfFile: directory + "/emb/pca.csv", encoding: .utf8).split(separator: "\n")
    XCTAssertEqual(csv.count, 501)
    XCTAssertEqual(csv[0], "x,y,label")
    let svg = try String(contentsOfFile: directory + "/emb/pca.svg", encoding: .utf8)
    XCTAssertEqual(svg.components(separatedBy: "<circle").count - 1, 500)
    XCTAssertTrue(svg.contains(">Ankle boot</text>"))
    XCTAssertTrue(try isPNG(directory + "/emb/pca.png"))
  }

  func testEmbedAnyMatrixTheUserBrings() throws {
    // Three well-separated clusters in 5-D.
    var g = SeededGenerator(seed: 1, streamName: "test/embed")
    var rows: [Float] = []
    var labels: [Int] = []
    for i in 0..<90 {
      labels.append(i % 3)
      for d in 0..<5 { rows.append(Float(i % 3 == d % 3 ? 5 : 0) + g.nextUniform(-0.5, 0.5)) }
    }
    let matrix = Tensor(shape: [90, 5], scalars: rows)
    try NumPyArray(matrix).write(path: directory + "/m.npy")
    try labels.map(String.init).joined(separator: "\n").write(toFile: directory + "/labels.txt", atomically: true, encoding: .utf8)
    var csv = "a,b,c,d,e\n"
    for i in 0..<90 { csv += rows[(i * 5)..<(i * 5 + 5)].map { "\($0)" }.joined(separator: ",") + "\n" }
    try csv.write(toFile: directory + "/m.csv", atomically: true, encoding: .utf8)
    for input in ["m.npy", "m.csv"] {
      let r = try runLatentLab([
        "embed", "--input", directory + "/" + input, "--labels", directory + "/labels.txt", "--out", directory + "/" + input + "-out",
      ])
      XCTAssertEqual(r.status, 0, r.stderr)
      let lines = try String(contentsOfFile: directory + "/" + input + "-out/pca.csv", encoding: .utf8).split(separator: "\n").dropFirst()
      XCTAssertEqual(lines.count, 90)
      XCTAssertEqual(lines.map { Int($0.split(separator: ",")[2])! }, labels)
    }
    let npy = try String(contentsOfFile: directory + "/m.npy-out/pca.csv", encoding: .utf8)
    let fromCSV = try String(contentsOfFile: directory + "/m.csv-out/pca.csv", encoding: .utf8)
    XCTAssertEqual(npy, fromCSV, "the same matrix from either format gives the same embedding")

    try "1,2\n3,x\n".write(toFile: directory + "/bad.csv", atomically: true, encoding: .utf8)
    let bad = try runLatentLab(["embed", "--input", directory + "/bad.csv"])
    XCTAssertNotEqual(bad.status, 0)
    XCTAssertTrue(bad.stderr.contains("bad.csv: line 2: expected numbers"), bad.stderr)
    let tsne = try runLatentLab(["embed", "--input", directory + "/m.npy", "--method", "umap"])
    XCTAssertNotEqual(tsne.status, 0)
  }
}
