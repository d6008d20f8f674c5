import TensorCore

/// A 2-D convolution over NCHW batches, as PyTorch's `nn.Conv2d` (dilation 1, groups 1).
///
/// `y[n, o, i, j] = bias[o] + Σ_{c, a, b} weight[o, c, a, b] · xpad[n, c, i·s + a, j·s + b]`,
/// where `xpad` is `x` with `padding` zeros on each side.
/// Shapes: `x [N, Cin, H, W] → y [N, Cout, H', W']`, `H' = ⌊(H + 2p − kh) / s⌋ + 1`.
/// Parameters: `weight [Cout, Cin, kh, kw]`, `bias [Cout]` (PyTorch's layouts and names).
/// Computed as im2col plus one GEMM per chunk of images; caches the columns for backward.
public final class Conv2dOf<Scalar: BLASScalar>: Layer {
  public let inputChannels: Int
  public let outputChannels: Int
  public let kernelSize: Int
  public let stride: Int
  public let padding: Int
  public let weight: ParameterOf<Scalar>
  public let bias: ParameterOf<Scalar>?
  public var parallel = DeterministicParallel(threads: 1)
  /// Whether `backward` computes the input gradient (off for a network's first layer).
  public var computesInputGradient = true

  // Buffers for the last batch shape.
  private var geometry: ConvGeometry?
  private var batch = 0
  private var columns = TensorOf<Scalar>.zeros([0])  // per chunk: [K, n·P], cached for backward
  private var channelMajor = TensorOf<Scalar>.zeros([0])  // per chunk: [Cout, n·P]
  private var output = TensorOf<Scalar>.zeros([0])
  private var inputGradient = TensorOf<Scalar>.zeros([0])
  private var weightPartials = TensorOf<Scalar>.zeros([0])  // [chunks, Cout·K]
  private var biasPartials = TensorOf<Scalar>.zeros([0])  // [chunks, Cout]

  /// A convolution with PyTorch's default initialisation drawn from `generator`.
  /// - Throws: `LayerError.invalidConfiguration` for non-positive sizes or negative padding.
  public init(
    inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
    bias: Bool = true, generator: inout SeededGenerator
  ) throws {
    let name = "Conv2d(\(inputChannels), \(outputChannels), kernel_size=\(kernelSize), stride=\(stride), padding=\(padding))"
    guard inputChannels > 0, outputChannels > 0, kernelSize > 0, stride > 0, padding >= 0 else {
      throw LayerError.invalidConfiguration(
        layer: name, reason: "channels, kernel size and stride must be positive and padding non-negative")
    }
    self.inputChannels = inputChannels
    self.outputChannels = outputChannels
    self.kernelSize = kernelSize
    self.stride = stride
    self.padding = padding
    let fanIn = inputChannels * kernelSize * kernelSize
    weight = ParameterOf(
      DefaultInitialization.uniform(
        shape: [outputChannels, inputChannels, kernelSize, kernelSize], fanIn: fanIn, generator: &generator))
    self.bias = bias
      ? ParameterOf(DefaultInitialization.uniform(shape: [outputChannels], fanIn: fanIn, generator: &generator))
      : nil
  }

  public var description: String {
    "Conv2d(\(inputChannels), \(outputChannels), kernel_size=\(kernelSize), stride=\(stride), padding=\(padding)"
      + (bias == nil ? ", bias=False)" : ")")
  }

  public var namedParameters: [NamedParameter<Scalar>] {
    [NamedParameter(name: "weight", parameter: weight)]
      + (bias.map { [NamedParameter(name: "bias", parameter: $0)] } ?? [])
  }

  /// The output size of one spatial dimension of `size`.
  public func outputSize(_ size: Int) -> Int { (size + 2 * padding - kernelSize) / stride + 1 }

  public func outputShape(for inputShape: [Int]) throws -> [Int] {
    guard inputShape.count == 4, inputShape[1] == inputChannels else {
      throw LayerError.shapeMismatch(layer: description, expected: "[N, \(inputChannels), H, W]", given: inputShape)
    }
    let (h, w) = (inputShape[2], inputShape[3])
    guard h + 2 * padding >= kernelSize, w + 2 * padding >= kernelSize else {
      throw LayerError.shapeMismatch(
        layer: description,
        expected: "[N, \(inputChannels), H, W] with H, W >= \(kernelSize - 2 * padding) (kernel minus padding)",
        given: inputShape)
    }
    return [inputShape[0], outputChannels, outputSize(h), outputSize(w)]
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forward(_ x: TensorOf<Scalar>) throws -> TensorOf<Scalar> {
    let outShape = try outputShape(for: x.shape)
    let n = x.shape[0]
    let g = ConvGeometry(
      channels: inputChannels, height: x.shape[2], width: x.shape[3], kernelHeight: kernelSize,
      kernelWidth: kernelSize, stride: stride, padding: padding, outHeight: outShape[2], outWidth: outShape[3])
    geometry = g
    batch = n
    let (k, p, cout) = (g.rows, g.columns, outputChannels)
    columns.ensureShape([n * k * p])
    channelMajor.ensureShape([n * cout * p])
    output.ensureShape(outShape)
    let chunks = BatchChunking.chunkCount(n)
    x.withUnsafeBufferPointer { xb in
      weight.value.withUnsafeBufferPointer { wb in
        columns.withUnsafeMutableBufferPointer { colsb in
          channelMajor.withUnsafeMutableBufferPointer { cmb in
            output.withUnsafeMutableBufferPointer { yb in
              let (xs, ws, cols, cm, ys) = (xb.baseAddress!, wb.baseAddress!, colsb.baseAddress!, cmb.baseAddress!, yb.baseAddress!)
              withOptionalPointer(bias?.value) { biasPointer in
              parallel.forEachChunk(count: n, chunks: chunks) { _, range in
                let ld = range.count * p
                let chunkCols = cols + range.lowerBound * k * p
                let chunkOut = cm + range.lowerBound * cout * p
                for (j, i) in range.enumerated() {
                  g.im2col(xs + i * g.imageSize, into: chunkCols, ld: ld, columnOffset: j * p)
                }
                Scalar.gemm(
                  transposeA: false, transposeB: false, m: cout, n: ld, k: k, alpha: 1, a: ws, lda: k,
                  b: chunkCols, ldb: ld, beta: 0, c: chunkOut, ldc: ld)
                scatterChannelMajor(
                  chunkOut, ld: ld, images: range.count, channels: cout, plane: p, bias: biasPointer,
                  into: ys + range.lowerBound * cout * p)
              }
              }
            }
          }
        }
      }
    }
    return output
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func backward(_ dy: TensorOf<Scalar>) throws -> TensorOf<Scalar> {
    guard let g = geometry, dy.shape == output.shape, batch == dy.shape[0] else {
      throw LayerError.backwardBeforeForward(layer: description)
    }
    let n = batch
    let (k, p, cout) = (g.rows, g.columns, outputChannels)
    let chunks = BatchChunking.chunkCount(n)
    let needsParameterGradients = !weight.isFrozen || !(bias?.isFrozen ?? true)
    weightPartials.ensureShape([chunks, cout * k])
    biasPartials.ensureShape([chunks, cout])
    // Sized even when not computed: it is then returned as zeros, never written.
    inputGradient.ensureShape([n, inputChannels, g.height, g.width])
    if computesInputGradient { inputGradient.fill(0) }
    let wantInput = computesInputGradient
    dy.withUnsafeBufferPointer { dyb in
      weight.value.withUnsafeBufferPointer { wb in
        columns.withUnsafeMutableBufferPointer { colsb in
          channelMajor.withUnsafeMutableBufferPointer { cmb in
            inputGradient.withUnsafeMutableBufferPointer { dxb in
              weightPartials.withUnsafeMutableBufferPointer { dwb in
                biasPartials.withUnsafeMutableBufferPointer { dbb in
                  let (dys, ws, cols, cm, dxs, dws, dbs) = (
                    dyb.baseAddress!, wb.baseAddress!, colsb.baseAddress!, cmb.baseAddress!, dxb.baseAddress,
                    dwb.baseAddress!, dbb.baseAddress!
                  )
                  parallel.forEachChunk(count: n, chunks: chunks) { c, range in
                    let ld = range.count * p
                    let chunkCols = cols + range.lowerBound * k * p
                    let dyT = cm + range.lowerBound * cout * p
                    gatherChannelMajor(
                      dys + range.lowerBound * cout * p, images: range.count, channels: cout, plane: p, into: dyT, ld: ld)
                    if needsParameterGradients {
                      // dW_c = dyT · colsᵀ ; db_c = row sums of dyT
                      Scalar.gemm(
                        transposeA: false, transposeB: true, m: cout, n: k, k: ld, alpha: 1, a: dyT, lda: ld,
                        b: chunkCols, ldb: ld, beta: 0, c: dws + c * cout * k, ldc: k)
                      for o in 0..<cout {
                        var s: Scalar = 0
                        let row = dyT + o * ld
                        for q in 0..<ld { s += row[q] }
                        dbs[c * cout + o] = s
                      }
                    }
                    if wantInput, let dxs {
                      // dcols = Wᵀ · dyT, written over the cached columns (no longer needed).
                      Scalar.gemm(
                        transposeA: true, transposeB: false, m: k, n: ld, k: cout, alpha: 1, a: ws, lda: k,
                        b: dyT, ldb: ld, beta: 0, c: chunkCols, ldc: ld)
                      for (j, i) in range.enumerated() {
                        g.col2im(chunkCols, ld: ld, columnOffset: j * p, into: dxs + i * g.imageSize)
                      }
                    }
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
    geometry = nil  // the columns now hold dcols: a second backward needs a new forward
    return inputGradient
  }
}

/// The `Float` convolution models use.
public typealias Conv2d = Conv2dOf<Float>
