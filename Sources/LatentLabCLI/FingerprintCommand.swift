import ArgumentParser
import Experiments
import Foundation
import TensorCore

/// `latentlab fingerprint`: the SHA-256s of a fixed short run, to compare a build and a
/// machine with the published ones.
struct FingerprintCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "fingerprint",
    abstract: "Run a fixed short training, PCA and t-SNE and print the SHA-256 of their results.",
    discussion: """
      The same on every machine that takes the same code path (the first line names it; \
      LATENTLAB_ISA=portable|avx2|avx512 forces one). The README lists the published values \
      for each path; a different line means this build or machine computes other bits.
      """)

  @Option(help: ArgumentHelp("Directory holding the Fashion-MNIST IDX files.", valueName: "dir")) var data: String?
  @Flag(help: "Print JSON instead of lines.") var json = false

  func run() throws {
    let fingerprint = try Fingerprint.compute(data: data)
    if json {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
      print(String(decoding: try encoder.encode(fingerprint), as: UTF8.self))
      return
    }
    print("path \(fingerprint.path) (\(InstructionSet.cpuModel); OpenBLAS kernels \(BLAS.coreName))")
    for line in fingerprint.lines { print(line) }
  }
}
