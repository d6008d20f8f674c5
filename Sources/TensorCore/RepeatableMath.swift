/// `exp` and `log` on `Double` from IEEE-754 arithmetic alone: the same bits on every machine,
/// whatever its C library and CPU.
///
/// glibc chooses its `exp` and `log` by CPU (a version with fused multiply-adds where the CPU
/// has FMA, another without) and changes them between releases; the versions differ in the
/// last bit for some arguments. t-SNE's perplexity calibration calls `exp` about 90 times per
/// point and binary-search step, so that choice moved every bit of an embedding (measured:
/// `latentlab fingerprint` under `GLIBC_TUNABLES=glibc.cpu.hwcaps=-FMA,-AVX2,-AVX`, glibc's pick on
/// a CPU without FMA, gave other t-SNE hashes and the same parameter, code and PCA hashes).
///
/// These use +, −, ×, ÷ (each correctly rounded by IEEE 754; Swift never fuses a multiply and
/// an add unless asked), `rounded()` and exact scaling by powers of two, in a fixed order.
/// Accuracy: within 1 ULP of the exact value (tested against glibc's `Float80` `expl` and
/// `logl`); special values as C99's `exp` and `log`.
public enum RepeatableMath {
  // ln 2 = ln2High + ln2Low, ln2High with 33 significant bits: k · ln2High is exact for the
  // |k| ≤ 1075 a Double's exponents need.
  @usableFromInline static var ln2High: Double { 0x1.62e42fee00000p-1 }
  @usableFromInline static var ln2Low: Double { 0x1.a39ef35793c76p-33 }
  @usableFromInline static var log2e: Double { 0x1.71547652b82fep+0 }
  /// Above ln(greatest finite Double) `exp` overflows to infinity.
  @usableFromInline static var expOverflow: Double { 709.782712893384 }
  /// Below ln(2^-1075) `exp` rounds to zero.
  @usableFromInline static var expUnderflow: Double { -745.1332191019412 }

  /// e^x. `x = k ln 2 + r` with `|r| ≤ ln 2 / 2` (Cody and Waite's two-part ln 2), e^r by its
  /// Taylor polynomial to degree 13 (truncation below 4e-18 relative), then `2^k`: a multiply
  /// by its bit pattern where the result is normal (exact), `Double(sign:exponent:significand:)`
  /// below that and at `k = 1024`.
  @inlinable public static func exp(_ x: Double) -> Double {
    if x.isNaN { return x }
    if x > expOverflow { return .infinity }
    if x < expUnderflow { return 0 }
    let k = (x * log2e).rounded(.toNearestOrEven)
    let r = (x - k * ln2High) - k * ln2Low
    // Horner from degree 13 down: 1/n! as correctly rounded quotients.
    var p = 1.0 / 6_227_020_800
    p = p * r + 1.0 / 479_001_600
    p = p * r + 1.0 / 39_916_800
    p = p * r + 1.0 / 3_628_800
    p = p * r + 1.0 / 362_880
    p = p * r + 1.0 / 40_320
    p = p * r + 1.0 / 5_040
    p = p * r + 1.0 / 720
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    // 2^k by its bit pattern where p · 2^k is normal (the product is then exact); below,
    // one correctly rounded scaling into the subnormals.
    let exponent = Int(k)
    if exponent >= -1021 && exponent <= 1023 { return p * Double(bitPattern: UInt64(exponent + 1023) << 52) }
    return Double(sign: .plus, exponent: exponent, significand: p)
  }

  /// ln x. `x = 2^e · m` with `m` in (√½, √2], `f = m − 1` (exact), and
  /// `ln m = 2 atanh(s) = f − s (f − R)`, `s = f / (2 + f)`, `R = Σ 2 s^{2i} / (2i + 1)` to
  /// `s^20` (`|s| ≤ 0.172`); the leading `f` is exact, so the rounding errors sit in a term
  /// at most an eighth of the result. Then `e ln2High + (ln m + e ln2Low)`.
  @inlinable public static func log(_ x: Double) -> Double {
    if x.isNaN { return x }
    if x < 0 { return .nan }
    if x == 0 { return -.infinity }
    if x == .infinity { return x }
    var e = Double(x.exponent)
    var m = x.significand  // [1, 2), subnormals normalised
    if m > 0x1.6a09e667f3bcdp+0 {  // √2
      m *= 0.5
      e += 1
    }
    let f = m - 1
    let s = f / (2 + f)
    let s2 = s * s
    var q = 2.0 / 21
    q = q * s2 + 2.0 / 19
    q = q * s2 + 2.0 / 17
    q = q * s2 + 2.0 / 15
    q = q * s2 + 2.0 / 13
    q = q * s2 + 2.0 / 11
    q = q * s2 + 2.0 / 9
    q = q * s2 + 2.0 / 7
    q = q * s2 + 2.0 / 5
    q = q * s2 + 2.0 / 3
    let lnM = f - s * (f - s2 * q)
    return e * ln2High + (lnM + e * ln2Low)
  }
}
