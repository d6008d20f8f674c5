import Analysis
import Checkpointing
import Datasets
import Experiments
import TensorCore
import TestSupport
import XCTest

/// The neighbour search on real latent codes: the published autoencoder's (`Checkpoints/`)
/// codes of the 60,000 training images, 4 dimensions, where 49 rows tie at the 90th distance.
/// Oracle: the exhaustive scan (itself checked against distances and a sort written out, in
/// `NearestNeighborsTests`); the tree must give the same indices and distance bits.
final class PublishedCodesNeighboursTests: XCTestCase {
  func testTheTreeKeepsTheExhaustiveNeighboursOfThePublishedCodes() throws {
    guard InstructionSet.cpuBest >= .avx2 else {
      throw XCTSkip("the tree needs AVX2; this CPU runs the portable path only")
    }
    let path = Fixture.packageRoot + "/Checkpoints/autoencoder.h5"
    let model = try loadModel(try CheckpointReader.read(path), path: path)
    let train = try FashionMNIST.load(.train, directory: FashionMNIST.directory(explicit: nil))
    let codes = try latentCodes(model, train.images)
    XCTAssertTrue(NearestNeighbors.treeApplies(to: codes))
    let parallel = DeterministicParallel(threads: 2)
    let k = 90
    let exhaustive = try NearestNeighbors.search(codes, k: k + 1, parallel: parallel, method: .exhaustive)
    let tied = (0..<codes.shape[0]).filter {
      exhaustive.distances[$0 * (k + 1) + k - 1] == exhaustive.distances[$0 * (k + 1) + k]
    }
    XCTAssertGreaterThan(tied.count, 0, "rows whose 90th distance ties with the 91st, where the tie rule decides")
    let tree = try NearestNeighbors.search(codes, k: k + 1, parallel: parallel, method: .tree)
    XCTAssertEqual(tree.indices, exhaustive.indices)
    XCTAssertEqual(tree.distances.map(\.bitPattern), exhaustive.distances.map(\.bitPattern))
    // The first 90 by (distance, index) are the 91 less the last, ties included.
    let first = try NearestNeighbors.search(codes, k: k, parallel: parallel, method: .tree)
    for row in tied.prefix(10) {
      XCTAssertEqual(
        Array(first.indices[(row * k)..<(row * k + k)]),
        Array(exhaustive.indices[(row * (k + 1))..<(row * (k + 1) + k)]), "row \(row)")
    }
  }
}
