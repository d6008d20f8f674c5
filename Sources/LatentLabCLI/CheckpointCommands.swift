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

/// `latentlab inspect`: the tree, attributes and shapes of a checkpoint, and whether it is valid.
struct InspectCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "inspect",
    abstract: "Print an HDF5 file's tree, attributes and shapes, and whether it is a valid LatentLab checkpoint.",
    discussion: """
      Every dataset is read, so every checksum is verified, and every problem is listed (the \
      tree is printed as far as it can be read). Exit status: 0 for a valid LatentLab \
      checkpoint with every byte intact; 1 for a readable HDF5 file that is not a valid \
      checkpoint; 2 for a damaged or unreadable file (a seal or checksum mismatch, damaged \
      metadata, a missing file, not HDF5 at all).
      """)

  @Argument(help: ArgumentHelp("An HDF5 file.", valueName: "file")) var file: String
  @Flag(help: "Print JSON for machines (the verdict, every problem and the tree).") var json = false

  func run() throws {
    let inspection = CheckpointInspection(file)
    if json {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      print(String(decoding: try encoder.encode(inspection), as: UTF8.self))
    } else {
      print(file)
      for object in inspection.objects {
        let depth = object.path == "/" ? 0 : object.path.split(separator: "/").count
        let indent = String(repeating: "  ", count: depth)
        let name = object.path == "/" ? "/" : String(object.path.split(separator: "/").last ?? "?")
        switch object.kind {
        case "dataset": print("\(indent)\(name)  \(object.type ?? "?") \(object.shape ?? [])")
        default: print("\(indent)\(name)\(object.kind == "group" && name != "/" ? "/" : "")")
        }
        for (key, value) in object.attributes.sorted(by: { $0.key < $1.key }) {
          let shown = value.count > 100 ? String(value.prefix(97)) + "..." : value
          print("\(indent)  @\(key) = \(shown)")
        }
        for problem in object.problems { print("\(indent)  !! \(problem)") }
      }
      print("\nseal: \(inspection.seal)")
      if inspection.problems.count > 1 {
        print("problems (\(inspection.problems.count)):")
        for problem in inspection.problems { print("  " + problem) }
      }
      print("verdict: \(inspection.summary)")
    }
    if inspection.verdict != .valid { throw ExitCode(inspection.verdict.exitStatus) }
  }
}

/// `latentlab diff`: compare two HDF5 files dataset by dataset and attribute by attribute.
struct DiffCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "diff",
    abstract: "Compare two checkpoints (or any two HDF5 files); exit 0 only when they agree within tolerance.",
    discussion: """
      Floating-point values agree when |a - b| <= atol + rtol * |b| elementwise (NaN equals \
      NaN); integers, strings and every other type must be equal exactly. Prints every \
      difference: objects present in one file only, shapes or types that differ, and for \
      values the largest difference, where, and how many elements are out of tolerance. The \
      software-version attribute is compared too: pass --ignore-attribute software to \
      regression-test across versions. Anything that cannot be read (a seal or checksum \
      failure, damaged metadata, a type that cannot be compared, an I/O error) is reported, \
      never skipped. Exit status: 0 the files agree; 1 they differ; 2 a file is damaged or \
      unreadable (whatever else was found).
      """)

  @Argument(help: ArgumentHelp("The file under test.", valueName: "a")) var a: String
  @Argument(help: ArgumentHelp("The reference file.", valueName: "b")) var b: String
  @Option(help: "Relative tolerance (floating-point data).") var rtol: Double = 0
  @Option(help: "Absolute tolerance (floating-point data).") var atol: Double = 0
  @Option(help: ArgumentHelp("An attribute name to leave out (repeatable).", valueName: "name"))
  var ignoreAttribute: [String] = []

  func run() throws {
    guard rtol >= 0, atol >= 0 else { throw ValidationError("--rtol and --atol must be non-negative") }
    let comparison = HDF5Comparison(
      a, b, options: HDF5Comparison.Options(rtol: rtol, atol: atol, ignoredAttributes: Set(ignoreAttribute)))
    switch comparison.outcome {
    case .agree:
      print("\(a) and \(b) agree (\(comparison.objectCount) objects; atol \(atol), rtol \(rtol))")
    case .differ, .damaged:
      if !comparison.damage.isEmpty {
        print("cannot compare everything: \(comparison.damage.count) place(s) could not be read (damaged or unreadable):")
        for d in comparison.damage { print("  " + d) }
      }
      if !comparison.differences.isEmpty {
        print("\(a) and \(b) differ in \(comparison.differences.count) place(s):")
        for d in comparison.differences { print("  " + d) }
      }
      throw ExitCode(comparison.outcome.rawValue)
    }
  }
}
