import CKernels
import TensorCore

/// A fully connected layer, as PyTorch's `nn.Linear`: `y = x · weightᵀ + bias`.
///
/// Shapes: `x [N, in] → y [N, out]`. Parameters: `weight [out, in]`, `bias [out]`.
/// Rows are processed in fixed chunks; the weight gradient is reduced chunk by chunk in order.
public final class LinearOf<Scalar: BLASScalar>: Layer {
  public let inputFeatures: Int
  public let outputFeatures: Int
  public let weight: ParameterOf<Scalar>
  public let bias: ParameterOf<Scalar>?
  public var parallel = DeterministicParallel(threads: 1)
  /// Whether `backward` computes the input gradient.
  public var computesInputGradient = true

  private var input = TensorOf<Scalar>.zeros([0])  // a copy: the caller may reuse its buffer
  private var output = TensorOf<Scalar>.zeros([0])
  private var inputGradient = TensorOf<Scalar>.zeros([0])
  // Stable addresses: the chunks of a parallel region write their partials through them.
  private let weightPartials = PartialsBuffer<Scalar>()
  private let biasPartials = PartialsBuffer<Scalar>()
  /// The weight transposed, `[in, out]`, for the dense kernel's forward product (`packForward`).
  private let packedWeight = PartialsBuffer<Scalar>()
  private var hasForward = false

  /// A linear layer with PyTorch's default initialisation (fan_in = `inputFeatures`).
  /// - Throws: `LayerError.invalidConfiguration` for non-positive sizes.
  public init(inputFeatures: Int, outputFeatures: Int, bias: Bool = true, generator: inout SeededGenerator) throws {
    guard inputFeatures > 0, outputFeatures > 0 else {
      throw LayerError.invalidConfiguration(
        layer: "Linear(in_features=\(inputFeatures), out_features=\(outputFeatures))", reason: "sizes must be positive")
    }
    self.inputFeatures = inputFeatures
    self.outputFeatures = outputFeatures
    weight = ParameterOf(
      DefaultInitialization.uniform(shape: [outputFeatures, inputFeatures], fanIn: inputFeatures, generator: &generator))
    self.bias = bias
      ? ParameterOf(DefaultInitialization.uniform(shape: [outputFeatures], fanIn: inputFeatures, generator: &generator))
      : nil
  }

  public var description: String {
    "Linear(in_features=\(inputFeatures), out_features=\(outputFeatures), bias=\(bias == nil ? "False" : "True"))"
  }

  public var namedParameters: [NamedParameter<Scalar>] {
    [NamedParameter(name: "weight", parameter: weight)]
      + (bias.map { [NamedParameter(name: "bias", parameter: $0)] } ?? [])
  }

  public func outputShape(for inputShape: [Int]) throws -> [Int] {
    guard inputShape.count == 2, inputShape[1] == inputFeatures else {
      throw LayerError.shapeMismatch(layer: description, expected: "[N, \(inputFeatures)]", given: inputShape)
    }
    return [inputShape[0], outputFeatures]
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forward(_ x: TensorOf<Scalar>) throws -> TensorOf<Scalar> {
    let outShape = try outputShape(for: x.shape)
    let n = x.shape[0]
    input.ensureShape(x.shape)
    output.ensureShape(outShape)
    let chunks = BatchChunking.denseChunkCount(n)
    let (fin, fout) = (inputFeatures, outputFeatures)
    packForward()
    x.withUnsafeBufferPointer { xb in
      input.withUnsafeMutableBufferPointer { ib in
        output.withUnsafeMutableBufferPointer { yb in
          let (xs, cached, ys) = (xb.baseAddress!, ib.baseAddress!, yb.baseAddress!)
          parallel.forEachChunk(count: n, chunks: chunks) { _, range in
            (cached + range.lowerBound * fin).update(from: xs + range.lowerBound * fin, count: range.count * fin)
            forwardRows(xs + range.lowerBound * fin, rows: range.count, into: ys + range.lowerBound * fout)
          }
        }
      }
    }
    hasForward = true
    return output
  }

  /// Prepares `forwardRows` for the current weights: with the dense kernel (`DenseProduct`),
  /// the weight transposed to `[in, out]`, so that the product walks rows. Called once per
  /// pass (by `forward`, by a plan's pass), after the weights last changed.
  package func packForward() {
    guard DenseProduct.applies(to: Scalar.self) else { return }
    packedWeight.reserve(inputFeatures * outputFeatures)
    weight.value.withUnsafeBufferPointer { wb in
      let source = UnsafeRawPointer(wb.baseAddress!).assumingMemoryBound(to: Float.self)
      let packed = UnsafeMutableRawPointer(packedWeight.pointer).assumingMemoryBound(to: Float.self)
      latentlab_transpose(source, Int32(outputFeatures), Int32(inputFeatures), packed)
    }
  }

  /// `y = x · Wᵀ + b` for `rows` rows: inputs `[rows, in]` at `xs`, outputs `[rows, out]` at
  /// `ys` (one product; each output the chain bias + Σ_k x_k·W_k in k order with the dense
  /// kernel, which needs `packForward` since the weights last changed).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  package func forwardRows(_ xs: UnsafePointer<Scalar>, rows: Int, into ys: UnsafeMutablePointer<Scalar>) {
    let (fin, fout) = (inputFeatures, outputFeatures)
    if DenseProduct.applies(to: Scalar.self) {
      withOptionalPointer(bias?.value) { biasPointer in
        if let biasPointer {
          for r in 0..<rows { (ys + r * fout).update(from: biasPointer, count: fout) }
        }
        DenseProduct.multiply(
          xs, rowStep: fin, depthStep: 1, packedWeight.pointer, ldb: fout, into: ys, ldc: fout, m: rows, n: fout,
          k: fin, accumulate: biasPointer != nil)
      }
      return
    }
    weight.value.withUnsafeBufferPointer { wb in
      withOptionalPointer(bias?.value) { biasPointer in
        if let biasPointer {
          for r in 0..<rows { (ys + r * fout).update(from: biasPointer, count: fout) }
        }
        Scalar.gemm(
          transposeA: false, transposeB: true, m: rows, n: fout, k: fin, alpha: 1, a: xs, lda: fin,
          b: wb.baseAddress!, ldb: fin, beta: biasPointer == nil ? 0 : 1, c: ys, ldc: fout)
      }
    }
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func backward(_ dy: TensorOf<Scalar>) throws -> TensorOf<Scalar> {
    guard hasForward, dy.shape == output.shape else { throw LayerError.backwardBeforeForward(layer: description) }
    let n = dy.shape[0]
    inputGradient.ensureShape(input.shape)
    let (fin, fout) = (inputFeatures, outputFeatures)
    dy.withUnsafeBufferPointer { dyb in
      input.withUnsafeBufferPointer { xb in
        let (dys, xs) = (dyb.baseAddress!, xb.baseAddress!)
        accumulateParameterGradients(outputGradient: dys, input: xs, batch: n)
        guard computesInputGradient else { return }
        inputGradient.withUnsafeMutableBufferPointer { dxb in
          let dxs = dxb.baseAddress!
          parallel.forEachChunk(count: n, chunks: BatchChunking.denseChunkCount(n)) { _, range in
            inputGradientRows(dys + range.lowerBound * fout, rows: range.count, into: dxs + range.lowerBound * fin)
          }
        }
      }
    }
    return inputGradient
  }

  /// Adds the weight gradient `dyᵀ · x` and the bias gradient (column sums of `dy`) over a
  /// batch of `n` rows (outputs' gradient `[n, out]` at `dys`, inputs `[n, in]` at `xs`) to the
  /// parameters' gradients, unless both are frozen: one GEMM partial per chunk of the even
  /// split (`BatchChunking.denseChunkCount`, in parallel), added in chunk order.
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  package func accumulateParameterGradients(outputGradient dys: UnsafePointer<Scalar>, input xs: UnsafePointer<Scalar>, batch n: Int) {
    guard !weight.isFrozen || !(bias?.isFrozen ?? true) else { return }
    let (fin, fout) = (inputFeatures, outputFeatures)
    let chunks = BatchChunking.denseChunkCount(n)
    weightPartials.reserve(chunks * fout * fin)
    biasPartials.reserve(chunks * fout)
    let (dw, db) = (weightPartials.pointer, biasPartials.pointer)
    let kernel = DenseProduct.applies(to: Scalar.self)
    parallel.forEachChunk(count: n, chunks: chunks) { c, range in
      let dyr = dys + range.lowerBound * fout
      if kernel {
        // dW[o][i] = Σ_r dy[r][o]·x[r][i]: A is dyᵀ (its rows one apart, its depth fout apart).
        DenseProduct.multiply(
          dyr, rowStep: 1, depthStep: fout, xs + range.lowerBound * fin, ldb: fin, into: dw + c * fout * fin, ldc: fin,
          m: fout, n: fin, k: range.count, accumulate: false)
      } else {
        Scalar.gemm(
          transposeA: true, transposeB: false, m: fout, n: fin, k: range.count, alpha: 1, a: dyr, lda: fout,
          b: xs + range.lowerBound * fin, ldb: fin, beta: 0, c: dw + c * fout * fin, ldc: fin)
      }
      let dbc = db + c * fout
      dbc.update(repeating: 0, count: fout)
      for r in 0..<range.count {
        let row = dyr + r * fout
        for o in 0..<fout { dbc[o] += row[o] }
      }
    }
    reduceChunkPartials(UnsafePointer(dw), chunks: chunks, into: weight)
    if let bias { reduceChunkPartials(UnsafePointer(db), chunks: chunks, into: bias) }
  }

  /// `dx = dy · W` for `rows` rows: outputs' gradient `[rows, out]` at `dys`, input gradient
  /// `[rows, in]` into `dxs` (one GEMM).
  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  package func inputGradientRows(_ dys: UnsafePointer<Scalar>, rows: Int, into dxs: UnsafeMutablePointer<Scalar>) {
    let (fin, fout) = (inputFeatures, outputFeatures)
    weight.value.withUnsafeBufferPointer { wb in
      if DenseProduct.applies(to: Scalar.self) {
        DenseProduct.multiply(
          dys, rowStep: fout, depthStep: 1, wb.baseAddress!, ldb: fin, into: dxs, ldc: fin, m: rows, n: fin, k: fout,
          accumulate: false)
      } else {
        Scalar.gemm(
          transposeA: false, transposeB: false, m: rows, n: fin, k: fout, alpha: 1, a: dys, lda: fout,
          b: wb.baseAddress!, ldb: fin, beta: 0, c: dxs, ldc: fin)
      }
    }
  }
}

/// The `Float` linear layer models use.
public typealias Linear = LinearOf<Float>
