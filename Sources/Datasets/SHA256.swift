import CSHA256

/// SHA-256 (FIPS 180-4), fed incrementally: the integrity check of data files.
///
/// Written here rather than taken from a crypto package because the data layer needs only
/// this one digest. Blocks are compressed by the CPU's SHA extensions where it has them
/// (`CSHA256`, about 1.5 GB/s here), else by the portable Swift code below (about 180 MB/s);
/// `SHA256Tests` checks both against the FIPS 180-4 / NIST vectors and against each other.
public struct SHA256: Sendable {
  /// Whether this CPU has the SHA extensions.
  public static let hardwareAvailable = latentlab_sha256_hardware_available() == 1

  /// Whether this hasher uses them.
  public let usesHardware: Bool

  private var h: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (
    0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a,
    0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19
  )
  private var pending: [UInt8] = []
  private var length: UInt64 = 0

  /// An empty hasher; `portable` forces the Swift implementation (for tests and comparisons).
  public init(portable: Bool = false) {
    usesHardware = !portable && SHA256.hardwareAvailable
    pending.reserveCapacity(64)
  }

  private static let k: [UInt32] = [
    0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
    0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
    0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
    0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
    0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
    0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
    0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
    0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
  ]

  /// Adds bytes to the message.
  public mutating func update(_ bytes: UnsafeRawBufferPointer) {
    guard bytes.count > 0 else { return }
    length &+= UInt64(bytes.count)
    var offset = 0
    if !pending.isEmpty {
      let take = min(64 - pending.count, bytes.count)
      pending.append(contentsOf: bytes[0..<take])
      offset = take
      if pending.count == 64 {
        let block = pending
        block.withUnsafeBytes { compress(blocks: $0.baseAddress!, count: 1) }
        pending.removeAll(keepingCapacity: true)
      }
    }
    let whole = (bytes.count - offset) / 64
    if whole > 0 {
      compress(blocks: bytes.baseAddress! + offset, count: whole)
      offset += whole * 64
    }
    if offset < bytes.count { pending.append(contentsOf: bytes[offset...]) }
  }

  /// Adds bytes to the message.
  public mutating func update<C: Collection>(_ bytes: C) where C.Element == UInt8 {
    Array(bytes).withUnsafeBytes { update($0) }
  }

  /// The digest of everything added so far (the hasher itself is left as it was).
  public func finalize() -> [UInt8] {
    var copy = self
    let bitLength = length &* 8
    var tail = copy.pending
    tail.append(0x80)
    while tail.count % 64 != 56 { tail.append(0) }
    for shift in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
    tail.withUnsafeBytes { copy.compress(blocks: $0.baseAddress!, count: tail.count / 64) }
    let words = [copy.h.0, copy.h.1, copy.h.2, copy.h.3, copy.h.4, copy.h.5, copy.h.6, copy.h.7]
    return words.flatMap { w in (0..<4).map { UInt8(truncatingIfNeeded: w >> UInt32(24 - 8 * $0)) } }
  }

  /// The digest as 64 lowercase hexadecimal digits.
  public func hexDigest() -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    for b in finalize() {
      out.append(digits[Int(b >> 4)])
      out.append(digits[Int(b & 0xF)])
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// The hex digest of a whole message.
  public static func hexDigest<C: Collection>(of bytes: C) -> String where C.Element == UInt8 {
    var hasher = SHA256()
    hasher.update(bytes)
    return hasher.hexDigest()
  }

  @inline(__always) private func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }

  private mutating func compress(blocks: UnsafeRawPointer, count: Int) {
    if usesHardware {
      withUnsafeMutableBytes(of: &h) { state in
        latentlab_sha256_hardware_blocks(
          state.baseAddress!.assumingMemoryBound(to: UInt32.self), blocks.assumingMemoryBound(to: UInt8.self), count)
      }
      return
    }
    // The message schedule lives in a fixed stack tuple: no allocation per block.
    var schedule = (
      (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0)),
      (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0)),
      (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0)),
      (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
    )  // 64 words of 32 bits
    SHA256.k.withUnsafeBufferPointer { k in
      withUnsafeMutableBytes(of: &schedule) { raw in
        let w = raw.baseAddress!.assumingMemoryBound(to: UInt32.self)
        let k = k.baseAddress!
        var (h0, h1, h2, h3, h4, h5, h6, h7) = h
        for block in 0..<count {
          let p = blocks + 64 * block
          for t in 0..<16 {
            w[t] = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 4 * t, as: UInt32.self))
          }
          for t in 16..<64 {
            let w15 = w[t - 15]
            let w2 = w[t - 2]
            let s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >> 3)
            let s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >> 10)
            w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
          }
          var (a, b, c, d, e, f, g, hh) = (h0, h1, h2, h3, h4, h5, h6, h7)
          for t in 0..<64 {
            let S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
            let ch = (e & f) ^ (~e & g)
            let t1 = hh &+ S1 &+ ch &+ k[t] &+ w[t]
            let S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
            let maj = (a & b) ^ (a & c) ^ (b & c)
            let t2 = S0 &+ maj
            hh = g; g = f; f = e; e = d &+ t1
            d = c; c = b; b = a; a = t1 &+ t2
          }
          h0 &+= a; h1 &+= b; h2 &+= c; h3 &+= d
          h4 &+= e; h5 &+= f; h6 &+= g; h7 &+= hh
        }
        h = (h0, h1, h2, h3, h4, h5, h6, h7)
      }
    }
  }
}
