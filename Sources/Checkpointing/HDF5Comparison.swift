import Foundation
import HDF5

/// How two HDF5 files compare: object by object, attribute by attribute, value by value.
///
/// Floating-point data agree when `|a - b| <= atol + rtol * |b|` elementwise (NaN equals NaN);
/// integers, strings, attributes of other types and datasets of any other type must be equal
/// exactly. Anything that cannot be read in either file (a seal or checksum failure, damaged
/// metadata, a type LatentLab cannot compare, an I/O error) is never skipped: it is `damage`,
/// and the comparison cannot say the files agree.
public struct HDF5Comparison {
  /// Tolerances and what to leave out.
  public struct Options: Sendable {
    public var rtol: Double
    public var atol: Double
    /// Attribute names not compared (e.g. `software` across versions).
    public var ignoredAttributes: Set<String>

    public init(rtol: Double = 0, atol: Double = 0, ignoredAttributes: Set<String> = []) {
      self.rtol = rtol
      self.atol = atol
      self.ignoredAttributes = ignoredAttributes
    }
  }

  /// The verdict, with the exit status `latentlab diff` gives it.
  public enum Outcome: Int32, Sendable {
    /// Everything agrees within tolerance.
    case agree = 0
    /// Both files were read whole, and something differs.
    case differ = 1
    /// A file is damaged or unreadable (whatever else was found).
    case damaged = 2
  }

  /// The files compared (a: under test, b: reference).
  public let a: String, b: String
  /// Where the files differ, one line each.
  public private(set) var differences: [String] = []
  /// What could not be read or compared, one line each (with the file and the reason).
  public private(set) var damage: [String] = []
  /// Objects compared.
  public private(set) var objectCount = 0

  public var outcome: Outcome { !damage.isEmpty ? .damaged : differences.isEmpty ? .agree : .differ }

  /// Compares the file at `a` with the reference at `b`.
  public init(_ a: String, _ b: String, options: Options = Options()) {
    self.a = a
    self.b = b
    // Both files are opened, so that damage in either is reported.
    let (first, second) = (open(a), open(b))
    guard let (fa, ta) = first, let (fb, tb) = second else { return }
    defer {
      try? fa.close()
      try? fb.close()
    }
    for object in ta.objects { damage += object.problems.map { "\(a): \(object.path): \($0)" } }
    for object in tb.objects { damage += object.problems.map { "\(b): \(object.path): \($0)" } }
    let oa = Dictionary(ta.objects.map { ($0.path, $0) }, uniquingKeysWith: { x, _ in x })
    let ob = Dictionary(tb.objects.map { ($0.path, $0) }, uniquingKeysWith: { x, _ in x })
    objectCount = Set(oa.keys).union(ob.keys).count
    for path in Set(oa.keys).union(ob.keys).sorted() {
      guard let x = oa[path] else { differences.append("\(path): only in \(b)"); continue }
      guard let y = ob[path] else { differences.append("\(path): only in \(a)"); continue }
      if x.kind != y.kind { differences.append("\(path): a \(x.kind) in \(a), a \(y.kind) in \(b)"); continue }
      compareAttributes(x, y, options)
      guard x.kind == "dataset", x.problems.isEmpty, y.problems.isEmpty else { continue }
      if x.shape != y.shape || x.type != y.type {
        differences.append("\(path): \(x.type ?? "?") \(x.shape ?? []) vs \(y.type ?? "?") \(y.shape ?? [])")
        continue
      }
      compareValues(path, fa, fb, options)
    }
  }

  /// Opens a file and walks it; records why not.
  private mutating func open(_ path: String) -> (HDF5File, HDF5Tree)? {
    var seal: CheckpointSeal.Status?
    do {
      seal = try CheckpointSeal.verify(path)
    } catch {
      damage.append("\(error)")
    }
    do {
      let file = try HDF5File.open(path: path, trusted: seal == .intact)
      return (file, HDF5Tree(file))
    } catch {
      damage.append("\(error)")
      return nil
    }
  }

  private mutating func compareAttributes(_ x: HDF5TreeObject, _ y: HDF5TreeObject, _ options: Options) {
    let path = x.path
    for key in Set(x.attributeValues.keys).union(y.attributeValues.keys).sorted() where !options.ignoredAttributes.contains(key) {
      switch (x.attributeValues[key], y.attributeValues[key]) {
      case (nil, _):
        // An attribute that could not be read is damage, already recorded.
        if x.problems.isEmpty { differences.append("\(path) @\(key): only in \(b)") }
      case (_, nil):
        if y.problems.isEmpty { differences.append("\(path) @\(key): only in \(a)") }
      case (let u?, let v?) where u != v:
        if case .double(let p) = u, case .double(let q) = v, Self.agree(p, q, options) { continue }
        differences.append("\(path) @\(key): \(u.description.prefix(60)) vs \(v.description.prefix(60))")
      default: break
      }
    }
  }

  private static func agree(_ p: Double, _ q: Double, _ options: Options) -> Bool {
    (p.isNaN && q.isNaN) || abs(p - q) <= options.atol + options.rtol * abs(q)
  }

  private mutating func compareValues(_ path: String, _ fa: HDF5File, _ fb: HDF5File, _ options: Options) {
    let va: HDF5DatasetValues, vb: HDF5DatasetValues
    do { va = try fa.readValues(path).values } catch {
      damage.append("\(error)")
      return
    }
    do { vb = try fb.readValues(path).values } catch {
      damage.append("\(error)")
      return
    }
    switch (va, vb) {
    case (.floats(let p), .floats(let q)):
      var worst = 0.0, worstIndex = 0, outside = 0
      for i in p.indices where !Self.agree(p[i], q[i], options) {
        outside += 1
        let d = abs(p[i] - q[i])
        let magnitude = d.isNaN ? Double.infinity : d
        if magnitude >= worst { (worst, worstIndex) = (magnitude, i) }
      }
      if outside > 0 {
        differences.append(
          "\(path): \(outside) of \(p.count) elements differ beyond atol \(options.atol) + rtol \(options.rtol);"
            + " max abs difference \(worst) at index \(worstIndex) (\(p[worstIndex]) vs \(q[worstIndex]))")
      }
    case (.signedIntegers(let p), .signedIntegers(let q)): exact(path, p, q)
    case (.unsignedIntegers(let p), .unsignedIntegers(let q)): exact(path, p, q)
    case (.strings(let p), .strings(let q)): exact(path, p, q) { "\"\($0.prefix(40))\"" }
    case (.bytes(let p, let size), .bytes(let q, _)):
      let elements = { (x: [UInt8]) in stride(from: 0, to: x.count, by: max(size, 1)).map { Array(x[$0..<min($0 + size, x.count)]) } }
      exact(path, elements(p), elements(q)) { $0.map { String(format: "%02x", $0) }.joined() }
    default:
      differences.append("\(path): values of different kinds")
    }
  }

  /// Records where two element lists (of the same length) differ: they must be equal.
  private mutating func exact<T: Equatable>(_ path: String, _ p: [T], _ q: [T], show: (T) -> String = { "\($0)" }) {
    var outside = 0
    var first: Int?
    for i in p.indices where p[i] != q[i] {
      outside += 1
      if first == nil { first = i }
    }
    guard let first else { return }
    differences.append(
      "\(path): \(outside) of \(p.count) elements differ (compared exactly); first at index \(first)"
        + " (\(show(p[first])) vs \(show(q[first])))")
  }
}
