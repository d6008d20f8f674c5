/// `exp`, `log`, `sin`, `cos` and `pow` from IEEE-754 arithmetic alone: the same bits on every
/// machine, whatever its C library and CPU.
///
/// glibc chooses its `exp`, `log`, `sin`, `cos` and `pow` by CPU (a version with fused
/// multiply-adds where the CPU has FMA, another without) and changes them between releases;
/// the versions differ in the last bit for some arguments. t-SNE's perplexity calibration
/// calls `exp` about 90 times per point and binary-search step, so that choice moved every bit
/// of an embedding (measured: `latentlab fingerprint` under
/// `GLIBC_TUNABLES=glibc.cpu.hwcaps=-FMA,-AVX2,-AVX`, glibc's pick on a CPU without FMA, gave
/// other t-SNE hashes and the same parameter, code and PCA hashes). Every elementary function
/// whose result reaches a model, a map, a record or a figure comes from here.
///
/// These use +, −, ×, ÷ (each correctly rounded by IEEE 754; Swift never fuses a multiply and
/// an add unless asked), `rounded()` and exact scaling by powers of two, in a fixed order.
/// Accuracy: `exp`, `log`, `sin` and `cos` within 1 ULP of the exact value (tested against
/// glibc's `Float80` `expl`, `logl`, `sinl`, `cosl`), `pow` as stated there; special values
/// as C99's.
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

  // π/2 = halfPi1 + halfPi2 + halfPi3 (+ under 2^-120): the first two with 33 significant bits,
  // so that k · part is exact for the |k| < 2^20 the reduction is accurate for.
  @usableFromInline static var halfPi1: Double { 0x1.921fb544p+0 }
  @usableFromInline static var halfPi2: Double { 0x1.0b4611a6p-34 }
  @usableFromInline static var halfPi3: Double { 0x1.3198a2e037073p-69 }
  @usableFromInline static var twoOverPi: Double { 0x1.45f306dc9c883p-1 }
  /// The largest |x| that `sin` and `cos` reduce (2^52: every Double beyond is an integer).
  @usableFromInline static var largestReducible: Double { 0x1p52 }

  /// `x − k π/2` as an unevaluated sum `hi + lo` with `|hi| ≤ π/4` (about), and the quadrant
  /// `k mod 4` (in 0...3). `x − k·halfPi1` is exact (Sterbenz), the second part's subtraction
  /// is made exact by Knuth's two-sum, the third part's error is below 2^-100 for |k| < 2^20.
  /// Beyond that the result is still the same on every machine, but loses accuracy; from
  /// |x| = 2^52 on (`largestReducible`) `x − k·halfPi1` is no longer exact and the remainder
  /// no longer small, so the callers answer NaN there.
  @inlinable static func reduceByHalfPi(_ x: Double) -> (hi: Double, lo: Double, quadrant: Int) {
    let kd = (x * twoOverPi).rounded(.toNearestOrEven)
    let a = x - kd * halfPi1
    let b = -(kd * halfPi2)
    let r = a + b
    let bVirtual = r - a
    let error = (a - (r - bVirtual)) + (b - bVirtual)
    let tail = error - kd * halfPi3
    let hi = r + tail
    let lo = tail - (hi - r)
    return (hi, lo, Int(kd) & 3)
  }

  /// sin(hi + lo) for |hi| ≤ π/4, |lo| ≤ ulp(hi): `hi + (hi z S(z) + lo)` with `z = hi²` and
  /// S(z) the Taylor series of (sin r − r)/r³ to z⁷ (truncation below 2e-19 relative).
  @inlinable static func sinKernel(_ hi: Double, _ lo: Double) -> Double {
    let z = hi * hi
    var s = 1.0 / 355_687_428_096_000
    s = s * z - 1.0 / 1_307_674_368_000
    s = s * z + 1.0 / 6_227_020_800
    s = s * z - 1.0 / 39_916_800
    s = s * z + 1.0 / 362_880
    s = s * z - 1.0 / 5_040
    s = s * z + 1.0 / 120
    s = s * z - 1.0 / 6
    return hi + (hi * z * s + lo)
  }

  /// cos(hi + lo) for |hi| ≤ π/4: `w + (((1 − w) − z/2) + (z² C(z) − hi lo))` with `z = hi²`,
  /// `w = 1 − z/2` (its rounding error recovered exactly) and C(z) the Taylor series of
  /// (cos r − 1 + r²/2)/r⁴ to z⁷ (truncation below 4e-21).
  @inlinable static func cosKernel(_ hi: Double, _ lo: Double) -> Double {
    let z = hi * hi
    var c = -1.0 / 6_402_373_705_728_000
    c = c * z + 1.0 / 20_922_789_888_000
    c = c * z - 1.0 / 87_178_291_200
    c = c * z + 1.0 / 479_001_600
    c = c * z - 1.0 / 3_628_800
    c = c * z + 1.0 / 40_320
    c = c * z - 1.0 / 720
    c = c * z + 1.0 / 24
    let halfZ = 0.5 * z
    let w = 1 - halfZ
    return w + (((1 - w) - halfZ) + (z * z * c - hi * lo))
  }

  /// cos x, x in radians: `x = k π/2 + r` (three-part Cody–Waite reduction), then ±cos r or
  /// ±sin r by the quadrant `k mod 4`, each by its Taylor polynomial. Within 1 ULP of the
  /// exact value for |x| < 2^20 π/2 (about 1.6 million; LatentLab's angles lie in [−2π, 2π]),
  /// less accurate up to 2^52, NaN from there (C's `cos` reduces huge arguments exactly; this
  /// one does not try); NaN for ±∞ and NaN, as C99's `cos`.
  @inlinable public static func cos(_ x: Double) -> Double {
    if !(x.magnitude < largestReducible) { return .nan }
    let (hi, lo, quadrant) = reduceByHalfPi(x)
    switch quadrant {
    case 0: return cosKernel(hi, lo)
    case 1: return -sinKernel(hi, lo)
    case 2: return -cosKernel(hi, lo)
    default: return sinKernel(hi, lo)
    }
  }

  /// sin x, x in radians: the reduction, accuracy and domain of `cos`; sin(±0) = ±0; NaN for
  /// |x| ≥ 2^52, ±∞ and NaN.
  @inlinable public static func sin(_ x: Double) -> Double {
    if !(x.magnitude < largestReducible) { return .nan }
    if x.magnitude < 0x1p-27 { return x }  // x − x³/6 rounds to x; keeps the sign of ±0
    let (hi, lo, quadrant) = reduceByHalfPi(x)
    switch quadrant {
    case 0: return sinKernel(hi, lo)
    case 1: return cosKernel(hi, lo)
    case 2: return -sinKernel(hi, lo)
    default: return -cosKernel(hi, lo)
    }
  }

  /// x^y as `exp(y · ln x)` for x > 0: the same bits everywhere, within (2 + 3|y ln x|) ULP
  /// (the product's rounding error is multiplied by the exponent; Adam's bias corrections
  /// `β^t` keep |y ln x| below 10). x = 1 or y = 0 gives 1, x = 0 gives 0 for y > 0, +∞
  /// for y < 0 and NaN for y NaN; negative x gives NaN.
  @inlinable public static func pow(_ x: Double, _ y: Double) -> Double {
    if x == 1 || y == 0 { return 1 }
    if x == 0 { return y > 0 ? 0 : (y < 0 ? .infinity : .nan) }
    return exp(y * log(x))
  }

  /// e^x in `Float` (C's `expf`): the `Double` result rounded once more, so correctly rounded
  /// except within 2^-52 (relative) of a halfway point between two Floats.
  @inlinable public static func expf(_ x: Float) -> Float { Float(exp(Double(x))) }

  /// ln x in `Float` (C's `logf`), as `expf`.
  @inlinable public static func logf(_ x: Float) -> Float { Float(log(Double(x))) }
}
