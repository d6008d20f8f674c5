import Foundation
import HDF5

/// What `latentlab inspect` reports of a file: its tree as far as it can be read, whether it
/// is a valid LatentLab checkpoint, and every problem found.
public struct CheckpointInspection: Encodable {
  /// The verdict, with the exit status `latentlab inspect` gives it.
  public enum Verdict: String, Encodable, Sendable {
    /// A valid LatentLab checkpoint, every byte intact (exit 0).
    case valid
    /// A readable HDF5 file that is not a valid LatentLab checkpoint (exit 1).
    case invalid
    /// A damaged or unreadable file (exit 2).
    case damaged

    public var exitStatus: Int32 {
      switch self {
      case .valid: return 0
      case .invalid: return 1
      case .damaged: return 2
      }
    }
  }

  public var file: String
  public var verdict: Verdict
  /// Whether the verdict is `valid` (kept for readers of the first JSON form).
  public var valid: Bool
  /// One line: what the file is, or the first problem.
  public var summary: String
  /// The seal: `intact`, `absent` (no seal: another writer), or `damaged`.
  public var seal: String
  /// Every problem found, in file order.
  public var problems: [String]
  public var objects: [HDF5TreeObject]

  /// Inspects the file at `path`: seal, tree, every dataset's data (checksums), and the
  /// checkpoint's validity.
  public init(_ path: String) {
    file = path
    var problems: [String] = []
    var damaged = false
    objects = []
    var sealProblems: [Error] = []
    var trusted = false
    do {
      trusted = try CheckpointSeal.verify(path) == .intact
      seal = trusted ? "intact" : "absent"
    } catch {
      seal = CheckpointError.isDamage(error) ? "damaged" : "unreadable"
      sealProblems.append(error)
    }
    let examination: CheckpointExamination
    do {
      let h5 = try HDF5File.open(path: path, trusted: trusted)
      defer { try? h5.close() }
      objects = HDF5Tree(h5).objects
      for i in objects.indices where objects[i].kind == "dataset" && objects[i].problems.isEmpty {
        do { _ = try h5.readValues(objects[i].path) } catch { objects[i].problems.append("\(error)") }
      }
      for object in objects where !object.problems.isEmpty {
        damaged = true
        problems += object.problems.map { "\(object.path): \($0)" }
      }
      examination = CheckpointReader.examine(h5, after: sealProblems)
    } catch {
      examination = CheckpointExamination(checkpoint: nil, problems: sealProblems + [error])
    }
    // The seal's problem first, then the walk's; the checkpoint's reader meets again what they
    // met (the seal, a dataset read twice, the file's own damage list): say each once.
    problems = sealProblems.map { "\($0)" } + problems
    for problem in examination.problems.map({ "\($0)" })
    where !problems.contains(where: { problem.contains($0) || $0.contains(problem) }) {
      problems.append(problem)
    }
    damaged = damaged || examination.isDamaged
    self.problems = problems
    if let c = examination.checkpoint, problems.isEmpty {
      verdict = .valid
      let count = c.stateDict.reduce(0) { $0 + $1.tensor.count }
      summary = "valid LatentLab checkpoint, format version \(Checkpoint.formatVersion): \(c.model.rawValue),"
        + " \(c.stateDict.count) tensors, \(count) parameters, epoch \(c.epoch), step \(c.step), seed \(c.seed)"
        + (seal == "intact" ? ", sealed" : ", unsealed")
    } else {
      verdict = damaged ? .damaged : .invalid
      summary = (damaged ? "damaged or unreadable file: " : "not a valid LatentLab checkpoint: ")
        + (problems.first ?? "unknown problem")
    }
    valid = verdict == .valid
  }
}
