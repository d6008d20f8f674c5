import TensorCore

/// A problem with a cross-validation split.
public enum KFoldError: Error, CustomStringConvertible, Equatable {
  case invalidFoldCount(folds: Int, items: Int)
  case foldOutOfRange(fold: Int, folds: Int)

  public var description: String {
    switch self {
    case .invalidFoldCount(let folds, let items):
      return "KFold: \(folds) folds for \(items) items; expected 2 <= folds <= items"
    case .foldOutOfRange(let fold, let folds):
      return "KFold: fold \(fold) does not exist; expected 0..<\(folds)"
    }
  }
}

/// A k-fold partition of `0..<count` for cross-validation.
///
/// The folds are disjoint, cover every index, and differ in size by at most one. Items are
/// shuffled with the given generator (the `shuffle` stream) and dealt to folds in turn. With
/// labels, the split is stratified: items are grouped by class (classes in ascending order),
/// shuffled within each class, and the concatenation is dealt in turn, so every class is
/// spread over the folds as evenly as its count allows (per-class fold counts also differ by
/// at most one), as scikit-learn's `StratifiedKFold` aims for.
public struct KFoldSplit: Equatable, Sendable {
  /// The indices of each fold, ascending.
  public let folds: [[Int]]

  /// A shuffled k-fold partition of `0..<count`.
  public init(count: Int, folds k: Int, generator: inout SeededGenerator) throws {
    guard k >= 2, k <= count else { throw KFoldError.invalidFoldCount(folds: k, items: count) }
    let order = generator.permutation(count)
    folds = KFoldSplit.deal(order, folds: k)
  }

  /// A stratified, shuffled k-fold partition of the indices of `labels`.
  public init<L: BinaryInteger>(stratifiedBy labels: [L], folds k: Int, generator: inout SeededGenerator) throws {
    guard k >= 2, k <= labels.count else { throw KFoldError.invalidFoldCount(folds: k, items: labels.count) }
    var byClass: [Int: [Int]] = [:]
    for (i, l) in labels.enumerated() { byClass[Int(l), default: []].append(i) }
    var order: [Int] = []
    order.reserveCapacity(labels.count)
    for cls in byClass.keys.sorted() {
      var members = byClass[cls]!
      generator.shuffle(&members)
      order += members
    }
    folds = KFoldSplit.deal(order, folds: k)
  }

  private static func deal(_ order: [Int], folds k: Int) -> [[Int]] {
    var folds = [[Int]](repeating: [], count: k)
    for (position, index) in order.enumerated() { folds[position % k].append(index) }
    return folds.map { $0.sorted() }
  }

  /// The number of folds.
  public var count: Int { folds.count }

  /// The training indices (every other fold, ascending) and validation indices (fold `fold`).
  public func split(_ fold: Int) throws -> (train: [Int], validation: [Int]) {
    guard fold >= 0, fold < folds.count else { throw KFoldError.foldOutOfRange(fold: fold, folds: folds.count) }
    let train = folds.enumerated().filter { $0.offset != fold }.flatMap { $0.element }.sorted()
    return (train, folds[fold])
  }
}
