/// Grids of grey images, for reconstructions, generated samples and interpolations.
public enum ImageGrid {
  /// Tiles `images` (`[N, 1, H, W]`, values in [0, 1], clamped) `columns` to a row, each
  /// pixel drawn as `scale × scale`, with `gap` pixels of mid-grey between tiles.
  public static func render(_ images: [[Float]], side: Int, columns: Int, scale: Int = 2, gap: Int = 2) throws -> PNGImage {
    guard !images.isEmpty, columns > 0, scale > 0, images.allSatisfy({ $0.count == side * side }) else {
      throw FigureError.invalidImage(reason: "\(images.count) images of side \(side) in \(columns) columns")
    }
    let rows = (images.count + columns - 1) / columns
    let tile = side * scale
    var png = try PNGImage(
      width: columns * tile + (columns + 1) * gap, height: rows * tile + (rows + 1) * gap, channels: 1, fill: 128)
    for (index, image) in images.enumerated() {
      let (r, c) = (index / columns, index % columns)
      let (x0, y0) = (gap + c * (tile + gap), gap + r * (tile + gap))
      for y in 0..<side {
        for x in 0..<side {
          let v = UInt8((min(max(image[y * side + x], 0), 1) * 255).rounded())
          for dy in 0..<scale { for dx in 0..<scale { png.set(x: x0 + x * scale + dx, y: y0 + y * scale + dy, [v]) } }
        }
      }
    }
    return png
  }
}
