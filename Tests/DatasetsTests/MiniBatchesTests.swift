import Datasets
import TensorCore
import TestSupport
import XCTest

final class MiniBatchesTests: XCTestCase {
  func testBatchesCoverTheOrderWithASmallerLastBatch() {
    let batches = MiniBatches(order: Array(0..<10), batchSize: 4)
    XCTAssertEqual(batches.count, 3)
    XCTAssertEqual(batches.map { Array($0) }, [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
    let dropped = MiniBatches(order: Array(0..<10), batchSize: 4, dropLast: true)
    XCTAssertEqual(dropped.count, 2)
    XCTAssertEqual(dropped.map(\.count), [4, 4])
  }

  func testShuffledEpochOrderIsSeededPermutation() {
    var a = SeededGenerator(seed: 1, stream: .shuffle)
    var b = SeededGenerator(seed: 1, stream: .shuffle)
    let indices = Array(stride(from: 0, to: 200, by: 2))
    let first = EpochOrder.shuffled(indices, generator: &a)
    XCTAssertEqual(first.sorted(), indices)
    XCTAssertEqual(first, EpochOrder.shuffled(indices, generator: &b))
    XCTAssertNotEqual(first, EpochOrder.shuffled(indices, generator: &a), "the next epoch draws anew")
  }

  func testGatherCopiesImagesAndLabelsAndReusesTheBatch() throws {
    let set = try FashionMNIST.load(.train, directory: Fixture.path("idx/tiny"), expectedChecksums: nil)
    var batch = Tensor.zeros([0])
    var labels: [Int32] = []
    set.gather([3, 0, 11], into: &batch, labels: &labels)
    XCTAssertEqual(batch.shape, [3, 1, 28, 28])
    XCTAssertEqual(labels, [3, 0, 1])
    XCTAssertEqual(Array(batch.scalars[784..<1568]), Array(set.images.scalars[0..<784]))
    XCTAssertEqual(set.subset([3, 0, 11]).images, batch)
    let storage = batch.scalars.withUnsafeBufferPointer { $0.baseAddress }
    set.gather([1, 2, 4], into: &batch, labels: &labels)
    XCTAssertEqual(batch.scalars.withUnsafeBufferPointer { $0.baseAddress }, storage, "same-size batches reuse storage")
    XCTAssertEqual(labels, [1, 2, 4])
  }
}
