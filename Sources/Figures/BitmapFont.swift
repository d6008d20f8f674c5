/// A 5×7 pixel font for printable ASCII, to write titles, axis labels and legends into PNG
/// figures (PNG has no text of its own). Each glyph sits in a 6×8 cell (one column and one row
/// of spacing) and is drawn in whole pixels, `scale` × `scale` each. Characters outside
/// printable ASCII are drawn as `?`.
public enum BitmapFont {
  /// Glyph cell size at scale 1, spacing included.
  public static let cellWidth = 6
  public static let cellHeight = 8

  /// The glyphs of characters 32 (space) to 126 (`~`), one per entry: 7 rows of 5 bits, the
  /// top row in the highest bits, each row's leftmost pixel in its highest bit. The patterns
  /// are the classic 5×7 dot-matrix character shapes.
  static let glyphs: [UInt64] = [
    0x000000000, 0x108421004, 0x294A00000, 0x295F57D4A, 0x11F4717C4, 0x632222263,
    0x32544564D, 0x308800000, 0x088842082, 0x208210888, 0x009575480, 0x0084F9080,
    0x000003088, 0x0000F8000, 0x00000018C, 0x002222200, 0x3A33AE62E, 0x11842108E,
    0x3A211111F, 0x7C441062E, 0x08CA97C42, 0x7E1E0862E, 0x1910F462E, 0x7C2222108,
    0x3A317462E, 0x3A317844C, 0x018C03180, 0x018C03088, 0x088882082, 0x001F07C00,
    0x208208888, 0x3A2111004, 0x3A216D6AE, 0x3A318FE31, 0x7A31F463E, 0x3A308422E,
    0x72518C65C, 0x7E10F421F, 0x7E10F4210, 0x3A30BC62F, 0x4631FC631, 0x38842108E,
    0x1C4210A4C, 0x4654C5251, 0x42108421F, 0x4775AC631, 0x4639ACE31, 0x3A318C62E,
    0x7A31F4210, 0x3A318D64D, 0x7A31F5251, 0x3E107043E, 0x7C8421084, 0x46318C62E,
    0x46318C544, 0x4631AD6AA, 0x462A22A31, 0x463151084, 0x7C222221F, 0x39084210E,
    0x020820820, 0x38421084E, 0x115100000, 0x00000001F, 0x208200000, 0x000E0BE2F,
    0x4216CC63E, 0x000E8422E, 0x042D9C62F, 0x000E8FE0E, 0x1928E2108, 0x01F18BC2E,
    0x4216CC631, 0x100C2108E, 0x080610A4C, 0x4212A6292, 0x30842108E, 0x001AAD631,
    0x0016CC631, 0x000E8C62E, 0x001E8FA10, 0x000D9BC21, 0x0016CC210, 0x000E8383E,
    0x211C42126, 0x00118C66D, 0x00118C544, 0x00118D6AA, 0x001151151, 0x00118BC2E,
    0x001F1111F, 0x088441082, 0x108421084, 0x208411088, 0x0008A8800,
  ]

  /// The 7 rows × 5 columns of `character`'s glyph, `true` where ink goes.
  public static func glyph(_ character: Character) -> [[Bool]] {
    let bits = glyphBits(character)
    return (0..<7).map { r in (0..<5).map { c in bits >> UInt64((6 - r) * 5 + (4 - c)) & 1 == 1 } }
  }

  static func glyphBits(_ character: Character) -> UInt64 {
    guard let ascii = character.asciiValue, ascii >= 32, ascii <= 126 else { return glyphs[Int(Character("?").asciiValue!) - 32] }
    return glyphs[Int(ascii) - 32]
  }

  /// The width in pixels of `text` drawn at `scale` (the last cell's spacing column excluded).
  public static func width(of text: String, scale: Int = 1) -> Int {
    text.isEmpty ? 0 : (text.count * cellWidth - 1) * scale
  }

  /// Draws `text` into `image` with its top-left corner at (`x`, `y`); pixels outside the
  /// image are skipped. `vertical` turns the text 90° counter-clockwise (reading bottom to
  /// top, as a y-axis label), with (`x`, `y`) then its bottom-left corner.
  public static func draw(
    _ text: String, into image: inout PNGImage, x: Int, y: Int, scale: Int = 1, color: [UInt8], vertical: Bool = false
  ) {
    for (i, character) in text.enumerated() {
      let bits = glyphBits(character)
      for r in 0..<7 {
        for c in 0..<5 where bits >> UInt64((6 - r) * 5 + (4 - c)) & 1 == 1 {
          let along = i * cellWidth + c  // position along the text
          for sy in 0..<scale {
            for sx in 0..<scale {
              if vertical {
                image.set(x: x + r * scale + sy, y: y - along * scale - sx, color)
              } else {
                image.set(x: x + along * scale + sx, y: y + r * scale + sy, color)
              }
            }
          }
        }
      }
    }
  }
}
