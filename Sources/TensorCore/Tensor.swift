/// LatentLab's numeric value type: `Float32` tensors, the precision models train in.
public typealias Tensor = TensorOf<Float>

/// A dense, row-major array of scalars with a shape.
///
/// Images are laid out NCHW (`[batch, channels, height, width]`), matrices `[rows, columns]`.
/// A tensor has value semantics: copies share storage until one of them is written
/// (copy-on-write through `Array`), so passing a tensor never aliases it. Models use
/// `Tensor` (`Float`); `TensorOf<Double>` exists so that the same layer code can be checked
/// against finite differences in double precision.
public struct TensorOf<Scalar: BLASScalar>: Equatable, Sendable {
  /// The extent of each dimension, outermost first.
  public private(set) var shape: [Int]
  /// The elements in row-major order. Invariant: `scalars.count` is the product of `shape`;
  /// write elements in place, never change the count (no observer checks it, so that
  /// in-place writes stay in place rather than copying the array).
  public var scalars: [Scalar]

  /// A tensor of `shape` filled with `value`.
  // Inlinable (delegating to the designated initialiser) so that callers in other modules get
  // the array fill specialised for their scalar type rather than a per-element generic copy.
  @inlinable
  public init(shape: [Int], repeating value: Scalar = 0) {
    precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(shape)")
    self.init(shape: shape, scalars: [Scalar](repeating: value, count: shape.reduce(1, *)))
  }

  /// A tensor of `shape` holding `scalars` (row-major).
  /// - Precondition: `scalars.count` equals the product of `shape`.
  public init(shape: [Int], scalars: [Scalar]) {
    precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(shape)")
    precondition(
      scalars.count == shape.reduce(1, *),
      "Tensor: \(scalars.count) scalars do not fill shape \(shape)")
    self.shape = shape
    self.scalars = scalars
  }

  /// A tensor of `shape` whose elements `initializer` writes, without zero-filling first
  /// (for large tensors about to be overwritten, such as a decoded data set).
  /// - Precondition: `initializer` writes every element; it receives the full buffer.
  public init(
    shape: [Int], unsafeUninitializedWith initializer: (UnsafeMutableBufferPointer<Scalar>) throws -> Void
  ) rethrows {
    precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(shape)")
    let count = shape.reduce(1, *)
    self.shape = shape
    self.scalars = try [Scalar](unsafeUninitializedCapacity: count) { buffer, initialized in
      try initializer(buffer)
      initialized = count
    }
  }

  /// A tensor of zeros.
  @inlinable
  public static func zeros(_ shape: [Int]) -> TensorOf { TensorOf(shape: shape, repeating: 0) }

  /// The number of elements.
  public var count: Int { scalars.count }
  /// The number of dimensions.
  public var rank: Int { shape.count }

  /// The four dimensions of an NCHW tensor. - Precondition: rank 4.
  public var shape4: (n: Int, c: Int, h: Int, w: Int) {
    precondition(rank == 4, "Tensor: expected rank 4 (NCHW), found shape \(shape)")
    return (shape[0], shape[1], shape[2], shape[3])
  }

  /// The two dimensions of a matrix. - Precondition: rank 2.
  public var shape2: (rows: Int, columns: Int) {
    precondition(rank == 2, "Tensor: expected rank 2, found shape \(shape)")
    return (shape[0], shape[1])
  }

  /// The same elements under another shape with the same element count.
  public func reshaped(_ newShape: [Int]) -> TensorOf {
    precondition(
      newShape.reduce(1, *) == count,
      "Tensor: cannot reshape \(shape) (\(count) elements) to \(newShape)")
    var copy = self
    copy.shape = newShape
    return copy
  }

  /// Changes the shape in place; the element count must not change.
  public mutating func reshape(_ newShape: [Int]) {
    precondition(
      newShape.reduce(1, *) == count,
      "Tensor: cannot reshape \(shape) (\(count) elements) to \(newShape)")
    shape = newShape
  }

  /// Row-major offset of a multi-index.
  @inlinable
  public func offset(_ index: [Int]) -> Int {
    precondition(index.count == shape.count, "Tensor: index \(index) for shape \(shape)")
    var o = 0
    for (i, d) in zip(index, shape) {
      precondition(i >= 0 && i < d, "Tensor: index \(index) out of bounds for shape \(shape)")
      o = o * d + i
    }
    return o
  }

  /// The element at a multi-index.
  public subscript(_ index: Int...) -> Scalar {
    get { scalars[offset(index)] }
    set { scalars[offset(index)] = newValue }
  }

  /// Read access to the contiguous elements.
  @inlinable
  public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Scalar>) throws -> R)
    rethrows -> R
  {
    try scalars.withUnsafeBufferPointer(body)
  }

  /// Write access to the contiguous elements (the shape cannot change).
  @inlinable
  public mutating func withUnsafeMutableBufferPointer<R>(
    _ body: (inout UnsafeMutableBufferPointer<Scalar>) throws -> R
  ) rethrows -> R {
    try scalars.withUnsafeMutableBufferPointer(body)
  }

  /// Gives the tensor `shape`: kept as it is when it already has it (a workspace reused from
  /// step to step), else replaced by zeros of that shape.
  @inlinable
  public mutating func ensureShape(_ shape: [Int]) {
    if self.shape != shape { self = TensorOf(shape: shape, repeating: 0) }
  }

  /// Sets every element to `value` without reallocating.
  @inlinable
  public mutating func fill(_ value: Scalar) {
    scalars.withUnsafeMutableBufferPointer { p in
      guard let base = p.baseAddress else { return }
      base.update(repeating: value, count: p.count)
    }
  }

  /// The rows `range` of the outermost dimension (for example a slice of a batch).
  public func slice(outer range: Range<Int>) -> TensorOf {
    precondition(rank >= 1 && range.lowerBound >= 0 && range.upperBound <= shape[0],
      "Tensor: slice \(range) out of bounds for shape \(shape)")
    let inner = shape.dropFirst().reduce(1, *)
    let part = Array(scalars[(range.lowerBound * inner)..<(range.upperBound * inner)])
    return TensorOf(shape: [range.count] + shape.dropFirst(), scalars: part)
  }

  /// The same values in another precision (rounded to nearest).
  public func converted<Other: BLASScalar>(to: Other.Type = Other.self) -> TensorOf<Other> {
    TensorOf<Other>(shape: shape, scalars: scalars.map { Other($0) })
  }

  /// The largest absolute difference to another tensor of the same shape.
  public func maxAbsDifference(_ other: TensorOf) -> Scalar {
    precondition(shape == other.shape, "Tensor: shapes \(shape) and \(other.shape) differ")
    var m: Scalar = 0
    for i in 0..<count { m = Swift.max(m, abs(scalars[i] - other.scalars[i])) }
    return m
  }

  /// The sum of all elements, accumulated in `Double` in index order.
  public func sum() -> Double {
    var s = 0.0
    for v in scalars { s += Double(v) }
    return s
  }

  /// The mean of all elements (accumulated in `Double`).
  public func mean() -> Double { count == 0 ? 0 : sum() / Double(count) }
}

// MARK: - Elementwise arithmetic

extension TensorOf {
  /// Elementwise sum. - Precondition: equal shapes.
  public static func + (lhs: TensorOf, rhs: TensorOf) -> TensorOf {
    var out = lhs
    out += rhs
    return out
  }

  /// Elementwise difference. - Precondition: equal shapes.
  public static func - (lhs: TensorOf, rhs: TensorOf) -> TensorOf {
    precondition(lhs.shape == rhs.shape, "Tensor: shapes \(lhs.shape) and \(rhs.shape) differ")
    var out = lhs
    out.withUnsafeMutableBufferPointer { o in
      rhs.withUnsafeBufferPointer { r in for i in o.indices { o[i] -= r[i] } }
    }
    return out
  }

  /// Adds `rhs` elementwise in place. - Precondition: equal shapes.
  public static func += (lhs: inout TensorOf, rhs: TensorOf) {
    precondition(lhs.shape == rhs.shape, "Tensor: shapes \(lhs.shape) and \(rhs.shape) differ")
    lhs.withUnsafeMutableBufferPointer { o in
      rhs.withUnsafeBufferPointer { r in for i in o.indices { o[i] += r[i] } }
    }
  }

  /// Every element times a scalar.
  public static func * (lhs: TensorOf, rhs: Scalar) -> TensorOf {
    var out = lhs
    out.withUnsafeMutableBufferPointer { o in for i in o.indices { o[i] *= rhs } }
    return out
  }

  /// Matrix product `self · other` of `[m, k]` and `[k, n]`, through BLAS (`sgemm`/`dgemm`).
  public func matmul(_ other: TensorOf) -> TensorOf {
    let (m, k) = shape2
    let (k2, n) = other.shape2
    precondition(k == k2, "Tensor.matmul: inner dimensions differ, \(shape) · \(other.shape)")
    var out = TensorOf.zeros([m, n])
    withUnsafeBufferPointer { a in
      other.withUnsafeBufferPointer { b in
        out.withUnsafeMutableBufferPointer { c in
          Scalar.gemm(
            transposeA: false, transposeB: false, m: m, n: n, k: k,
            alpha: 1, a: a.baseAddress!, lda: k, b: b.baseAddress!, ldb: n,
            beta: 0, c: c.baseAddress!, ldc: n)
        }
      }
    }
    return out
  }
}
