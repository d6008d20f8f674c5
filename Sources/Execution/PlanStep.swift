import NN
import TensorCore

/// What goes into a plan, in order.
public enum PlanPart {
  /// Layers, run in order (a `Sequential` is opened into its layers).
  case layers([any Layer<Float>])
  /// A named boundary where passes may start or stop: the codes between encoder and decoder,
  /// the frozen encoder's output before a classifier's head.
  case mark(String)
  /// A step between encoder and decoder that is not a layer (the VAE's sampling).
  case latent(any LatentStep)
}

/// How a boundary's values are laid out.
enum PlanLayout {
  /// Row-major `[rows, width]` (NCHW for images): what layers take and give.
  case rows
  /// Lane groups `[groups][C][H][W][8]`, eight images innermost: what the convolution kernels
  /// take. A partial last group has zeros in its unused lanes.
  case lanes
}

/// One step of a plan, from boundary `i` to boundary `i + 1`.
enum PlanStep {
  /// Rows to lanes (the start of a run of convolutions).
  case toLanes
  /// Lanes to rows.
  case fromLanes
  /// A `Conv2d` or `ConvTranspose2d` on lanes, with the layer's parameters.
  case convolution(LaneConvolution, weight: ParameterOf<Float>, bias: ParameterOf<Float>?)
  /// A `Linear` on rows.
  case linear(Linear)
  /// `ReLU`, written over its input unless that is a pass's input.
  case relu
  /// `Sigmoid`, written over its input unless that is a pass's input.
  case sigmoid
  /// `Flatten` or `Unflatten`: the same scalars under another shape.
  case reshape
  /// A model's own step on rows.
  case latent(any LatentStep)

  /// Whether the step writes its output over its input.
  var isInPlace: Bool {
    switch self {
    case .relu, .sigmoid: return true
    default: return false
    }
  }

  /// Whether the step only converts between layouts.
  var isConversion: Bool {
    switch self {
    case .toLanes, .fromLanes: return true
    default: return false
    }
  }

  /// The trainable parameters the step updates.
  var parameters: [ParameterOf<Float>] {
    switch self {
    case .convolution(_, let weight, let bias): return [weight] + (bias.map { [$0] } ?? [])
    case .linear(let linear): return linear.namedParameters.map(\.parameter)
    case .latent(let step): return step.parameters
    default: return []
    }
  }
}

/// The steps and boundaries of a plan, compiled from its parts for one input item shape.
struct PlanLayoutTable {
  var steps: [PlanStep] = []
  /// Each boundary's item shape (without the batch dimension) and layout.
  var shapes: [[Int]]
  var layouts: [PlanLayout]
  var marks: [String: Int] = [:]

  /// Compiles `parts` for inputs of item shape `inputShape`.
  /// - Throws: `PlanError.unsupportedLayer` naming the first layer the plan cannot run.
  init(_ parts: [PlanPart], inputShape: [Int]) throws {
    shapes = [inputShape]
    layouts = [.rows]
    for part in parts {
      switch part {
      case .layers(let layers): for layer in layers { try add(layer) }
      case .mark(let name):
        toRows()
        marks[name] = shapes.count - 1
      case .latent(let step):
        toRows()
        guard width == step.inputWidth else {
          throw PlanError.unsupportedLayer(
            layer: step.description, reason: "it takes rows of \(step.inputWidth), the plan gives \(shapes.last!)")
        }
        append(.latent(step), shape: [step.outputWidth], layout: .rows)
      }
    }
    toRows()
  }

  private var width: Int { shapes.last!.reduce(1, *) }

  private mutating func append(_ step: PlanStep, shape: [Int], layout: PlanLayout) {
    steps.append(step)
    shapes.append(shape)
    layouts.append(layout)
  }

  private mutating func toRows() {
    if layouts.last == .lanes { append(.fromLanes, shape: shapes.last!, layout: .rows) }
  }

  private mutating func add(_ layer: any Layer<Float>) throws {
    let shape = shapes.last!
    func outputShape() throws -> [Int] { Array(try layer.outputShape(for: [1] + shape).dropFirst()) }
    switch layer {
    case let sequential as Sequential:
      for inner in sequential.layers { try add(inner) }
    case let conv as Conv2d:
      try addConvolution(
        layer, kernelSize: conv.kernelSize, stride: conv.stride, padding: conv.padding, transposed: false,
        weight: conv.weight, bias: conv.bias)
    case let conv as ConvTranspose2d:
      try addConvolution(
        layer, kernelSize: conv.kernelSize, stride: conv.stride, padding: conv.padding, transposed: true,
        weight: conv.weight, bias: conv.bias)
    case let linear as Linear:
      toRows()
      append(.linear(linear), shape: try outputShape(), layout: .rows)
    case is ReLU:
      append(.relu, shape: shape, layout: layouts.last!)
    case is Sigmoid:
      append(.sigmoid, shape: shape, layout: layouts.last!)
    case is Flatten, is Unflatten:
      toRows()
      append(.reshape, shape: try outputShape(), layout: .rows)
    default:
      throw PlanError.unsupportedLayer(layer: layer.description, reason: "no plan step runs this layer type")
    }
  }

  private mutating func addConvolution(
    _ layer: any Layer<Float>, kernelSize: Int, stride: Int, padding: Int, transposed: Bool,
    weight: ParameterOf<Float>, bias: ParameterOf<Float>?
  ) throws {
    guard kernelSize <= LaneConvolution.maximumKernelSize else {
      throw PlanError.unsupportedLayer(
        layer: layer.description,
        reason: "kernel size \(kernelSize) is larger than the lane kernels take (\(LaneConvolution.maximumKernelSize))")
    }
    let input = shapes.last!
    let output = Array(try layer.outputShape(for: [1] + input).dropFirst())
    if layouts.last == .rows { append(.toLanes, shape: input, layout: .lanes) }
    let plan = LaneConvolution(
      inputChannels: input[0], outputChannels: output[0], kernelSize: kernelSize, stride: stride, padding: padding,
      inputSize: (input[1], input[2]), outputSize: (output[1], output[2]), transposed: transposed)
    append(.convolution(plan, weight: weight, bias: bias), shape: output, layout: .lanes)
  }
}
