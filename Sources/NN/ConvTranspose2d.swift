import TensorCore

/// A 2-D transposed convolution over NCHW batches, as PyTorch's `nn.ConvTranspose2d`
/// (dilation 1, groups 1): the adjoint of a `Conv2d` with the same kernel, stride and padding.
///
/// Each input pixel scatters `x[n, c, i, j] · weight[c, o, :, :]` onto the output window at
/// `(i·s − p, j·s − p)`; then `bias[o]` is added.
/// Shapes: `x [N, Cin, H, W] → y [N, Cout, H', W']`, `H' = (H − 1)·s − 2p + kh + output_padding`.
/// Parameters: `weight [Cin, Cout, kh, kw]` (PyTorch's layout: input channels first),
/// `bias [Cout]`. `output_padding` (< stride) adds rows and columns at the bottom and right,
/// which is how a decoder restores a size that stride 2 rounded down (7 → 14, 14 → 28).
/// Computed as one GEMM per chunk of images plus col2im.
public final class ConvTranspose2dOf<Scalar: BLASScalar>: Layer {
  public let inputChannels: Int
  public let outputChannels: Int
  public let kernelSize: Int
  public let stride: Int
  public let padding: Int
  public let outputPadding: Int
  public let weight: ParameterOf<Scalar>
  public let bias: ParameterOf<Scalar>?
  public var parallel = DeterministicParallel(threads: 1)
  /// Whether `backward` computes the input gradient.
  public var computesInputGradient = true

  private var geometry: ConvGeometry?  // the output side: conv geometry from y back to x
  private var batch = 0
  private var inputChannelMajor = TensorOf<Scalar>.zeros([0])  // per chunk [Cin, n·P], cached
  private var columns = TensorOf<Scalar>.zeros([0])  // per chunk [Cout·k·k, n·P]
  private var output = TensorOf<Scalar>.zeros([0])
  private var inputGradient = TensorOf<Scalar>.zeros([0])
  private var inputGradientChannelMajor = TensorOf<Scalar>.zeros([0])
  private var weightPartials = TensorOf<Scalar>.zeros([0])
  private var biasPartials = TensorOf<Scalar>.zeros([0])

  /// A transposed convolution with PyTorch's default initialisation (fan_in = `outputChannels
  /// · k · k`, since the weight is `[in, out, k, k]`) drawn from `generator`.
  /// - Throws: `LayerError.invalidConfiguration` for non-positive sizes, negative padding, or
  ///   `outputPadding >= stride` (PyTorch's rule).
  public init(
    inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
    outputPadding: Int = 0, bias: Bool = true, generator: inout SeededGenerator
  ) throws {
    let name = "ConvTranspose2d(\(inputChannels), \(outputChannels), kernel_size=\(kernelSize), stride=\(stride),"
      + " padding=\(padding), output_padding=\(outputPadding))"
    guard inputChannels > 0, outputChannels > 0, kernelSize > 0, stride > 0, padding >= 0 else {
      throw LayerError.invalidConfiguration(
        layer: name, reason: "channels, kernel size and stride must be positive and padding non-negative")
    }
    guard outputPadding >= 0, outputPadding < stride else {
      throw LayerError.invalidConfiguration(
        layer: name, reason: "output_padding must be in 0..<stride (\(stride)), got \(outputPadding)")
    }
    self.inputChannels = inputChannels
    self.outputChannels = outputChannels
    self.kernelSize = kernelSize
    self.stride = stride
    self.padding = padding
    self.outputPadding = outputPadding
    let fanIn = outputChannels * kernelSize * kernelSize
    weight = ParameterOf(
      DefaultInitialization.uniform(
        shape: [inputChannels, outputChannels, kernelSize, kernelSize], fanIn: fanIn, generator: &generator))
    self.bias = bias
      ? ParameterOf(DefaultInitialization.uniform(shape: [outputChannels], fanIn: fanIn, generator: &generator))
      : nil
  }

  public var description: String {
    "ConvTranspose2d(\(inputChannels), \(outputChannels), kernel_size=\(kernelSize), stride=\(stride),"
      + " padding=\(padding), output_padding=\(outputPadding)" + (bias == nil ? ", bias=False)" : ")")
  }

  public var namedParameters: [NamedParameter<Scalar>] {
    [NamedParameter(name: "weight", parameter: weight)]
      + (bias.map { [NamedParameter(name: "bias", parameter: $0)] } ?? [])
  }

  /// The output size of one spatial dimension of `size`.
  public func outputSize(_ size: Int) -> Int { (size - 1) * stride - 2 * padding + kernelSize + outputPadding }

  public func outputShape(for inputShape: [Int]) throws -> [Int] {
    guard inputShape.count == 4, inputShape[1] == inputChannels, inputShape[2] > 0, inputShape[3] > 0 else {
      throw LayerError.shapeMismatch(layer: description, expected: "[N, \(inputChannels), H, W]", given: inputShape)
    }
    let (h, w) = (outputSize(inputShape[2]), outputSize(inputShape[3]))
    guard h > 0, w > 0 else {
      throw LayerError.shapeMismatch(
        layer: description, expected: "[N, \(inputChannels), H, W] giving a positive output size (here \(h)x\(w))",
        given: inputShape)
    }
    return [inputShape[0], outputChannels, h, w]
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forward(_ x: TensorOf<Scalar>) throws -> TensorOf<Scalar> {
    let outShape = try outputShape(for: x.shape)
    let n = x.shape[0]
    let p = x.shape[2] * x.shape[3]
    let g = ConvGeometry(
      channels: outputChannels, height: outShape[2], width: outShape[3], kernelHeight: kernelSize,
      kernelWidth: kernelSize, stride: stride, padding: padding, outHeight: x.shape[2], outWidth: x.shape[3])
    geometry = g
    batch = n
    let (k, cin, cout) = (g.rows, inputChannels, outputChannels)
    inputChannelMajor.ensureShape([n * cin * p])
    columns.ensureShape([n * k * p])
    output.ensureShape(outShape)
    let chunks = BatchChunking.chunkCount(n)
    let outPlane = outShape[2] * outShape[3]
    x.withUnsafeBufferPointer { xb in
      weight.value.withUnsafeBufferPointer { wb in
        inputChannelMajor.withUnsafeMutableBufferPointer { xtb in
          columns.withUnsafeMutableBufferPointer { colsb in
            output.withUnsafeMutableBufferPointer { yb in
              withOptionalPointer(bias?.value) { biasPointer in
                let (xs, ws, xts, cols, ys) = (xb.baseAddress!, wb.baseAddress!, xtb.baseAddress!, colsb.baseAddress!, yb.baseAddress!)
                parallel.forEachChunk(count: n, chunks: chunks) { _, range in
                  let ld = range.count * p
                  let xT = xts + range.lowerBound * cin * p
                  let chunkCols = cols + range.lowerBound * k * p
                  gatherChannelMajor(xs + range.lowerBound * cin * p, images: range.count, channels: cin, plane: p, into: xT, ld: ld)
                  // cols = Wᵀ · xT, W viewed as [Cin, Cout·k·k]
                  Scalar.gemm(
                    transposeA: true, transposeB: false, m: k, n: ld, k: cin, alpha: 1, a: ws, lda: k,
                    b: xT, ldb: ld, beta: 0, c: chunkCols, ldc: ld)
                  for (j, i) in range.enumerated() {
                    let y = ys + i * cout * outPlane
                    if let biasPointer {
                      for o in 0..<cout { (y + o * outPlane).update(repeating: biasPointer[o], count: outPlane) }
                    } else {
                      y.update(repeating: 0, count: cout * outPlane)
                    }
                    g.col2im(chunkCols, ld: ld, columnOffset: j * p, into: y)
                  }
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
    let (k, p, cin, cout) = (g.rows, g.columns, inputChannels, outputChannels)
    let chunks = BatchChunking.chunkCount(n)
    let needsParameterGradients = !weight.isFrozen || !(bias?.isFrozen ?? true)
    weightPartials.ensureShape([chunks, cin * k])
    biasPartials.ensureShape([chunks, cout])
    inputGradient.ensureShape([n, cin, g.outHeight, g.outWidth])
    let wantInput = computesInputGradient
    inputGradientChannelMajor.ensureShape([n * cin * p])
    let outPlane = g.height * g.width
    dy.withUnsafeBufferPointer { dyb in
      weight.value.withUnsafeBufferPointer { wb in
        inputChannelMajor.withUnsafeMutableBufferPointer { xtb in
          columns.withUnsafeMutableBufferPointer { colsb in
            inputGradient.withUnsafeMutableBufferPointer { dxb in
              inputGradientChannelMajor.withUnsafeMutableBufferPointer { dxtb in
                weightPartials.withUnsafeMutableBufferPointer { dwb in
                  biasPartials.withUnsafeMutableBufferPointer { dbb in
                    let (dys, ws, xts, cols, dxs, dxts, dws, dbs) = (
                      dyb.baseAddress!, wb.baseAddress!, xtb.baseAddress!, colsb.baseAddress!, dxb.baseAddress!,
                      dxtb.baseAddress!, dwb.baseAddress!, dbb.baseAddress!
                    )
                    parallel.forEachChunk(count: n, chunks: chunks) { c, range in
                      let ld = range.count * p
                      let xT = xts + range.lowerBound * cin * p
                      let dcols = cols + range.lowerBound * k * p
                      for (j, i) in range.enumerated() {
                        g.im2col(dys + i * cout * outPlane, into: dcols, ld: ld, columnOffset: j * p)
                      }
                      if needsParameterGradients {
                        // dW_c = xT · dcolsᵀ : [Cin, Cout·k·k]
                        Scalar.gemm(
                          transposeA: false, transposeB: true, m: cin, n: k, k: ld, alpha: 1, a: xT, lda: ld,
                          b: dcols, ldb: ld, beta: 0, c: dws + c * cin * k, ldc: k)
                        for o in 0..<cout {
                          var s: Scalar = 0
                          for i in range {
                            let plane = dys + (i * cout + o) * outPlane
                            for q in 0..<outPlane { s += plane[q] }
                          }
                          dbs[c * cout + o] = s
                        }
                      }
                      if wantInput {
                        // dxT = W · dcols : [Cin, n·P]
                        let dxT = dxts + range.lowerBound * cin * p
                        Scalar.gemm(
                          transposeA: false, transposeB: false, m: cin, n: ld, k: k, alpha: 1, a: ws, lda: k,
                          b: dcols, ldb: ld, beta: 0, c: dxT, ldc: ld)
                        scatterChannelMajor(
                          dxT, ld: ld, images: range.count, channels: cin, plane: p, bias: nil,
                          into: dxs + range.lowerBound * cin * p)
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
    geometry = nil
    return inputGradient
  }
}

/// The `Float` transposed convolution models use.
public typealias ConvTranspose2d = ConvTranspose2dOf<Float>
