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
          for oh in 0..<outHeight {
            let ih = oh * stride - padding + ki
            let out = row + oh * outWidth
            if ih < 0 || ih >= height {
              out.update(repeating: 0, count: outWidth)
              continue
            }
            let src = plane + ih * width
            var iw = -padding + kj
            for ow in 0..<outWidth {
              out[ow] = iw >= 0 && iw < width ? src[iw] : 0
              iw += stride
            }
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
          for oh in 0..<outHeight {
            let ih = oh * stride - padding + ki
            if ih < 0 || ih >= height { continue }
            let dst = plane + ih * width
            let src = row + oh * outWidth
            var iw = -padding + kj
            for ow in 0..<outWidth {
              if iw >= 0 && iw < width { dst[iw] += src[ow] }
              iw += stride
            }
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
