import CLAPACK
import TensorCore

/// A problem fitting or applying an analysis.
public enum AnalysisError: Error, CustomStringConvertible, Equatable {
  case invalidInput(what: String, expected: String, found: String)
  case lapackFailed(routine: String, info: Int)
  /// An iterative method's state became infinite or NaN at `iteration` (1-based) of `of`.
  case diverged(what: String, iteration: Int, of: Int)

  public var description: String {
    switch self {
    case .invalidInput(let what, let expected, let found): return "\(what): expected \(expected), found \(found)"
    case .lapackFailed(let routine, let info): return "LAPACK \(routine) failed (info \(info))"
    case .diverged(let what, let iteration, let total):
      return "\(what) diverged (a coordinate became infinite or NaN) at iteration \(iteration) of \(total); nothing was written"
    }
  }
}

/// Principal component analysis of an `N × D` matrix, as scikit-learn's `PCA` (full solver).
///
/// Fit: centre the columns, form the covariance `XcᵀXc / (N − 1)` in `Double` (BLAS `dgemm`),
/// and diagonalise it with LAPACK `dsyevd` (divide and conquer). Components are sorted by
/// decreasing variance, and each component's sign is fixed so that its largest-magnitude
/// loading is positive (scikit-learn's `svd_flip` with `u_based_decision=False`), so the same
/// data always gives the same components.
public struct PCA: Equatable {
  /// The column means `[D]`.
  public let mean: [Double]
  /// The components `[k][D]`, one unit vector per row, by decreasing variance.
  public let components: [[Double]]
  /// The variance along each component (the covariance eigenvalues).
  public let explainedVariance: [Double]
  /// Each component's share of the total variance.
  public let explainedVarianceRatio: [Double]

  /// Fits `componentCount` components (default: all `D`) to `data` `[N, D]`.
  /// - Throws: `AnalysisError` for fewer than 2 rows, `D` outside 1...4096, a component count
  ///   outside 1...D, a non-finite value, or a LAPACK failure.
  public init(fitting data: Tensor, componentCount: Int? = nil) throws {
    guard data.rank == 2 else {
      throw AnalysisError.invalidInput(what: "PCA input", expected: "a matrix [N, D]", found: "shape \(data.shape)")
    }
    let (n, d) = data.shape2
    guard n >= 2, d >= 1, d <= 4096 else {
      throw AnalysisError.invalidInput(what: "PCA input", expected: "N >= 2 rows and 1 <= D <= 4096 columns", found: "\(n) x \(d)")
    }
    let k = componentCount ?? d
    guard k >= 1, k <= d else {
      throw AnalysisError.invalidInput(what: "PCA component count", expected: "1...\(d)", found: "\(k)")
    }
    guard data.scalars.allSatisfy({ $0.isFinite }) else {
      throw AnalysisError.invalidInput(what: "PCA input", expected: "finite values", found: "NaN or infinity")
    }
    var mean = [Double](repeating: 0, count: d)
    for i in 0..<n { for j in 0..<d { mean[j] += Double(data.scalars[i * d + j]) } }
    for j in 0..<d { mean[j] /= Double(n) }
    var centred = [Double](repeating: 0, count: n * d)
    for i in 0..<n { for j in 0..<d { centred[i * d + j] = Double(data.scalars[i * d + j]) - mean[j] } }
    var covariance = [Double](repeating: 0, count: d * d)
    centred.withUnsafeBufferPointer { x in
      covariance.withUnsafeMutableBufferPointer { c in
        BLAS.dgemm(
          transposeA: true, transposeB: false, m: d, n: d, k: n, alpha: 1 / Double(n - 1),
          a: x.baseAddress!, lda: d, b: x.baseAddress!, ldb: d, beta: 0, c: c.baseAddress!, ldc: d)
      }
    }
    // dsyevd on the symmetric matrix (row-major = column-major for a symmetric matrix):
    // eigenvalues ascending in w, eigenvectors in the columns of the column-major result,
    // i.e. in the rows of our row-major array.
    var w = [Double](repeating: 0, count: d)
    var jobz: CChar = 86  // "V"
    var uplo: CChar = 85  // "U"
    var order = Int32(d)
    var lda = Int32(d)
    var info: Int32 = 0
    var lwork: Int32 = -1
    var liwork: Int32 = -1
    var workQuery = 0.0
    var iworkQuery: Int32 = 0
    dsyevd_(&jobz, &uplo, &order, &covariance, &lda, &w, &workQuery, &lwork, &iworkQuery, &liwork, &info)
    guard info == 0 else { throw AnalysisError.lapackFailed(routine: "dsyevd (workspace query)", info: Int(info)) }
    lwork = Int32(workQuery)
    liwork = iworkQuery
    var work = [Double](repeating: 0, count: Int(lwork))
    var iwork = [Int32](repeating: 0, count: Int(liwork))
    dsyevd_(&jobz, &uplo, &order, &covariance, &lda, &w, &work, &lwork, &iwork, &liwork, &info)
    guard info == 0 else { throw AnalysisError.lapackFailed(routine: "dsyevd", info: Int(info)) }

    let total = w.reduce(0) { $0 + max($1, 0) }
    var components: [[Double]] = []
    var variances: [Double] = []
    for index in stride(from: d - 1, through: d - k, by: -1) {
      var vector = Array(covariance[(index * d)..<(index * d + d)])
      // The largest-magnitude loading positive (ties: the first one).
      var largest = 0
      for j in 1..<d where abs(vector[j]) > abs(vector[largest]) { largest = j }
      if vector[largest] < 0 { vector = vector.map { -$0 } }
      components.append(vector)
      variances.append(max(w[index], 0))
    }
    self.mean = mean
    self.components = components
    explainedVariance = variances
    explainedVarianceRatio = variances.map { total > 0 ? $0 / total : 0 }
  }

  /// The number of input columns.
  public var inputDimension: Int { mean.count }

  /// Coordinates `[N, k]` of rows `[N, D]` on the components: `(x − mean) · componentsᵀ`.
  public func transform(_ data: Tensor) throws -> Tensor {
    guard data.rank == 2, data.shape[1] == inputDimension else {
      throw AnalysisError.invalidInput(what: "PCA transform input", expected: "[N, \(inputDimension)]", found: "\(data.shape)")
    }
    let (n, d) = data.shape2
    let k = components.count
    var out = [Float](repeating: 0, count: n * k)
    for i in 0..<n {
      for c in 0..<k {
        var s = 0.0
        let row = components[c]
        for j in 0..<d { s += (Double(data.scalars[i * d + j]) - mean[j]) * row[j] }
        out[i * k + c] = Float(s)
      }
    }
    return Tensor(shape: [n, k], scalars: out)
  }

  /// Rows `[N, D]` for coordinates `[N, k]`: `z · components + mean`.
  public func inverseTransform(_ coordinates: Tensor) throws -> Tensor {
    let k = components.count
    guard coordinates.rank == 2, coordinates.shape[1] == k else {
      throw AnalysisError.invalidInput(what: "PCA inverse-transform input", expected: "[N, \(k)]", found: "\(coordinates.shape)")
    }
    let n = coordinates.shape[0]
    let d = inputDimension
    var out = [Float](repeating: 0, count: n * d)
    for i in 0..<n {
      for j in 0..<d {
        var s = mean[j]
        for c in 0..<k { s += Double(coordinates.scalars[i * k + c]) * components[c][j] }
        out[i * d + j] = Float(s)
      }
    }
    return Tensor(shape: [n, d], scalars: out)
  }
}
