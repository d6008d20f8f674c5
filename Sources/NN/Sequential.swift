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

  /// Runs the layers in order. In `Float` on CPUs with AVX2, runs of convolutions and
  /// activations (at least one convolution, two layers or more) go through a `LaneSegment`,
  /// which keeps them in the lane layout: same bits as calling the layers one by one, less
  /// layout conversion and one parallel region per run.
  public func forward(_ x: TensorOf<Scalar>) throws -> TensorOf<Scalar> {
    lastSteps.removeAll(keepingCapacity: true)
    var h = x
    var i = 0
    while i < layers.count {
      if h.rank == 4, let segment = laneSegment(startingAt: i) {
        let y = try segment.forward(h as! TensorOf<Float>, parallel: layers[i].parallel)
        h = y as! TensorOf<Scalar>
        lastSteps.append(.segment(segment))
        i = segment.range.upperBound
      } else {
        h = try layers[i].forward(h)
        lastSteps.append(.layer(i))
        i += 1
      }
    }
    return h
  }

  public func backward(_ dy: TensorOf<Scalar>) throws -> TensorOf<Scalar> {
    var g = dy
    guard !lastSteps.isEmpty else {
      // No forward yet: the last layer reports it.
      for layer in layers.reversed() { g = try layer.backward(g) }
      return g
    }
    for step in lastSteps.reversed() {
      switch step {
      case .layer(let i):
        g = try layers[i].backward(g)
      case .segment(let segment):
        let dx = try segment.backward(g as! TensorOf<Float>, parallel: layers[segment.range.lowerBound].parallel)
        g = dx as! TensorOf<Scalar>
      }
    }
    return g
  }

  /// How the last forward ran: a layer on its own, or a lane segment.
  private enum Step {
    case layer(Int)
    case segment(LaneSegment)
  }

  private var lastSteps: [Step] = []
  private var segments: [LaneSegment] = []

  /// The lane segment starting at layer `start`: the longest run of layers that can run on
  /// lanes (a convolution that skips its input gradient only first), when it holds a
  /// convolution and at least two layers.
  func laneSegment(startingAt start: Int) -> LaneSegment? {
    guard Scalar.self == Float.self else { return nil }
    var end = start
    var hasConvolution = false
    while end < layers.count, let role = (layers[end] as? any LaneLayer)?.laneRole {
      if role.convolution && role.skipsInputGradient && end > start { break }
      hasConvolution = hasConvolution || role.convolution
      end += 1
    }
    guard hasConvolution, end - start >= 2 else { return nil }
    if let segment = segments.first(where: { $0.range == start..<end }) { return segment }
    let segment = LaneSegment(range: start..<end, layers: layers[start..<end].map { $0 as! any LaneLayer })
    segments.append(segment)
    return segment
  }
}

/// The `Float` sequential container models use.
public typealias Sequential = SequentialOf<Float>
