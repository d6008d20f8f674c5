import Execution
import NN
import TensorCore

/// The VAE's step between encoder and decoder, as a plan runs it: the posterior heads
/// `μ = features · W_μᵀ + b_μ` and `log σ² = features · W_σᵀ + b_σ`, then in training the
/// reparameterised sample `v = μ + exp(½ log σ²) · ε` and the KL divergence
/// `−½ Σ (1 + log σ² − μ² − σ²)` as its loss share; in evaluation the mean `μ`.
///
/// ε is drawn for the whole batch before its chunks run (`beginPass`), `[N, latent]` in row
/// order from the `noise` stream: the draws do not depend on the chunking or the thread count.
/// Backward: `∂v/∂μ = 1`, `∂v/∂log σ² = ½ σ ε`, plus `klWeight` times the KL's gradient with
/// the batch mean (`GaussianKLDivergence`'s `batchMean`).
final class GaussianSampling: LatentStep {
  let muHead: Linear
  let logVarianceHead: Linear
  /// The `noise` stream that draws ε.
  var noise: SeededGenerator
  /// β / klDivisor: the KL term's weight against the mean-pixel reconstruction error.
  let klWeight: Float
  private let latent: Int
  private var batch = 0
  // [N, latent] each, for the whole batch: the heads' weight gradients read them after the chunks.
  private let mu = AlignedBuffer()
  private let logVariance = AlignedBuffer()
  private let epsilon = AlignedBuffer()
  private let muGradient = AlignedBuffer()
  private let logVarianceGradient = AlignedBuffer()

  init(muHead: Linear, logVarianceHead: Linear, noise: SeededGenerator, klWeight: Float) {
    self.muHead = muHead
    self.logVarianceHead = logVarianceHead
    self.noise = noise
    self.klWeight = klWeight
    latent = muHead.outputFeatures
  }

  var description: String { "Gaussian sampling (\(muHead.inputFeatures) → μ, log σ² of \(latent))" }
  var inputWidth: Int { muHead.inputFeatures }
  var outputWidth: Int { latent }
  var parameters: [ParameterOf<Float>] { (muHead.namedParameters + logVarianceHead.namedParameters).map(\.parameter) }

  func beginPass(batch n: Int, training: Bool) {
    batch = n
    muHead.packForward()
    logVarianceHead.packForward()
    let count = n * latent
    for buffer in [mu, logVariance, epsilon, muGradient, logVarianceGradient] { buffer.reserve(count) }
    guard training else { return }
    for i in 0..<count { epsilon.pointer[i] = Float(noise.nextNormal()) }
  }

  func forwardRows(_ rows: Range<Int>, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, training: Bool)
    -> Double
  {
    let offset = rows.lowerBound * latent
    let count = rows.count * latent
    let (m, lv, e) = (mu.pointer + offset, logVariance.pointer + offset, epsilon.pointer + offset)
    muHead.forwardRows(input, rows: rows.count, into: m)
    logVarianceHead.forwardRows(input, rows: rows.count, into: lv)
    guard training else {
      output.update(from: m, count: count)
      return 0
    }
    var divergence = 0.0
    for q in 0..<count {
      output[q] = m[q] + Float.exp(0.5 * lv[q]) * e[q]
      let (mq, lq) = (Double(m[q]), Double(lv[q]))
      divergence += -0.5 * (1 + lq - mq * mq - Double.exp(lq))
    }
    return divergence
  }

  func backwardRows(_ rows: Range<Int>, outputGradient dv: UnsafePointer<Float>, inputGradient dx: UnsafeMutablePointer<Float>?) {
    let offset = rows.lowerBound * latent
    let count = rows.count * latent
    let (m, lv, e) = (mu.pointer + offset, logVariance.pointer + offset, epsilon.pointer + offset)
    let (dm, dl) = (muGradient.pointer + offset, logVarianceGradient.pointer + offset)
    let scale = 1 / Double(max(1, batch))
    for q in 0..<count {
      let klMu = Float(scale * Double(m[q]))
      let klLogVariance = Float(scale * 0.5 * (Double.exp(Double(lv[q])) - 1))
      dm[q] = dv[q] + klWeight * klMu
      dl[q] = dv[q] * 0.5 * Float.exp(0.5 * lv[q]) * e[q] + klWeight * klLogVariance
    }
    guard let dx else { return }
    // dx = dμ · W_μ + dlog σ² · W_σ: the second GEMM adds to the first's result.
    let hidden = muHead.inputFeatures
    muHead.weight.value.withUnsafeBufferPointer { wm in
      logVarianceHead.weight.value.withUnsafeBufferPointer { wl in
        if DenseProduct.applies(to: Float.self) {
          // One chain per element through both products: dμ's terms, then dlog σ²'s.
          DenseProduct.multiply(
            dm, rowStep: latent, depthStep: 1, wm.baseAddress!, ldb: hidden, into: dx, ldc: hidden, m: rows.count,
            n: hidden, k: latent, accumulate: false)
          DenseProduct.multiply(
            dl, rowStep: latent, depthStep: 1, wl.baseAddress!, ldb: hidden, into: dx, ldc: hidden, m: rows.count,
            n: hidden, k: latent, accumulate: true)
          return
        }
        Float.gemm(
          transposeA: false, transposeB: false, m: rows.count, n: hidden, k: latent, alpha: 1, a: dm, lda: latent,
          b: wm.baseAddress!, ldb: hidden, beta: 0, c: dx, ldc: hidden)
        Float.gemm(
          transposeA: false, transposeB: false, m: rows.count, n: hidden, k: latent, alpha: 1, a: dl, lda: latent,
          b: wl.baseAddress!, ldb: hidden, beta: 1, c: dx, ldc: hidden)
      }
    }
  }

  func endBackward(input: UnsafePointer<Float>, batch n: Int) {
    muHead.accumulateParameterGradients(outputGradient: muGradient.pointer, input: input, batch: n)
    logVarianceHead.accumulateParameterGradients(outputGradient: logVarianceGradient.pointer, input: input, batch: n)
  }

  /// The log-variances of the last pass's rows, `[n, latent]` (after an evaluation forward pass).
  func lastLogVariance(rows n: Int) -> Tensor {
    Tensor(shape: [n, latent], scalars: Array(UnsafeBufferPointer(start: logVariance.pointer, count: n * latent)))
  }
}
