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
  private var weightPartials = TensorOf<Scalar>.zeros([0])
  private var biasPartials = TensorOf<Scalar>.zeros([0])
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
    let (fin, fout) = (inputFeatures, outputFeatures)
    input.ensureShape(x.shape)
    output.ensureShape(outShape)
    let chunks = BatchChunking.denseChunkCount(n)
    x.withUnsafeBufferPointer { xb in
      input.withUnsafeMutableBufferPointer { ib in
        weight.value.withUnsafeBufferPointer { wb in
          output.withUnsafeMutableBufferPointer { yb in
            withOptionalPointer(bias?.value) { biasPointer in
              let (xs, cached, ws, ys) = (xb.baseAddress!, ib.baseAddress!, wb.baseAddress!, yb.baseAddress!)
              parallel.forEachChunk(count: n, chunks: chunks) { _, range in
                let rows = range.count
                let xr = xs + range.lowerBound * fin
                (cached + range.lowerBound * fin).update(from: xr, count: rows * fin)
                let yr = ys + range.lowerBound * fout
                if let biasPointer {
                  for r in 0..<rows { (yr + r * fout).update(from: biasPointer, count: fout) }
                }
                Scalar.gemm(
                  transposeA: false, transposeB: true, m: rows, n: fout, k: fin, alpha: 1, a: xr, lda: fin,
                  b: ws, ldb: fin, beta: biasPointer == nil ? 0 : 1, c: yr, ldc: fout)
              }
            }
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
    let n = dy.shape[0]
    let (fin, fout) = (inputFeatures, outputFeatures)
    let chunks = BatchChunking.denseChunkCount(n)
    let needsParameterGradients = !weight.isFrozen || !(bias?.isFrozen ?? true)
    weightPartials.ensureShape([chunks, fout * fin])
    biasPartials.ensureShape([chunks, fout])
    inputGradient.ensureShape(input.shape)
    let wantInput = computesInputGradient
    dy.withUnsafeBufferPointer { dyb in
      input.withUnsafeBufferPointer { xb in
        weight.value.withUnsafeBufferPointer { wb in
          inputGradient.withUnsafeMutableBufferPointer { dxb in
            weightPartials.withUnsafeMutableBufferPointer { dwb in
              biasPartials.withUnsafeMutableBufferPointer { dbb in
                let (dys, xs, ws, dxs, dws, dbs) = (
                  dyb.baseAddress!, xb.baseAddress!, wb.baseAddress!, dxb.baseAddress!, dwb.baseAddress!, dbb.baseAddress!
                )
                parallel.forEachChunk(count: n, chunks: chunks) { c, range in
                  let rows = range.count
                  let dyr = dys + range.lowerBound * fout
                  if needsParameterGradients {
                    // dW_c = dyᵀ · x over the chunk's rows; db_c = column sums of dy.
                    Scalar.gemm(
                      transposeA: true, transposeB: false, m: fout, n: fin, k: rows, alpha: 1, a: dyr, lda: fout,
                      b: xs + range.lowerBound * fin, ldb: fin, beta: 0, c: dws + c * fout * fin, ldc: fin)
                    let db = dbs + c * fout
                    db.update(repeating: 0, count: fout)
                    for r in 0..<rows {
                      let row = dyr + r * fout
                      for o in 0..<fout { db[o] += row[o] }
                    }
                  }
                  if wantInput {
                    // dx = dy · W
                    Scalar.gemm(
                      transposeA: false, transposeB: false, m: rows, n: fin, k: fout, alpha: 1, a: dyr, lda: fout,
                      b: ws, ldb: fin, beta: 0, c: dxs + range.lowerBound * fin, ldc: fin)
                  }
                }
              }
            }
          }
        }
      }
    }
    if needsParameterGradients {
      reduceChunkPartials(weightPartials, chunks: chunks, into: weight)
      if let bias { reduceChunkPartials(biasPartials, chunks: chunks, into: bias) }
    }
    return inputGradient
  }
}

/// The `Float` linear layer models use.
public typealias Linear = LinearOf<Float>
