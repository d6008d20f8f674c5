import TensorCore

/// Rectified linear unit, as PyTorch's `nn.ReLU`: `y = max(x, 0)`; `dx = dy · [y > 0]`
/// (zero gradient at 0, as PyTorch). Any input shape.
public final class ReLUOf<Scalar: BLASScalar>: Layer {
  public var parallel = DeterministicParallel(threads: 1)
  private var output = TensorOf<Scalar>.zeros([0])
  private var inputGradient = TensorOf<Scalar>.zeros([0])
  private var hasForward = false

  public init() {}

  public var description: String { "ReLU()" }
  public var namedParameters: [NamedParameter<Scalar>] { [] }
  public func outputShape(for inputShape: [Int]) throws -> [Int] { inputShape }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forward(_ x: TensorOf<Scalar>) throws -> TensorOf<Scalar> {
    output.ensureShape(x.shape)
    x.withUnsafeBufferPointer { xb in
      output.withUnsafeMutableBufferPointer { yb in
        for i in 0..<xb.count { yb[i] = xb[i] > 0 ? xb[i] : 0 }
      }
    }
    hasForward = true
    return output
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func backward(_ dy: TensorOf<Scalar>) throws -> TensorOf<Scalar> {
    guard hasForward, dy.shape == output.shape else { throw LayerError.backwardBeforeForward(layer: description) }
    inputGradient.ensureShape(dy.shape)
    dy.withUnsafeBufferPointer { dyb in
      output.withUnsafeBufferPointer { yb in
        inputGradient.withUnsafeMutableBufferPointer { dxb in
          for i in 0..<dyb.count { dxb[i] = yb[i] > 0 ? dyb[i] : 0 }
        }
      }
    }
    return inputGradient
  }
}

/// The logistic sigmoid, as PyTorch's `nn.Sigmoid`: `y = 1 / (1 + e^−x)`; `dx = dy · y · (1 − y)`.
/// Computed as `e^x / (1 + e^x)` for negative `x`, so large magnitudes neither overflow nor
/// lose the result. Any input shape.
public final class SigmoidOf<Scalar: BLASScalar>: Layer {
  public var parallel = DeterministicParallel(threads: 1)
  private var output = TensorOf<Scalar>.zeros([0])
  private var inputGradient = TensorOf<Scalar>.zeros([0])
  private var hasForward = false

  public init() {}

  public var description: String { "Sigmoid()" }
  public var namedParameters: [NamedParameter<Scalar>] { [] }
  public func outputShape(for inputShape: [Int]) throws -> [Int] { inputShape }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forward(_ x: TensorOf<Scalar>) throws -> TensorOf<Scalar> {
    output.ensureShape(x.shape)
    x.withUnsafeBufferPointer { xb in
      output.withUnsafeMutableBufferPointer { yb in
        for i in 0..<xb.count {
          let v = xb[i]
          if v >= 0 {
            yb[i] = 1 / (1 + Scalar.exp(-v))
          } else {
            let e = Scalar.exp(v)
            yb[i] = e / (1 + e)
          }
        }
      }
    }
    hasForward = true
    return output
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func backward(_ dy: TensorOf<Scalar>) throws -> TensorOf<Scalar> {
    guard hasForward, dy.shape == output.shape else { throw LayerError.backwardBeforeForward(layer: description) }
    inputGradient.ensureShape(dy.shape)
    dy.withUnsafeBufferPointer { dyb in
      output.withUnsafeBufferPointer { yb in
        inputGradient.withUnsafeMutableBufferPointer { dxb in
          for i in 0..<dyb.count { dxb[i] = dyb[i] * yb[i] * (1 - yb[i]) }
        }
      }
    }
    return inputGradient
  }
}

/// `Float` activations.
public typealias ReLU = ReLUOf<Float>
public typealias Sigmoid = SigmoidOf<Float>
