import Datasets
import TensorCore
import XCTest

final class KFoldSplitTests: XCTestCase {
  private func assertPartition(_ split: KFoldSplit, count: Int, file: StaticString = #filePath, line: UInt = #line) {
    let all = split.folds.flatMap { $0 }
    XCTAssertEqual(all.count, count, "disjoint", file: file, line: line)
    XCTAssertEqual(Set(all).count, count, "disjoint", file: file, line: line)
    XCTAssertEqual(all.sorted(), Array(0..<count), "covering", file: file, line: line)
    let sizes = split.folds.map(\.count)
    XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1, "balanced", file: file, line: line)
  }

  func testFoldsPartitionTheIndices() throws {
    for (count, k) in [(10, 3), (60_000, 3), (7, 7), (11, 2)] {
      var g = SeededGenerator(seed: 1, stream: .shuffle)
      let split = try KFoldSplit(count: count, folds: k, generator: &g)
      XCTAssertEqual(split.count, k)
      assertPartition(split, count: count)
      for f in 0..<k {
        let (train, validation) = try split.split(f)
        XCTAssertTrue(Set(train).isDisjoint(with: validation))
        XCTAssertEqual(train.count + validation.count, count)
      }
    }
  }

  func testSameSeedSameFoldsOtherSeedOtherFolds() throws {
    var a = SeededGenerator(seed: 3, stream: .shuffle)
    var b = SeededGenerator(seed: 3, stream: .shuffle)
    var c = SeededGenerator(seed: 4, stream: .shuffle)
    let sa = try KFoldSplit(count: 100, folds: 3, generator: &a)
    XCTAssertEqual(sa, try KFoldSplit(count: 100, folds: 3, generator: &b))
    XCTAssertNotEqual(sa, try KFoldSplit(count: 100, folds: 3, generator: &c))
  }

  func testStratifiedFoldsBalanceEveryClass() throws {
    // Unequal classes: 10, 7 and 4 items.
    let labels: [Int32] = Array(repeating: 0, count: 10) + Array(repeating: 1, count: 7) + Array(repeating: 2, count: 4)
    var g = SeededGenerator(seed: 5, stream: .shuffle)
    let split = try KFoldSplit(stratifiedBy: labels, folds: 3, generator: &g)
    assertPartition(split, count: labels.count)
    for cls in Int32(0)...2 {
      let perFold = split.folds.map { fold in fold.filter { labels[$0] == cls }.count }
      XCTAssertLessThanOrEqual(perFold.max()! - perFold.min()!, 1, "class \(cls): \(perFold)")
    }
  }

  func testInvalidRequestsAreErrors() throws {
    var g = SeededGenerator(seed: 1, stream: .shuffle)
    XCTAssertThrowsError(try KFoldSplit(count: 5, folds: 1, generator: &g)) {
      XCTAssertEqual($0 as? KFoldError, .invalidFoldCount(folds: 1, items: 5))
    }
    XCTAssertThrowsError(try KFoldSplit(count: 2, folds: 3, generator: &g))
    let split = try KFoldSplit(count: 9, folds: 3, generator: &g)
    XCTAssertThrowsError(try split.split(3)) { XCTAssertEqual($0 as? KFoldError, .foldOutOfRange(fold: 3, folds: 3)) }
  }
}
