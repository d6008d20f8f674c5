import ArgumentParser
import Checkpointing
import Datasets
import Experiments
import Foundation
import HDF5
import Models
import NN
import TensorCore

/// `latentlab evaluate`: a checkpoint's test metrics.
struct EvaluateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "evaluate", abstract: "Print the test-set metrics of a trained model's checkpoint.")

  @Argument(help: ArgumentHelp("A LatentLab checkpoint (.h5).", valueName: "checkpoint")) var checkpoint: String
  @Option(help: ArgumentHelp("Directory holding the Fashion-MNIST IDX files.", valueName: "dir")) var data: String?
  @Option(help: "Worker threads.") var threads: Int = 2
  @Flag(help: "Print the metrics as JSON.") var json = false

  func run() throws {
    guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
    let saved = try CheckpointReader.read(checkpoint)
    let model = try loadModel(saved, path: checkpoint)
    model.parallel = DeterministicParallel(threads: threads)
    let test = try FashionMNIST.load(.test, directory: FashionMNIST.directory(explicit: data))
    if let expected = saved.datasetSHA256["t10k-images-idx3-ubyte"], expected != test.checksums["t10k-images-idx3-ubyte"] {
      FileHandle.standardError.write(Data("warning: the model was trained with other data files (checksums differ)\n".utf8))
    }
    let metrics = try TestMetrics.measure(model, on: LabeledTensor(test))
    if json {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      print(String(decoding: try encoder.encode(metrics), as: UTF8.self))
    } else {
      print(metrics.summary(kind: saved.model) + " (\(checkpoint), epoch \(saved.epoch))")
      if let matrix = metrics.confusionMatrix { print(TestMetrics.table(matrix)) }
    }
  }
}

/// One object of an HDF5 file, for `inspect`.
struct InspectedObject: Encodable {
  var path: String
  var kind: String
  var shape: [Int]?
  var type: String?
  var attributes: [String: String]
}

/// Walks a file's tree, depth first, members in name order.
func walk(_ file: HDF5File, _ group: String = "/") throws -> [InspectedObject] {
  var objects: [InspectedObject] = []
  func attributes(_ path: String) throws -> [String: String] {
    Dictionary(uniqueKeysWithValues: try file.attributeNames(on: path).map { ($0, "\(try file.attribute($0, on: path))") })
  }
  objects.append(InspectedObject(path: group, kind: "group", attributes: try attributes(group)))
  for (name, kind) in try file.children(of: group) {
    let path = (group == "/" ? "" : group) + "/" + name
    switch kind {
    case .group: objects += try walk(file, path)
    case .dataset:
      objects.append(InspectedObject(
        path: path, kind: "dataset", shape: try file.shape(of: path), type: try file.typeName(of: path),
        attributes: try attributes(path)))
    case .other: objects.append(InspectedObject(path: path, kind: "other", attributes: [:]))
    }
  }
  return objects
}

/// `latentlab inspect`: the tree, attributes and shapes of a checkpoint, and whether it is valid.
struct InspectCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "inspect",
    abstract: "Print an HDF5 file's tree, attributes and shapes, and whether it is a valid LatentLab checkpoint.")

  @Argument(help: ArgumentHelp("An HDF5 file.", valueName: "file")) var file: String
  @Flag(help: "Print JSON for machines.") var json = false

  func run() throws {
    let h5 = try HDF5File.open(path: file)
    let objects = try walk(h5)
    try h5.close()
    var verdict: String
    var valid = false
    do {
      let c = try CheckpointReader.read(file)
      let count = c.stateDict.reduce(0) { $0 + $1.tensor.count }
      verdict = "valid LatentLab checkpoint, format version \(Checkpoint.formatVersion): \(c.model.rawValue),"
        + " \(c.stateDict.count) tensors, \(count) parameters, epoch \(c.epoch), step \(c.step), seed \(c.seed)"
      valid = true
    } catch {
      verdict = "not a valid LatentLab checkpoint: \(error)"
    }
    if json {
      struct Report: Encodable {
        var file: String
        var valid: Bool
        var verdict: String
        var objects: [InspectedObject]
      }
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      print(String(decoding: try encoder.encode(Report(file: file, valid: valid, verdict: verdict, objects: objects)), as: UTF8.self))
      return
    }
    print(file)
    for object in objects {
      let depth = object.path == "/" ? 0 : object.path.split(separator: "/").count
      let indent = String(repeating: "  ", count: depth)
      let name = object.path == "/" ? "/" : String(object.path.split(separator: "/").last!)
      switch object.kind {
      case "dataset": print("\(indent)\(name)  \(object.type ?? "?") \(object.shape ?? [])")
      default: print("\(indent)\(name)\(object.kind == "group" && name != "/" ? "/" : "")")
      }
      for (key, value) in object.attributes.sorted(by: { $0.key < $1.key }) {
        let shown = value.count > 100 ? String(value.prefix(97)) + "..." : value
        print("\(indent)  @\(key) = \(shown)")
      }
    }
    print("\nverdict: \(verdict)")
  }
}

/// `latentlab diff`: compare two HDF5 files dataset by dataset and attribute by attribute.
struct DiffCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "diff",
    abstract: "Compare two checkpoints (or any two HDF5 files); exit 0 only when they agree within tolerance.",
    discussion: """
      Numbers agree when |a - b| <= atol + rtol * |b| elementwise (NaN equals NaN); strings \
      must be equal. Prints every difference: objects present in one file only, shapes or \
      types that differ, and for values the largest difference, where, and how many elements \
      are out of tolerance. The software-version attribute is compared too: pass \
      --ignore-attribute software to regression-test across versions.
      """)

  @Argument(help: ArgumentHelp("The file under test.", valueName: "a")) var a: String
  @Argument(help: ArgumentHelp("The reference file.", valueName: "b")) var b: String
  @Option(help: "Relative tolerance.") var rtol: Double = 0
  @Option(help: "Absolute tolerance.") var atol: Double = 0
  @Option(help: ArgumentHelp("An attribute name to leave out (repeatable).", valueName: "name"))
  var ignoreAttribute: [String] = []

  func run() throws {
    guard rtol >= 0, atol >= 0 else { throw ValidationError("--rtol and --atol must be non-negative") }
    let fa = try HDF5File.open(path: a)
    let fb = try HDF5File.open(path: b)
    let oa = Dictionary(uniqueKeysWithValues: try walk(fa).map { ($0.path, $0) })
    let ob = Dictionary(uniqueKeysWithValues: try walk(fb).map { ($0.path, $0) })
    var differences: [String] = []
    for path in Set(oa.keys).union(ob.keys).sorted() {
      guard let x = oa[path] else { differences.append("\(path): only in \(b)"); continue }
      guard let y = ob[path] else { differences.append("\(path): only in \(a)"); continue }
      if x.kind != y.kind { differences.append("\(path): a \(x.kind) in \(a), a \(y.kind) in \(b)"); continue }
      for key in Set(x.attributes.keys).union(y.attributes.keys).sorted() where !ignoreAttribute.contains(key) {
        switch (x.attributes[key], y.attributes[key]) {
        case (nil, _): differences.append("\(path) @\(key): only in \(b)")
        case (_, nil): differences.append("\(path) @\(key): only in \(a)")
        case (let u?, let v?) where u != v:
          if let p = Double(u), let q = Double(v), abs(p - q) <= atol + rtol * abs(q) { continue }
          differences.append("\(path) @\(key): \(u.prefix(60)) vs \(v.prefix(60))")
        default: break
        }
      }
      guard x.kind == "dataset" else { continue }
      if x.shape != y.shape || x.type != y.type {
        differences.append("\(path): \(x.type ?? "?") \(x.shape ?? []) vs \(y.type ?? "?") \(y.shape ?? [])")
        continue
      }
      guard let va = try? fa.readNumeric(path).values, let vb = try? fb.readNumeric(path).values else { continue }
      var worst = 0.0, worstIndex = 0, outside = 0
      for i in 0..<va.count {
        let (p, q) = (va[i], vb[i])
        if p.isNaN && q.isNaN { continue }
        let d = abs(p - q)
        let magnitude = d.isNaN ? Double.infinity : d
        if magnitude > worst { (worst, worstIndex) = (magnitude, i) }
        if !(d <= atol + rtol * abs(q)) { outside += 1 }
      }
      if outside > 0 {
        differences.append(
          "\(path): \(outside) of \(va.count) elements differ beyond atol \(atol) + rtol \(rtol); max abs difference"
            + " \(worst) at index \(worstIndex) (\(va[worstIndex]) vs \(vb[worstIndex]))")
      }
    }
    if differences.isEmpty {
      print("\(a) and \(b) agree (\(oa.count) objects; atol \(atol), rtol \(rtol))")
      return
    }
    print("\(a) and \(b) differ in \(differences.count) place(s):")
    for d in differences { print("  " + d) }
    throw ExitCode(1)
  }
}
