import Experiments
import Foundation
import TestSupport
import XCTest

/// Search spaces as data: the shipped files are the constants the code uses, a file without
/// the newer fields reads as the problem statement's space, scales change the draws, and a bad
/// file is an error naming the file and the field.
final class SearchSpaceFileTests: XCTestCase {
  func write(_ text: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("space-\(UUID().uuidString).json").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
    return path
  }

  func testTheShippedFilesAreTheSpacesTheCodeUses() throws {
    XCTAssertEqual(try SearchSpace.read(Fixture.packageRoot + "/Spaces/problem-statement.json"), .seed)
    XCTAssertEqual(try SearchSpace.read(Fixture.packageRoot + "/Spaces/results-table.json"), .resultsTable)
    XCTAssertEqual(SearchSpace.resultsTable.latent, [2, 3, 4])
    XCTAssertEqual(try Preset.named("seed", space: Fixture.packageRoot + "/Spaces/results-table.json").search.space, .resultsTable)
  }

  /// `study.json` files written before spaces had names and scales still read (and compare
  /// equal, so such a study resumes).
  func testAnOlderFileReadsAsTheProblemStatement() throws {
    let old = #"{"conv1Channels":[8,10],"conv2Channels":[15,20],"conv3Channels":[25,35],"hidden":[60,80],"latent":[2,4,6],"# +
      #""learningRate":[0.001,0.1],"weightDecay":[0.0001,0.1],"optimizers":["adam","sgd","rmsprop"],"conv3Padding":1}"#
    XCTAssertEqual(try SearchSpace.read(try write(old)), .seed)
  }

  func testUniformDrawsSpreadEvenlyOverTheRange() throws {
    var space = SearchSpace.seed
    space.weightDecayScale = .uniform
    let uniform = space.sample(count: 400, seed: 2).map(\.optimizer.weightDecay)
    let log = SearchSpace.seed.sample(count: 400, seed: 2).map(\.optimizer.weightDecay)
    // Uniform on [1e-4, 0.1]: about half above 0.05; log-uniform: about a tenth.
    XCTAssertTrue((160...240).contains(uniform.filter { $0 > 0.05 }.count), "\(uniform.filter { $0 > 0.05 }.count)")
    XCTAssertLessThan(log.filter { $0 > 0.05 }.count, 70)
    XCTAssertEqual(
      space.sample(count: 400, seed: 2).map(\.config), SearchSpace.seed.sample(count: 400, seed: 2).map(\.config),
      "the scale changes no other draw")
  }

  func testABadFileNamesTheFileAndTheField() throws {
    let missing = try write(#"{"name": "x", "conv1Channels": [8, 10]}"#)
    XCTAssertThrowsError(try SearchSpace.read(missing)) {
      XCTAssertTrue("\($0)".contains(missing) && "\($0)".contains("no field conv2Channels"), "\($0)")
    }
    let reversed = try write(
      String(decoding: try JSONEncoder().encode(SearchSpace.seed), as: UTF8.self).replacingOccurrences(
        of: #""hidden":[60,80]"#, with: #""hidden":[80,60]"#))
    XCTAssertThrowsError(try SearchSpace.read(reversed)) {
      XCTAssertTrue("\($0)".contains("field hidden") && "\($0)".contains("low <= high"), "\($0)")
    }
    var bad = SearchSpace.seed
    bad.optimizers = ["adagrad"]
    let unknown = try write(String(decoding: try JSONEncoder().encode(bad), as: UTF8.self))
    XCTAssertThrowsError(try SearchSpace.read(unknown)) { XCTAssertTrue("\($0)".contains("adagrad"), "\($0)") }
    XCTAssertThrowsError(try SearchSpace.read("/nonexistent/space.json")) {
      XCTAssertTrue("\($0)".contains("/nonexistent/space.json: cannot read"), "\($0)")
    }
  }
}
