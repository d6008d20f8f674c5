/// A named, independent stream of random numbers derived from a run's seed.
///
/// Each consumer of randomness draws from its own stream, so that adding a new consumer
/// never shifts the numbers another one sees.
public enum RandomStream: String, CaseIterable, Codable, Sendable {
  /// Parameter initialisation.
  case initialization = "init"
  /// Data shuffles and fold assignment.
  case shuffle
  /// Noise inside training (the VAE's reparameterisation).
  case noise
  /// Hyperparameter search.
  case search
  /// t-SNE's own draws.
  case tsne
}

/// LatentLab's one pseudo-random generator: xoshiro256** seeded through SplitMix64.
///
/// - Algorithm: xoshiro256** 1.0 (D. Blackman and S. Vigna, "Scrambled Linear Pseudorandom
///   Number Generators", ACM Trans. Math. Softw. 47(4), 2021; https://prng.di.unimi.it/).
///   Period 2^256 − 1, 256 bits of state, passes BigCrush.
/// - Streams: the four state words are the first four outputs of SplitMix64 (Steele, Lea and
///   Flood, "Fast Splittable Pseudorandom Number Generators", OOPSLA 2014) started at
///   `seed ^ fnv1a64(streamName)`, as Vigna recommends for seeding xoshiro. Each named stream
///   thus starts at an unrelated point of the sequence.
/// - Draws: `nextUInt64()` is the raw output; `nextDouble()` takes its top 53 bits as a
///   multiple of 2^-53 in [0, 1); `nextFloat()` its top 24 bits as a multiple of 2^-24;
///   `nextNormal()` is Box–Muller on two doubles (one output per call, no cached spare, so the
///   state is only the four words); integers in a range use Lemire's unbiased method.
///
/// Every algorithm here is written out in this file, never delegated to the standard
/// library (whose `shuffle` and `random(in:)` algorithms may change between releases), so
/// the same seed gives the same numbers on every platform and toolchain.
/// `Fixtures/generators/seeded_generator.py` is an independent Python implementation
/// whose outputs `Fixtures/golden/rng/` pins.
public struct SeededGenerator: RandomNumberGenerator, Equatable, Codable, Sendable {
  /// The 256-bit state, exposed so that checkpoints can save and restore it.
  public var state: (UInt64, UInt64, UInt64, UInt64) {
    get { (s0, s1, s2, s3) }
    set { (s0, s1, s2, s3) = newValue }
  }
  private var s0: UInt64
  private var s1: UInt64
  private var s2: UInt64
  private var s3: UInt64

  /// The generator for `stream` of the run seeded with `seed`.
  public init(seed: UInt64, stream: RandomStream) {
    self.init(seed: seed, streamName: stream.rawValue)
  }

  /// The generator for a stream named by any string (for sub-streams such as `"init/encoder"`).
  public init(seed: UInt64, streamName: String) {
    var sm = seed ^ SeededGenerator.fnv1a64(streamName)
    s0 = SeededGenerator.splitMix64(&sm)
    s1 = SeededGenerator.splitMix64(&sm)
    s2 = SeededGenerator.splitMix64(&sm)
    s3 = SeededGenerator.splitMix64(&sm)
    if s0 | s1 | s2 | s3 == 0 { s0 = 1 }  // the all-zero state is the one fixed point
  }

  /// A generator restored from a saved state (see `state`).
  /// - Precondition: the state is not all zeros.
  public init(state: (UInt64, UInt64, UInt64, UInt64)) {
    precondition(state.0 | state.1 | state.2 | state.3 != 0, "SeededGenerator: zero state")
    (s0, s1, s2, s3) = state
  }

  public static func == (a: SeededGenerator, b: SeededGenerator) -> Bool {
    a.s0 == b.s0 && a.s1 == b.s1 && a.s2 == b.s2 && a.s3 == b.s3
  }

  // MARK: Raw output

  /// The next 64 raw bits (xoshiro256**).
  @inlinable
  public mutating func nextUInt64() -> UInt64 { next() }

  /// The next 64 raw bits (xoshiro256**); `RandomNumberGenerator` conformance.
  public mutating func next() -> UInt64 {
    let result = rotl(s1 &* 5, 7) &* 9
    let t = s1 << 17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = rotl(s3, 45)
    return result
  }

  @inline(__always)
  private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

  // MARK: Distributions

  /// Uniform on [0, 1) with 53 random bits.
  public mutating func nextDouble() -> Double {
    Double(next() >> 11) * 0x1.0p-53
  }

  /// Uniform on [0, 1) with 24 random bits.
  public mutating func nextFloat() -> Float {
    Float(next() >> 40) * 0x1.0p-24
  }

  /// Uniform on [low, high), computed in `Double` and rounded to `Float`.
  public mutating func nextUniform(_ low: Float, _ high: Float) -> Float {
    Float(Double(low) + (Double(high) - Double(low)) * nextDouble())
  }

  /// Standard normal N(0, 1) by the Box–Muller transform:
  /// `sqrt(-2 ln(1 - u1)) · cos(2π u2)` with u1, u2 uniform on [0, 1).
  public mutating func nextNormal() -> Double {
    let u1 = nextDouble()
    let u2 = nextDouble()
    return (-2 * RepeatableMath.log(1 - u1)).squareRoot() * RepeatableMath.cos(2 * Double.pi * u2)
  }

  /// An integer uniform on `0..<bound` by Lemire's multiply-and-reject method
  /// ("Fast Random Integer Generation in an Interval", ACM TOMACS 29(1), 2019).
  /// - Precondition: `bound > 0`.
  public mutating func nextInt(below bound: Int) -> Int {
    precondition(bound > 0, "SeededGenerator.nextInt: bound must be positive")
    let s = UInt64(bound)
    var m = next().multipliedFullWidth(by: s)
    if m.low < s {
      let threshold = (0 &- s) % s
      while m.low < threshold { m = next().multipliedFullWidth(by: s) }
    }
    return Int(m.high)
  }

  /// Shuffles `array` in place by Fisher–Yates (Durstenfeld's version, from the end).
  public mutating func shuffle<T>(_ array: inout [T]) {
    guard array.count > 1 else { return }
    for i in stride(from: array.count - 1, to: 0, by: -1) {
      let j = nextInt(below: i + 1)
      if i != j { array.swapAt(i, j) }
    }
  }

  /// A uniformly random permutation of `0..<count`.
  public mutating func permutation(_ count: Int) -> [Int] {
    var p = Array(0..<count)
    shuffle(&p)
    return p
  }

  // MARK: Codable (the state as four words)

  private enum CodingKeys: String, CodingKey { case state }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let words = try c.decode([UInt64].self, forKey: .state)
    guard words.count == 4, words.contains(where: { $0 != 0 }) else {
      throw DecodingError.dataCorruptedError(
        forKey: .state, in: c, debugDescription: "expected four words, not all zero")
    }
    (s0, s1, s2, s3) = (words[0], words[1], words[2], words[3])
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode([s0, s1, s2, s3], forKey: .state)
  }

  // MARK: Seeding helpers

  /// One step of SplitMix64: advances `x` by the golden gamma and returns the mixed value.
  public static func splitMix64(_ x: inout UInt64) -> UInt64 {
    x &+= 0x9E37_79B9_7F4A_7C15
    var z = x
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// The 64-bit FNV-1a hash of a string's UTF-8 bytes (Fowler, Noll, Vo).
  public static func fnv1a64(_ s: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in s.utf8 {
      h ^= UInt64(byte)
      h &*= 0x0000_0100_0000_01B3
    }
    return h
  }
}
