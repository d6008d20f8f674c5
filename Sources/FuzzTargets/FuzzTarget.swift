import Checkpointing
import Datasets
import Experiments
import Foundation
import TensorCore

#if canImport(Glibc)
  import Glibc
#endif

/// One reader of files users bring, as a fuzz target: bytes in, the reader run on them.
///
/// A target passes when the reader returns or throws (bad input must get an error); a trap
/// (an out-of-range index, an overflow, a failed unwrap) or a crash in a C library is what the
/// fuzzer looks for. Each target writes the bytes to a file named as the reader expects and
/// calls the same public function the command-line tool calls.
public enum FuzzTarget: String, CaseIterable, Sendable {
  /// IDX files as Fashion-MNIST ships them (`IDXReader.read`), uncompressed.
  case idx
  /// The same reader on gzip-compressed IDX files.
  case idxGzip = "idx-gzip"
  /// NumPy `.npy` files (`NumPyArray.read`).
  case npy
  /// `embed --input file.csv` (`MatrixInput.readMatrix`).
  case csvMatrix = "csv-matrix"
  /// `embed --input file.h5:/matrix` (`MatrixInput.readMatrix` through libhdf5).
  case hdf5Matrix = "hdf5-matrix"
  /// `embed --labels` files, text or `.npy` (`MatrixInput.readLabels`).
  case labels
  /// A search's `study.jsonl` (`Study.readTrials`).
  case studyJSONL = "study-jsonl"
  /// A search's `study.json` (`Study.readSettings`).
  case studyJSON = "study-json"
  /// A pipeline run's `run.json` (`RunIdentity.read`).
  case runJSON = "run-json"
  /// Checkpoints: `CheckpointReader.examine` (what `evaluate` and `--resume` read),
  /// `CheckpointInspection` (`inspect`) and `HDF5Comparison` against itself (`diff`).
  case checkpoint

  /// The file name the bytes are written to (its extension chooses the reader's format).
  var fileName: String {
    switch self {
    case .idx: return "input-idx3-ubyte"
    case .idxGzip: return "input-idx3-ubyte.gz"
    case .npy: return "input.npy"
    case .csvMatrix: return "input.csv"
    case .hdf5Matrix, .checkpoint: return "input.h5"
    case .labels: return "labels.txt"
    case .studyJSONL: return "study.jsonl"
    case .studyJSON: return "study.json"
    case .runJSON: return "run.json"
    }
  }

  /// A folder of this process's own for the inputs (on tmpfs where there is one).
  static let folder: String = {
    let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    let path = base + "/latentlab-fuzz-\(getpid())"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }()

  /// Runs the reader on `bytes`; returns whether it accepted them (false: it threw).
  @discardableResult
  public func run(_ bytes: UnsafeRawBufferPointer) -> Bool {
    let path = FuzzTarget.folder + "/" + fileName
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { fatalError("fuzz: cannot write \(path): \(String(cString: strerror(errno)))") }
    if let base = bytes.baseAddress, bytes.count > 0 {
      guard write(fd, base, bytes.count) == bytes.count else { fatalError("fuzz: short write to \(path)") }
    }
    close(fd)
    do {
      try read(path)
      return true
    } catch {
      return false
    }
  }

  /// Runs the reader on the bytes of a file.
  @discardableResult
  public func run(_ data: Data) -> Bool { data.withUnsafeBytes { run($0) } }

  private func read(_ path: String) throws {
    switch self {
    case .idx, .idxGzip: _ = try IDXReader.read(path: path)
    case .npy:
      // Every reader of .npy input sees the bytes; errors are expected, crashes are not.
      _ = try? MatrixInput.readMatrix(path)
      _ = try? MatrixInput.readLabels(path)
      _ = try NumPyArray.read(path: path)
    case .csvMatrix: _ = try MatrixInput.readMatrix(path)
    case .hdf5Matrix: _ = try MatrixInput.readMatrix(path + ":/matrix")
    case .labels:
      _ = try MatrixInput.readLabels(path)
    case .studyJSONL: _ = try Study.readTrials(path)
    case .studyJSON: _ = try Study.readSettings(path)
    case .runJSON: _ = try RunIdentity.read(path)
    case .checkpoint:
      let examination = CheckpointReader.examine(path)
      _ = CheckpointInspection(path)
      _ = HDF5Comparison(path, path)
      if let first = examination.problems.first { throw first }
    }
  }
}
