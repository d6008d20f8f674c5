import ArgumentParser
import Datasets
import Experiments
import Foundation
import TensorCore

/// `latentlab data`: inspect and check the data set.
struct DataCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "data",
    abstract: "Inspect and check the Fashion-MNIST files.",
    subcommands: [Verify.self]
  )

  /// `latentlab data verify`: load all four files and check them.
  struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Load the four Fashion-MNIST files, check them, and print counts, class balance and checksums.",
      discussion: """
        Each file may be raw or gzip-compressed (NAME or NAME.gz). The SHA-256 of each \
        decompressed file must equal the published value; any problem is reported with the \
        file's path and a non-zero exit status.
        """
    )

    @Option(name: .long, help: ArgumentHelp("Directory holding the IDX files.", valueName: "dir"))
    var data: String?

    func run() throws {
      let directory = FashionMNIST.directory(explicit: data)
      print("Fashion-MNIST in \(directory)")
      for split in FashionMNIST.Split.allCases {
        let start = ProgressReporter.monotonicSeconds()
        let set = try FashionMNIST.load(split, directory: directory)
        let seconds = ProgressReporter.monotonicSeconds() - start
        let (n, c, h, w) = set.images.shape4
        print("\n\(split.rawValue): \(n) images of \(c)x\(h)x\(w), \(set.labels.count) labels"
          + " (loaded in \(String(format: "%.2f", seconds)) s)")
        let counts = set.classCounts(classes: FashionMNIST.classNames.count)
        for (label, name) in FashionMNIST.classNames.enumerated() {
          let share = 100 * Double(counts[label]) / Double(max(n, 1))
          print("  \(label) \(name.padding(toLength: 12, withPad: " ", startingAt: 0))"
            + " \(String(counts[label]).leftPadded(6)) (\(String(format: "%.1f", share))%)")
        }
        for name in [split.imagesFile, split.labelsFile] {
          print("  sha256 \(set.checksums[name] ?? "?")  \(name)  ok")
        }
      }
      print("\nAll four files verified.")
    }
  }
}
