import CKernels
import TensorCore

/// A problem restoring an optimizer's state.
public enum OptimizerError: Error, CustomStringConvertible, Equatable {
  case invalidHyperparameter(optimizer: String, name: String, value: Double, expected: String)
  case stateMismatch(optimizer: String, parameter: String, reason: String)

  public var description: String {
    switch self {
    case .invalidHyperparameter(let optimizer, let name, let value, let expected):
      return "\(optimizer): \(name) = \(value), expected \(expected)"
    case .stateMismatch(let optimizer, let parameter, let reason):
      return "\(optimizer): state of \(parameter): \(reason)"
    }
  }
}

/// An optimizer's state, by parameter name, in PyTorch's terms (`exp_avg`, `exp_avg_sq`,
/// `momentum_buffer`, `square_avg`, and `step` per parameter): what a checkpoint saves and
/// `--resume` restores.
public struct OptimizerState: Equatable {
  /// Per parameter name: buffer name → tensor.
  public var buffers: [String: [String: Tensor]]
  /// Per parameter name: the number of steps taken.
  public var steps: [String: Int]

  public init(buffers: [String: [String: Tensor]] = [:], steps: [String: Int] = [:]) {
    self.buffers = buffers
    self.steps = steps
  }
}

/// Updates named parameters from their gradients.
///
/// `weight_decay` is classic L2 regularisation, added to the gradient before the update
/// (`g ← g + λ·θ`), as PyTorch's SGD, Adam and RMSprop apply it (not AdamW's decoupled
/// decay). Frozen parameters are skipped.
public protocol Optimizer: AnyObject {
  /// The parameters, in their stable order.
  var parameters: [NamedParameter<Float>] { get }
  /// One update of every unfrozen parameter from its gradient.
  func step()
  /// The state, for checkpoints.
  var state: OptimizerState { get }
  /// Restores a saved state. - Throws: `OptimizerError.stateMismatch` for unknown names or
  /// wrong shapes.
  func restore(_ state: OptimizerState) throws
}

extension Optimizer {
  /// Sets every parameter's gradient to zero.
  public func zeroGradients() { for p in parameters { p.parameter.zeroGradient() } }
}

/// Shared bookkeeping: per-parameter buffers and step counts, kept by index.
public class BufferedOptimizer {
  public let parameters: [NamedParameter<Float>]
  let bufferNames: [String]
  var buffers: [[Tensor]]  // [parameter][buffer]
  var steps: [Int]
  let name: String

  init(name: String, parameters: [NamedParameter<Float>], bufferNames: [String]) {
    self.name = name
    self.parameters = parameters
    self.bufferNames = bufferNames
    buffers = parameters.map { p in bufferNames.map { _ in Tensor.zeros(p.parameter.value.shape) } }
    steps = [Int](repeating: 0, count: parameters.count)
  }

  /// The state by parameter name.
  public var state: OptimizerState {
    var result = OptimizerState()
    for (i, p) in parameters.enumerated() {
      result.steps[p.name] = steps[i]
      result.buffers[p.name] = Dictionary(uniqueKeysWithValues: zip(bufferNames, buffers[i]))
    }
    return result
  }

  /// Restores a state saved from an optimizer of the same kind over the same parameters.
  public func restore(_ state: OptimizerState) throws {
    var newBuffers = buffers
    var newSteps = steps
    for (i, p) in parameters.enumerated() {
      guard let saved = state.buffers[p.name], let step = state.steps[p.name] else {
        throw OptimizerError.stateMismatch(optimizer: name, parameter: p.name, reason: "missing from the saved state")
      }
      for (j, b) in bufferNames.enumerated() {
        guard let t = saved[b] else {
          throw OptimizerError.stateMismatch(optimizer: name, parameter: p.name, reason: "no buffer '\(b)'")
        }
        guard t.shape == p.parameter.value.shape else {
          throw OptimizerError.stateMismatch(
            optimizer: name, parameter: p.name,
            reason: "buffer '\(b)' has shape \(t.shape), the parameter \(p.parameter.value.shape)")
        }
        newBuffers[i][j] = t
      }
      newSteps[i] = step
    }
    let known = Set(parameters.map(\.name))
    if let extra = state.buffers.keys.sorted().first(where: { !known.contains($0) }) {
      throw OptimizerError.stateMismatch(optimizer: name, parameter: extra, reason: "not a parameter of this model")
    }
    buffers = newBuffers
    steps = newSteps
  }

  /// Lends buffers `0` and `1` of parameter `i` to `body` as separate `inout` tensors (moved
  /// out and back, so there is no copy and no overlapping access to `buffers`).
  func withBuffers(_ i: Int, _ body: (inout Tensor, inout Tensor) -> Void) {
    var first = Tensor.zeros([0])
    var second = Tensor.zeros([0])
    swap(&first, &buffers[i][0])
    swap(&second, &buffers[i][1])
    body(&first, &second)
    swap(&first, &buffers[i][0])
    swap(&second, &buffers[i][1])
  }

  static func check(_ optimizer: String, _ name: String, _ value: Double, _ ok: Bool, _ expected: String) throws {
    guard ok, value.isFinite else {
      throw OptimizerError.invalidHyperparameter(optimizer: optimizer, name: name, value: value, expected: expected)
    }
  }
}

/// Stochastic gradient descent with optional momentum, as PyTorch's `optim.SGD`
/// (dampening 0, no Nesterov): `g ← ∇ + λθ`; with momentum `b ← g` on the first step, then
/// `b ← μ·b + g`, `g ← b`; `θ ← θ − lr·g`.
public final class SGD: BufferedOptimizer, Optimizer {
  public let learningRate: Float
  public let momentum: Float
  public let weightDecay: Float

  /// - Throws: `OptimizerError.invalidHyperparameter` for a non-positive learning rate or a
  ///   negative momentum or weight decay.
  public init(parameters: [NamedParameter<Float>], learningRate: Float, momentum: Float = 0, weightDecay: Float = 0) throws {
    try BufferedOptimizer.check("SGD", "lr", Double(learningRate), learningRate > 0, "> 0")
    try BufferedOptimizer.check("SGD", "momentum", Double(momentum), momentum >= 0, ">= 0")
    try BufferedOptimizer.check("SGD", "weight_decay", Double(weightDecay), weightDecay >= 0, ">= 0")
    self.learningRate = learningRate
    self.momentum = momentum
    self.weightDecay = weightDecay
    super.init(name: "SGD", parameters: parameters, bufferNames: momentum > 0 ? ["momentum_buffer"] : [])
  }

  public func step() {
    for (i, named) in parameters.enumerated() where !named.parameter.isFrozen {
      let p = named.parameter
      let first = steps[i] == 0
      steps[i] += 1
      let (lr, mu, wd) = (learningRate, momentum, weightDecay)
      p.gradient.withUnsafeBufferPointer { g in
        p.value.withUnsafeMutableBufferPointer { theta in
          if mu > 0 {
            buffers[i][0].withUnsafeMutableBufferPointer { b in
              for j in 0..<g.count {
                let grad = g[j] + wd * theta[j]
                b[j] = first ? grad : mu * b[j] + grad
                theta[j] -= lr * b[j]
              }
            }
          } else {
            for j in 0..<g.count { theta[j] -= lr * (g[j] + wd * theta[j]) }
          }
        }
      }
    }
  }
}

/// Adam (Kingma and Ba, 2015), as PyTorch's `optim.Adam` (amsgrad off) with classic L2:
/// `g ← ∇ + λθ`, `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
/// `θ ← θ − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε)`. This is not AdamW.
public final class Adam: BufferedOptimizer, Optimizer {
  public let learningRate: Float
  public let beta1: Float
  public let beta2: Float
  public let epsilon: Float
  public let weightDecay: Float

  /// - Throws: `OptimizerError.invalidHyperparameter` for values outside PyTorch's ranges.
  public init(
    parameters: [NamedParameter<Float>], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
    epsilon: Float = 1e-8, weightDecay: Float = 0
  ) throws {
    try BufferedOptimizer.check("Adam", "lr", Double(learningRate), learningRate > 0, "> 0")
    try BufferedOptimizer.check("Adam", "beta1", Double(beta1), beta1 >= 0 && beta1 < 1, "in [0, 1)")
    try BufferedOptimizer.check("Adam", "beta2", Double(beta2), beta2 >= 0 && beta2 < 1, "in [0, 1)")
    try BufferedOptimizer.check("Adam", "eps", Double(epsilon), epsilon >= 0, ">= 0")
    try BufferedOptimizer.check("Adam", "weight_decay", Double(weightDecay), weightDecay >= 0, ">= 0")
    self.learningRate = learningRate
    self.beta1 = beta1
    self.beta2 = beta2
    self.epsilon = epsilon
    self.weightDecay = weightDecay
    super.init(name: "Adam", parameters: parameters, bufferNames: ["exp_avg", "exp_avg_sq"])
  }

  public func step() {
    for (i, named) in parameters.enumerated() where !named.parameter.isFrozen {
      let p = named.parameter
      steps[i] += 1
      let t = Double(steps[i])
      let biasCorrection1 = 1 - RepeatableMath.pow(Double(beta1), t)
      let biasCorrection2 = 1 - RepeatableMath.pow(Double(beta2), t)
      let stepSize = Float(Double(learningRate) / biasCorrection1)
      let correction2Root = Float(biasCorrection2.squareRoot())
      let (b1, b2, eps, wd) = (beta1, beta2, epsilon, weightDecay)
      p.gradient.withUnsafeBufferPointer { g in
        p.value.withUnsafeMutableBufferPointer { theta in
          withBuffers(i) { expAvg, expAvgSq in
            expAvg.withUnsafeMutableBufferPointer { m in
              expAvgSq.withUnsafeMutableBufferPointer { v in
                guard avx2KernelsAvailable, let gp = g.baseAddress else {
                  for j in 0..<g.count {
                    let grad = g[j] + wd * theta[j]
                    m[j] = b1 * m[j] + (1 - b1) * grad
                    v[j] = b2 * v[j] + (1 - b2) * grad * grad
                    let denominator = v[j].squareRoot() / correction2Root + eps
                    theta[j] -= stepSize * m[j] / denominator
                  }
                  return
                }
                // The same operations eight at a time (bit-identical; tested).
                latentlab_adam_update(
                  gp, theta.baseAddress!, m.baseAddress!, v.baseAddress!, g.count, b1, b2, eps, wd, stepSize,
                  correction2Root)
              }
            }
          }
        }
      }
    }
  }
}

/// RMSprop (Hinton's lecture 6e), as PyTorch's `optim.RMSprop` (not centered):
/// `g ← ∇ + λθ`, `s ← αs + (1−α)g²`; without momentum `θ ← θ − lr·g / (√s + ε)`; with
/// momentum `b ← μb + g / (√s + ε)`, `θ ← θ − lr·b`. PyTorch's defaults: α = 0.99, ε = 1e-8.
public final class RMSprop: BufferedOptimizer, Optimizer {
  public let learningRate: Float
  public let alpha: Float
  public let epsilon: Float
  public let momentum: Float
  public let weightDecay: Float

  /// - Throws: `OptimizerError.invalidHyperparameter` for values outside PyTorch's ranges.
  public init(
    parameters: [NamedParameter<Float>], learningRate: Float = 1e-2, alpha: Float = 0.99, epsilon: Float = 1e-8,
    momentum: Float = 0, weightDecay: Float = 0
  ) throws {
    try BufferedOptimizer.check("RMSprop", "lr", Double(learningRate), learningRate > 0, "> 0")
    try BufferedOptimizer.check("RMSprop", "alpha", Double(alpha), alpha >= 0 && alpha < 1, "in [0, 1)")
    try BufferedOptimizer.check("RMSprop", "eps", Double(epsilon), epsilon >= 0, ">= 0")
    try BufferedOptimizer.check("RMSprop", "momentum", Double(momentum), momentum >= 0, ">= 0")
    try BufferedOptimizer.check("RMSprop", "weight_decay", Double(weightDecay), weightDecay >= 0, ">= 0")
    self.learningRate = learningRate
    self.alpha = alpha
    self.epsilon = epsilon
    self.momentum = momentum
    self.weightDecay = weightDecay
    super.init(
      name: "RMSprop", parameters: parameters, bufferNames: momentum > 0 ? ["square_avg", "momentum_buffer"] : ["square_avg"])
  }

  public func step() {
    for (i, named) in parameters.enumerated() where !named.parameter.isFrozen {
      let p = named.parameter
      steps[i] += 1
      let (lr, a, eps, mu, wd) = (learningRate, alpha, epsilon, momentum, weightDecay)
      p.gradient.withUnsafeBufferPointer { g in
        p.value.withUnsafeMutableBufferPointer { theta in
          if mu > 0 {
            withBuffers(i) { squareAvg, momentumBuffer in
              squareAvg.withUnsafeMutableBufferPointer { s in
                momentumBuffer.withUnsafeMutableBufferPointer { b in
                  for j in 0..<g.count {
                    let grad = g[j] + wd * theta[j]
                    s[j] = a * s[j] + (1 - a) * grad * grad
                    b[j] = mu * b[j] + grad / (s[j].squareRoot() + eps)
                    theta[j] -= lr * b[j]
                  }
                }
              }
            }
          } else {
            buffers[i][0].withUnsafeMutableBufferPointer { s in
              for j in 0..<g.count {
                let grad = g[j] + wd * theta[j]
                s[j] = a * s[j] + (1 - a) * grad * grad
                theta[j] -= lr * grad / (s[j].squareRoot() + eps)
              }
            }
          }
        }
      }
    }
  }
}

#if canImport(Glibc)
  import Glibc
#endif

/// Whether this CPU has AVX2 and FMA for `CKernels`' Adam update (checked once; without them
/// Adam runs the same operations one at a time, bit for bit the same).
let avx2KernelsAvailable = InstructionSet.usesAVX2Kernels
