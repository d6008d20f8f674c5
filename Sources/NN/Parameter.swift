import TensorCore

/// A trainable tensor and its gradient, shared by the layer that uses it and the optimizer
/// that updates it (a class, because that sharing is the point).
///
/// Gradients accumulate: `backward` adds to `gradient`; only `zeroGradient()` resets it.
public final class ParameterOf<Scalar: BLASScalar> {
  /// The current value.
  public var value: TensorOf<Scalar>
  /// The accumulated gradient of the loss with respect to `value`; same shape.
  public var gradient: TensorOf<Scalar>
  /// A frozen parameter is left alone by optimizers, and layers whose parameters are all
  /// frozen skip computing their gradients.
  public var isFrozen = false

  /// A parameter holding `value`, with a zero gradient.
  public init(_ value: TensorOf<Scalar>) {
    self.value = value
    self.gradient = TensorOf(shape: value.shape, repeating: 0)
  }

  /// Sets the gradient to zero, in place.
  public func zeroGradient() { gradient.fill(0) }

  /// The number of scalars.
  public var count: Int { value.count }
}

/// The `Float` parameters models train.
public typealias Parameter = ParameterOf<Float>

/// A parameter with its dotted name, as in a PyTorch `state_dict` (`encoder.0.weight`).
public struct NamedParameter<Scalar: BLASScalar> {
  public var name: String
  public var parameter: ParameterOf<Scalar>

  public init(name: String, parameter: ParameterOf<Scalar>) {
    self.name = name
    self.parameter = parameter
  }
}

/// PyTorch's default initialisation of `Conv2d`, `ConvTranspose2d` and `Linear`.
///
/// Weights: `kaiming_uniform_(w, a: sqrt(5))`, whose bound `gain · sqrt(3 / fan_in)` with
/// `gain = sqrt(2 / (1 + a²))` simplifies to `1 / sqrt(fan_in)`; biases: U(−1/sqrt(fan_in),
/// 1/sqrt(fan_in)). `fan_in` is PyTorch's `weight.size(1) · kernel area`: `in` for Linear
/// `[out, in]`, `in · kh · kw` for Conv2d `[out, in, kh, kw]`, and `out · kh · kw` for
/// ConvTranspose2d, whose weight is `[in, out, kh, kw]`. Draws come from the generator
/// passed in (the `init` stream): the weight's elements in row-major order, then the bias.
public enum DefaultInitialization {
  /// Fills `shape` with U(−bound, bound), bound = 1/sqrt(fanIn), drawn in order.
  public static func uniform<T: BLASScalar>(
    shape: [Int], fanIn: Int, generator: inout SeededGenerator
  ) -> TensorOf<T> {
    let bound = 1 / Double(fanIn).squareRoot()
    let count = shape.reduce(1, *)
    var scalars = [T]()
    scalars.reserveCapacity(count)
    for _ in 0..<count { scalars.append(T((2 * generator.nextDouble() - 1) * bound)) }
    return TensorOf(shape: shape, scalars: scalars)
  }
}
