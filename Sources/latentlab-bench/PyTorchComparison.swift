import Foundation
import TensorCore

/// PyTorch on the benchmark's autoencoder step, measured in the same minutes as LatentLab.
///
/// Runs `scripts/compare-pytorch-step.py` (from the working directory, as `make bench` runs
/// it), which alternates PyTorch and this executable round by round, and turns its rates into
/// one figure per step and thread count: the median of the rounds' ratios LatentLab / PyTorch,
/// against the goals of issue 15 (training at least 2.5x, inference at least 3.5x; the script
/// holds them and computes the rounds' statistics). On the AVX2 path (an AVX2-only CPU, or
/// `LATENTLAB_ISA=avx2`) PyTorch is restricted to AVX2 as well (the script's `--isa avx2`). PyTorch is a tool for the check, never a dependency: without
/// it (or without the script) the case says so on standard error and gives no figures.
enum PyTorchComparison {
  /// Rounds of the comparison, each PyTorch (1 and 2 threads) then LatentLab.
  static let rounds = 2
  /// The script, relative to the repository's root.
  static let script = "scripts/compare-pytorch-step.py"
  /// The script ran but gave no comparison: what went wrong, naming the script.
  enum Failure: Error, CustomStringConvertible {
    case script(String)
    var description: String {
      switch self { case .script(let what): "PyTorch comparison: \(what)" }
    }
  }

  /// What the script's last line holds (its `--json`): per figure ("train.threads1", ...) the
  /// statistics of its rounds, computed there against the goals.
  struct Report: Decodable {
    struct Statistics: Decodable {
      var goal: Double
      var rounds: Int
      var met: Int
      var latentlab: [Double]
      var pytorch: [Double]
      var ratio: [Double]
      var ratio_median: Double
    }
    var pytorch: String
    var capability: String
    var figures: [String: Statistics]
  }

  /// Why the comparison cannot run here, or nil when it can.
  static func unavailable() -> String? {
    guard FileManager.default.fileExists(atPath: script) else {
      return "\(script) not found from \(FileManager.default.currentDirectoryPath) (run from the repository's root)"
    }
    let probe = Process()
    probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    probe.arguments = ["python3", "-c", "import torch"]
    probe.standardOutput = FileHandle.nullDevice
    probe.standardError = FileHandle.nullDevice
    guard (try? probe.run()) != nil else { return "python3 cannot be started" }
    probe.waitUntilExit()
    return probe.terminationStatus == 0
      ? nil : "PyTorch is not importable (python3 -m pip install torch, or PYTHONPATH to where it is)"
  }

  /// The ratio figures, or none (with the reason on standard error) when PyTorch is not at hand.
  /// - Throws: `Failure.script` when the script fails or its last line is not its
  ///   JSON report.
  static func figures() throws -> [Figure] {
    if let reason = unavailable() {
      FileHandle.standardError.write("pytorch.compare: skipped: \(reason)\n".data(using: .utf8)!)
      return []
    }
    let avx2 = InstructionSet.selected == .avx2
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", script, "--rounds", String(rounds), "--json",
      "--latentlab", URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path]
      + (avx2 ? ["--isa", "avx2"] : [])
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    // The rounds' lines go to standard error as they come (they are the progress); the last
    // line is the report.
    var pending = Data()
    var lastLine = ""
    while true {
      let chunk = pipe.fileHandleForReading.availableData
      if chunk.isEmpty { break }
      pending.append(chunk)
      while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
        let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
        pending.removeSubrange(pending.startIndex...newline)
        if line.hasPrefix("{") { lastLine = line } else {
          FileHandle.standardError.write("pytorch.compare: \(line)\n".data(using: .utf8)!)
        }
      }
    }
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw Failure.script("\(script) exited with status \(process.terminationStatus)")
    }
    guard let report = try? JSONDecoder().decode(Report.self, from: Data(lastLine.utf8)) else {
      throw Failure.script("\(script) did not end with its JSON report (--json)")
    }
    var figures: [Figure] = []
    for key in ["train.threads1", "infer.threads1", "train.threads2", "infer.threads2"] {
      guard let f = report.figures[key], f.latentlab.count == 2, f.pytorch.count == 2, f.ratio.count == 2 else {
        throw Failure.script("\(script)'s report lacks \(key) or its ranges")
      }
      figures.append(Figure(
        name: "pytorch.\(key).ratio", value: f.ratio_median, unit: "x", goal: ">= \(f.goal)",
        note: "median of \(f.rounds) rounds alternating (\(f.met) at the goal), "
          + String(format: "ratio %.2f-%.2f; LatentLab %.0f-%.0f, PyTorch ", f.ratio[0], f.ratio[1],
            f.latentlab[0], f.latentlab[1])
          + "\(report.pytorch) (\(report.capability)) "
          + String(format: "%.0f-%.0f img/s", f.pytorch[0], f.pytorch[1])))
    }
    return figures
  }
}
