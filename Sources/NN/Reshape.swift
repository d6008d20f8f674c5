import TensorCore

/// Flattens all but the batch dimension, as PyTorch's `nn.Flatten()` (`start_dim=1`):
/// `[N, C, H, W] → [N, C·H·W]` in row-major order, which is the order PyTorch's following
/// `Linear` weights expect. No copy.
public final class FlattenOf<Scalar: BLASScalar>: Layer {
  public var parallel = DeterministicParallel(threads: 1)
  private var inputShape: [Int]?

  public init() {}

  public var description: String { "Flatten(start_dim=1)" }
  public var namedParameters: [NamedParameter<Scalar>] { [] }

  public func outputShape(for inputShape: [Int]) throws -> [Int] {
    guard inputShape.count >= 2 else {
      throw LayerError.shapeMismatch(layer: description, expected: "[N, ...] (rank 2 or more)", given: inputShape)
    }
    return [inputShape[0], inputShape.dropFirst().reduce(1, *)]
  }

  public func forward(_ x: TensorOf<Scalar>) throws -> TensorOf<Scalar> {
    let shape = try outputShape(for: x.shape)
    inputShape = x.shape
    return x.reshaped(shape)
  }

  public func backward(_ dy: TensorOf<Scalar>) throws -> TensorOf<Scalar> {
    guard let inputShape, dy.count == inputShape.reduce(1, *) else {
      throw LayerError.backwardBeforeForward(layer: description)
    }
    return dy.reshaped(inputShape)
  }
}

/// Restores feature dimensions, as PyTorch's `nn.Unflatten(1, shape)`:
/// `[N, C·H·W] → [N, C, H, W]`. No copy.
public final class UnflattenOf<Scalar: BLASScalar>: Layer {
  /// The shape of one item after unflattening (`[C, H, W]`).
  public let itemShape: [Int]
  public var parallel = DeterministicParallel(threads: 1)
  private var inputShape: [Int]?

  /// - Throws: `LayerError.invalidConfiguration` for an empty or non-positive shape.
  public init(itemShape: [Int]) throws {
    guard !itemShape.isEmpty, itemShape.allSatisfy({ $0 > 0 }) else {
      throw LayerError.invalidConfiguration(layer: "Unflatten(1, \(itemShape))", reason: "sizes must be positive")
    }
    self.itemShape = itemShape
  }

  public var description: String { "Unflatten(dim=1, unflattened_size=\(itemShape))" }
  public var namedParameters: [NamedParameter<Scalar>] { [] }

  public func outputShape(for inputShape: [Int]) throws -> [Int] {
    let features = itemShape.reduce(1, *)
    guard inputShape.count == 2, inputShape[1] == features else {
      throw LayerError.shapeMismatch(layer: description, expected: "[N, \(features)]", given: inputShape)
    }
    return [inputShape[0]] + itemShape
  }

  public func forward(_ x: TensorOf<Scalar>) throws -> TensorOf<Scalar> {
    let shape = try outputShape(for: x.shape)
    inputShape = x.shape
    return x.reshaped(shape)
  }

  public func backward(_ dy: TensorOf<Scalar>) throws -> TensorOf<Scalar> {
    guard let inputShape, dy.count == inputShape.reduce(1, *) else {
      throw LayerError.backwardBeforeForward(layer: description)
    }
    return dy.reshaped(inputShape)
  }
}

/// `Float` reshapes.
public typealias Flatten = FlattenOf<Float>
public typealias Unflatten = UnflattenOf<Float>
