/// The geometry of a 2-D convolution seen from the image side: an image of `channels ×
/// height × width` and the `outHeight × outWidth` positions of a `kernelHeight × kernelWidth`
/// window moved with `stride` over the image padded by `padding` zeros on each side.
///
/// `im2col` lays the windows out as columns of a matrix with `channels · kernelHeight ·
/// kernelWidth` rows (row `(c · kh + i) · kw + j`) and `outHeight · outWidth` columns;
/// `col2im` is its adjoint, adding columns back into the image.
public struct ConvGeometry: Equatable, Sendable {
  public var channels: Int
  public var height: Int
  public var width: Int
  public var kernelHeight: Int
  public var kernelWidth: Int
  public var stride: Int
  public var padding: Int
  public var outHeight: Int
  public var outWidth: Int

  public init(
    channels: Int, height: Int, width: Int, kernelHeight: Int, kernelWidth: Int,
    stride: Int, padding: Int, outHeight: Int, outWidth: Int
  ) {
    self.channels = channels
    self.height = height
    self.width = width
    self.kernelHeight = kernelHeight
    self.kernelWidth = kernelWidth
    self.stride = stride
    self.padding = padding
    self.outHeight = outHeight
    self.outWidth = outWidth
  }

  /// Rows of the column matrix: `channels · kernelHeight · kernelWidth`.
  public var rows: Int { channels * kernelHeight * kernelWidth }
  /// Columns per image: `outHeight · outWidth`.
  public var columns: Int { outHeight * outWidth }
  /// Scalars per image.
  public var imageSize: Int { channels * height * width }

  /// The output columns `first..<end` whose input column `ow·stride − padding + offset`
  /// lies inside the image (the others read padding).
  @inlinable
  func validRange(offset: Int) -> (first: Int, end: Int) {
    // ow·s − p + offset >= 0  ⇔  ow >= ceil((p − offset) / s)
    let shift = padding - offset
    let first = shift <= 0 ? 0 : (shift + stride - 1) / stride
    // ow·s − p + offset <= width − 1  ⇔  ow <= floor((width − 1 + p − offset) / s)
    let limit = width - 1 + shift
    let end = limit < 0 ? 0 : min(outWidth, limit / stride + 1)
    return (min(first, end), end)
  }

  /// Writes the columns of one image into `cols`, a matrix with row stride `ld`, starting at
  /// column `columnOffset`; out-of-image (padding) entries are zero.
  @inlinable
  public func im2col<T: BinaryFloatingPoint>(
    _ image: UnsafePointer<T>, into cols: UnsafeMutablePointer<T>, ld: Int, columnOffset: Int
  ) {
    for c in 0..<channels {
      let plane = image + c * height * width
      for ki in 0..<kernelHeight {
        for kj in 0..<kernelWidth {
          let row = cols + ((c * kernelHeight + ki) * kernelWidth + kj) * ld + columnOffset
          let (first, end) = validRange(offset: kj)
          for oh in 0..<outHeight {
            let ih = oh * stride - padding + ki
            let out = row + oh * outWidth
            if ih < 0 || ih >= height {
              out.update(repeating: 0, count: outWidth)
              continue
            }
            // Padding columns at either end, then a branch-free strided copy.
            for ow in 0..<first { out[ow] = 0 }
            for ow in end..<outWidth { out[ow] = 0 }
            let src = plane + ih * width - padding + kj
            // Constant strides let the compiler unroll and vectorise the common cases.
            for ow in first..<end { out[ow] = src[ow * stride] }
          }
        }
      }
    }
  }

  /// Adds the columns of one image (from `cols`, row stride `ld`, starting at column
  /// `columnOffset`) back into `image`: the adjoint of `im2col`. `image` is accumulated into.
  @inlinable
  public func col2im<T: BinaryFloatingPoint>(
    _ cols: UnsafePointer<T>, ld: Int, columnOffset: Int, into image: UnsafeMutablePointer<T>
  ) {
    for c in 0..<channels {
      let plane = image + c * height * width
      for ki in 0..<kernelHeight {
        for kj in 0..<kernelWidth {
          let row = cols + ((c * kernelHeight + ki) * kernelWidth + kj) * ld + columnOffset
          let (first, end) = validRange(offset: kj)
          for oh in 0..<outHeight {
            let ih = oh * stride - padding + ki
            if ih < 0 || ih >= height { continue }
            let dst = plane + ih * width - padding + kj
            let src = row + oh * outWidth
            for ow in first..<end { dst[ow * stride] += src[ow] }
          }
        }
      }
    }
  }
}

/// Copies an NCHW batch slice `[n, C, P]` (P = H·W) into a `[C, n·P]` matrix (row stride
/// `ld`), the layout in which one GEMM serves the whole chunk.
@inlinable
func gatherChannelMajor<T>(
  _ src: UnsafePointer<T>, images: Int, channels: Int, plane: Int, into dst: UnsafeMutablePointer<T>, ld: Int
) {
  for i in 0..<images {
    for c in 0..<channels {
      (dst + c * ld + i * plane).update(from: src + (i * channels + c) * plane, count: plane)
    }
  }
}

/// The inverse of `gatherChannelMajor`: `[C, n·P]` (row stride `ld`) back to NCHW
/// `[n, C, P]`, adding `bias[c]` when given.
@inlinable
func scatterChannelMajor<T: BinaryFloatingPoint>(
  _ src: UnsafePointer<T>, ld: Int, images: Int, channels: Int, plane: Int,
  bias: UnsafePointer<T>?, into dst: UnsafeMutablePointer<T>
) {
  for i in 0..<images {
    for c in 0..<channels {
      let s = src + c * ld + i * plane
      let d = dst + (i * channels + c) * plane
      if let bias {
        let b = bias[c]
        for p in 0..<plane { d[p] = s[p] + b }
      } else {
        d.update(from: s, count: plane)
      }
    }
  }
}
