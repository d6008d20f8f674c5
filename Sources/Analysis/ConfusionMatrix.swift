/// A confusion matrix and the metrics derived from it.
///
/// `counts[t][p]` is the number of items of true class `t` predicted as `p`. Precision of class
/// `c` is `counts[c][c] / Σ_t counts[t][c]`, recall `counts[c][c] / Σ_p counts[c][p]`, F1 their
/// harmonic mean; a ratio with a zero denominator is 0 (scikit-learn's `zero_division=0`).
public struct ConfusionMatrix: Codable, Equatable, Sendable {
  public let classNames: [String]
  public let counts: [[Int]]

  /// Counts pairs of true and predicted classes in `0..<classNames.count`.
  /// - Throws: `AnalysisError.invalidInput` for unequal lengths or a class out of range.
  public init(classNames: [String], truth: [Int32], predicted: [Int32]) throws {
    let k = classNames.count
    guard truth.count == predicted.count else {
      throw AnalysisError.invalidInput(
        what: "confusion matrix", expected: "as many predictions as labels (\(truth.count))", found: "\(predicted.count)")
    }
    var counts = Array(repeating: Array(repeating: 0, count: k), count: k)
    for (t, p) in zip(truth, predicted) {
      guard t >= 0, Int(t) < k, p >= 0, Int(p) < k else {
        throw AnalysisError.invalidInput(what: "confusion matrix", expected: "classes in 0..<\(k)", found: "\(t), \(p)")
      }
      counts[Int(t)][Int(p)] += 1
    }
    self.classNames = classNames
    self.counts = counts
  }

  /// The number of items.
  public var total: Int { counts.joined().reduce(0, +) }

  /// The fraction on the diagonal.
  public var accuracy: Double {
    total == 0 ? 0 : Double(counts.indices.reduce(0) { $0 + counts[$1][$1] }) / Double(total)
  }

  /// Each row divided by its sum (the recall of each true class along the diagonal).
  public var rowNormalized: [[Double]] {
    counts.map { row in
      let s = row.reduce(0, +)
      return row.map { s == 0 ? 0 : Double($0) / Double(s) }
    }
  }

  private static func ratio(_ a: Int, _ b: Int) -> Double { b == 0 ? 0 : Double(a) / Double(b) }

  /// Per-class precision.
  public var precision: [Double] {
    counts.indices.map { c in ConfusionMatrix.ratio(counts[c][c], counts.reduce(0) { $0 + $1[c] }) }
  }

  /// Per-class recall.
  public var recall: [Double] {
    counts.indices.map { c in ConfusionMatrix.ratio(counts[c][c], counts[c].reduce(0, +)) }
  }

  /// Per-class F1.
  public var f1: [Double] {
    zip(precision, recall).map { p, r in p + r == 0 ? 0 : 2 * p * r / (p + r) }
  }
}
