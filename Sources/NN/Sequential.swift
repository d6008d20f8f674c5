import TensorCore

/// Layers applied in order, as PyTorch's `nn.Sequential`.
///
/// Parameters are named `"<index>.<name>"` with the layer's position, as PyTorch names them
/// (`0.weight`, `0.bias`, `2.weight` when a ReLU sits at index 1).
public final class SequentialOf<Scalar: BLASScalar>: Layer {
  /// The layers, in order.
  public let layers: [any Layer<Scalar>]

  /// - Throws: `LayerError.invalidConfiguration` when there are no layers.
  public init(_ layers: [any Layer<Scalar>]) throws {
    guard !layers.isEmpty else { throw LayerError.invalidConfiguration(layer: "Sequential", reason: "no layers") }
    self.layers = layers
  }

  public var description: String {
    "Sequential(\n" + layers.enumerated().map { "  (\($0.offset)): \($0.element)" }.joined(separator: "\n") + "\n)"
  }

  public var namedParameters: [NamedParameter<Scalar>] {
    layers.enumerated().flatMap { index, layer in
      layer.namedParameters.map { NamedParameter(name: "\(index).\($0.name)", parameter: $0.parameter) }
    }
  }

  /// Setting it sets every layer's.
  public var parallel: DeterministicParallel {
    get { layers[0].parallel }
    set { for layer in layers { layer.parallel = newValue } }
  }

  public func outputShape(for inputShape: [Int]) throws -> [Int] {
    try layers.reduce(inputShape) { try $1.outputShape(for: $0) }
  }

  /// Runs the layers in order.
  public func forward(_ x: TensorOf<Scalar>) throws -> TensorOf<Scalar> {
    try layers.reduce(x) { try $1.forward($0) }
  }

  /// Runs the layers' backward passes in reverse order.
  public func backward(_ dy: TensorOf<Scalar>) throws -> TensorOf<Scalar> {
    try layers.reversed().reduce(dy) { try $1.backward($0) }
  }
}

/// The `Float` sequential container models use.
public typealias Sequential = SequentialOf<Float>
