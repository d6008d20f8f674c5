import TensorCore

/// Adds per-chunk partial gradients `[chunks, size]` to a parameter's gradient, chunk by
/// chunk in order: the same sums whatever thread computed each chunk.
@inlinable
package func reduceChunkPartials<T>(_ partials: TensorOf<T>, chunks: Int, into parameter: ParameterOf<T>) {
  partials.withUnsafeBufferPointer { pb in reduceChunkPartials(pb.baseAddress!, chunks: chunks, into: parameter) }
}

/// `reduceChunkPartials` on partials `[chunks, size]` at `partials`.
@inlinable
package func reduceChunkPartials<T>(_ partials: UnsafePointer<T>, chunks: Int, into parameter: ParameterOf<T>) {
  guard !parameter.isFrozen else { return }
  let size = parameter.count
  parameter.gradient.withUnsafeMutableBufferPointer { gb in
    for c in 0..<chunks {
      let part = partials + c * size
      for i in 0..<size { gb[i] += part[i] }
    }
  }
}

/// Calls `body` with a pointer to the tensor's elements, or nil when there is no tensor.
@inlinable
package func withOptionalPointer<T, R>(_ tensor: TensorOf<T>?, _ body: (UnsafePointer<T>?) throws -> R) rethrows -> R {
  guard let tensor else { return try body(nil) }
  return try tensor.withUnsafeBufferPointer { try body($0.baseAddress) }
}

/// Per-chunk gradient partials at an address that stays put between `reserve`s.
package final class PartialsBuffer<Scalar> {
  package private(set) var pointer = UnsafeMutablePointer<Scalar>.allocate(capacity: 1)
  private var capacity = 1

  package init() {}

  deinit { pointer.deallocate() }

  /// Makes room for `count` scalars (contents are not kept).
  package func reserve(_ count: Int) {
    guard count > capacity else { return }
    pointer.deallocate()
    pointer = .allocate(capacity: count)
    capacity = count
  }
}
