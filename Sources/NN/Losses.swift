import CKernels
import TensorCore

/// How a loss reduces its per-element terms.
public enum LossReduction: String, Codable, Sendable {
  /// The mean over every element (PyTorch's `reduction='mean'`).
  case mean
  /// The sum over every element (PyTorch's `reduction='sum'`; the seed report writes this).
  case sum
  /// The sum over each item's elements, averaged over the batch (per-image loss).
  case batchMean
}

/// A problem with a loss's inputs.
public enum LossError: Error, CustomStringConvertible, Equatable {
  case shapeMismatch(loss: String, expected: String, given: [Int])
  case labelOutOfRange(loss: String, label: Int, classes: Int)

  public var description: String {
    switch self {
    case .labelOutOfRange(let loss, let label, let classes):
      return "\(loss): label \(label) is outside 0..<\(classes)"
    case .shapeMismatch(let loss, let expected, let given):
      return "\(loss): expected \(expected), given \(given)"
    }
  }
}

/// The divisor of a reduction over `shape` (`[N, ...]`).
@inlinable
func reductionScale(_ reduction: LossReduction, shape: [Int]) -> Double {
  switch reduction {
  case .mean: return 1 / Double(max(1, shape.reduce(1, *)))
  case .sum: return 1
  case .batchMean: return 1 / Double(max(1, shape.first ?? 1))
  }
}

/// Mean squared error, as PyTorch's `nn.MSELoss`: `L = scale · Σ (ŷ − y)²` with `scale` =
/// 1/elements (`mean`), 1 (`sum`) or 1/N (`batchMean`); `∂L/∂ŷ = 2 · scale · (ŷ − y)`.
/// The loss is accumulated in `Double`.
public struct MSELoss: Sendable {
  public var reduction: LossReduction

  public init(reduction: LossReduction = .mean) { self.reduction = reduction }

  /// The loss, and its gradient with respect to `prediction` written into `gradient`
  /// (resized only when its shape differs).
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  public func callAsFunction<T: BLASScalar>(
    _ prediction: TensorOf<T>, _ target: TensorOf<T>, gradient: inout TensorOf<T>
  ) throws -> Double {
    guard prediction.shape == target.shape else {
      throw LossError.shapeMismatch(loss: "MSELoss", expected: "a target of shape \(prediction.shape)", given: target.shape)
    }
    gradient.ensureShape(prediction.shape)
    let scale = reductionScale(reduction, shape: prediction.shape)
    var total = 0.0
    prediction.withUnsafeBufferPointer { p in
      target.withUnsafeBufferPointer { t in
        gradient.withUnsafeMutableBufferPointer { d in
          guard let ps = p.baseAddress else { return }
          total = Self.squaredErrorSum(ps, t.baseAddress!, count: p.count, scale: scale, gradient: d.baseAddress!)
        }
      }
    }
    return total * scale
  }

  /// `Σ (ŷ − y)²` over `count` elements in `Double`, and the gradient `2 · scale · (ŷ − y)`
  /// written into `gradient`: the loss of a part of a batch whose `scale` is the whole batch's
  /// (a chunk of an execution plan). The loss is this sum times `scale`, over all parts.
  ///
  /// Summation order: element i goes into partial sum `i mod 8`, each partial in element order,
  /// and the partials are added as `((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))`. Plain
  /// IEEE operations in a fixed order, so the same bits on every CPU and path (for `Float`, the
  /// kernel `latentlab_squared_error_sum`, eight elements at a time where AVX2 runs); eight
  /// chains of additions in flight instead of one, and a smaller rounding error than one
  /// running sum.
  @inlinable
  public static func squaredErrorSum<T: BLASScalar>(
    _ prediction: UnsafePointer<T>, _ target: UnsafePointer<T>, count: Int, scale: Double,
    gradient: UnsafeMutablePointer<T>
  ) -> Double {
    let g = T(2 * scale)
    if T.self == Float.self {
      return prediction.withMemoryRebound(to: Float.self, capacity: count) { p in
        target.withMemoryRebound(to: Float.self, capacity: count) { t in
          gradient.withMemoryRebound(to: Float.self, capacity: count) { d in
            latentlab_squared_error_sum(p, t, count, Float(2 * scale), d, InstructionSet.usesAVX2Kernels ? 1 : 0)
          }
        }
      }
    }
    var sums = SIMD8<Double>()
    for i in 0..<count {
      let d = prediction[i] - target[i]
      gradient[i] = g * d
      sums[i & 7] += Double(d) * Double(d)
    }
    return ((sums[0] + sums[1]) + (sums[2] + sums[3])) + ((sums[4] + sums[5]) + (sums[6] + sums[7]))
  }
}

/// Cross-entropy over logits, as PyTorch's `nn.CrossEntropyLoss` (mean over the batch):
/// `L = −(1/N) Σ_n log softmax(z_n)[y_n]`, with the log-softmax computed stably as
/// `z − max z − log Σ exp(z − max z)`; `∂L/∂z = (softmax(z) − onehot(y)) / N`.
public struct CrossEntropyLoss: Sendable {
  public init() {}

  /// The loss for logits `[N, C]` and labels in `0..<C`, with the gradient written into
  /// `gradient`.
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  public func callAsFunction<T: BLASScalar>(
    _ logits: TensorOf<T>, _ labels: [Int32], gradient: inout TensorOf<T>
  ) throws -> Double {
    guard logits.rank == 2, logits.shape[0] == labels.count else {
      throw LossError.shapeMismatch(
        loss: "CrossEntropyLoss", expected: "logits [N, C] with N = \(labels.count) labels", given: logits.shape)
    }
    let (n, c) = (logits.shape[0], logits.shape[1])
    if let bad = labels.first(where: { $0 < 0 || Int($0) >= c }) {
      throw LossError.labelOutOfRange(loss: "CrossEntropyLoss", label: Int(bad), classes: c)
    }
    return compute(logits, labels, n: n, c: c, gradient: &gradient)
  }

  private func compute<T: BLASScalar>(_ logits: TensorOf<T>, _ labels: [Int32], n: Int, c: Int, gradient: inout TensorOf<T>) -> Double {
    gradient.ensureShape(logits.shape)
    var total = 0.0
    logits.withUnsafeBufferPointer { z in
      gradient.withUnsafeMutableBufferPointer { d in
        labels.withUnsafeBufferPointer { l in
          total = Self.negativeLogLikelihoodSum(
            z.baseAddress!, labels: l.baseAddress!, rows: n, classes: c, scale: 1 / Double(n), gradient: d.baseAddress!)
        }
      }
    }
    return total * (1 / Double(n))
  }

  /// `−Σ log softmax(z)[label]` over `rows` rows of logits `[rows, classes]` (labels already
  /// checked to lie in `0..<classes`), accumulated in `Double` in row order, and the gradient
  /// `scale · (softmax(z) − onehot(label))` written into `gradient`: the loss of a part of a
  /// batch whose `scale` is the whole batch's `1/N`. The loss is this sum times `scale`.
  @inlinable
  public static func negativeLogLikelihoodSum<T: BLASScalar>(
    _ logits: UnsafePointer<T>, labels: UnsafePointer<Int32>, rows: Int, classes c: Int, scale: Double,
    gradient: UnsafeMutablePointer<T>
  ) -> Double {
    var total = 0.0
    for row in 0..<rows {
      let zr = logits + row * c
      let dr = gradient + row * c
      var m = Double(zr[0])
      for j in 1..<max(c, 1) { m = max(m, Double(zr[j])) }
      var sum = 0.0
      for j in 0..<c { sum += Double.exp(Double(zr[j]) - m) }
      let logSum = Double.log(sum)
      let label = Int(labels[row])
      total -= Double(zr[label]) - m - logSum
      for j in 0..<c {
        let softmax = Double.exp(Double(zr[j]) - m - logSum)
        dr[j] = T((softmax - (j == label ? 1 : 0)) * scale)
      }
    }
    return total
  }
}

/// The KL divergence of N(μ, σ²) from the standard normal N(0, 1), per latent coordinate
/// `−½ (1 + log σ² − μ² − σ²)` (Kingma and Welling, "Auto-Encoding Variational Bayes", 2014,
/// Appendix B), from `mu` and `logVariance` of shape `[N, L]`, reduced by `reduction`
/// (`batchMean`: summed over the latent, averaged over the batch, the usual per-image KL).
/// Gradients: `∂/∂μ = scale · μ`, `∂/∂ log σ² = scale · ½ (σ² − 1)`.
public struct GaussianKLDivergence: Sendable {
  public var reduction: LossReduction

  public init(reduction: LossReduction = .batchMean) { self.reduction = reduction }

  /// The divergence, with its gradients written into `dMu` and `dLogVariance`.
  @_specialize(where T == Float)
  @_specialize(where T == Double)
  public func callAsFunction<T: BLASScalar>(
    mu: TensorOf<T>, logVariance: TensorOf<T>, dMu: inout TensorOf<T>, dLogVariance: inout TensorOf<T>
  ) throws -> Double {
    guard mu.shape == logVariance.shape else {
      throw LossError.shapeMismatch(
        loss: "GaussianKLDivergence", expected: "log-variance of the shape of mu, \(mu.shape)", given: logVariance.shape)
    }
    dMu.ensureShape(mu.shape)
    dLogVariance.ensureShape(mu.shape)
    let scale = reductionScale(reduction, shape: mu.shape)
    var total = 0.0
    mu.withUnsafeBufferPointer { m in
      logVariance.withUnsafeBufferPointer { lv in
        dMu.withUnsafeMutableBufferPointer { dm in
          dLogVariance.withUnsafeMutableBufferPointer { dlv in
            for i in 0..<m.count {
              let (mi, li) = (Double(m[i]), Double(lv[i]))
              let variance = Double.exp(li)
              total += -0.5 * (1 + li - mi * mi - variance)
              dm[i] = T(scale * mi)
              dlv[i] = T(scale * 0.5 * (variance - 1))
            }
          }
        }
      }
    }
    return total * scale
  }
}
