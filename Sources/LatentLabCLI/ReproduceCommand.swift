import Analysis
import ArgumentParser
import Datasets
import Experiments
import Foundation
import Studies
import TensorCore

/// `latentlab reproduce`: the seed study end to end, with a report.
struct ReproduceCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "reproduce",
    abstract: "Reproduce the seed study from one seed: search, retrain, embeddings, generation, classifier, VAE, report.",
    discussion: """
      After the search, two arms: the seed report's published configuration (DIR/published/) \
      and the search winner (DIR/autoencoder/, embedding/, generated/, classifier/, vae/). A \
      re-run skips the stages already done, so an interrupted run continues. The report is \
      DIR/report.html (self-contained) and DIR/report.md. --preset seed follows the seed \
      report's protocol; --preset quick runs the same pipeline on 6,000 images in under a minute. \
      --space FILE.json searches another space (docs/search-space.md; Spaces/ holds the shipped ones).
      """)

  @OptionGroup var options: ProtocolOptions
  @Option(help: "The run's seed.") var seed: UInt64 = 0
  @Option(help: ArgumentHelp("The run folder.", valueName: "dir")) var out: String?
  @Option(help: ArgumentHelp(
    "Run the search on a shared study here (a folder or postgresql://user@host:port/db); other workers may join it.",
    valueName: "url")) var storage: String?
  @Option(help: ArgumentHelp("The shared study's name (default: PRESET-seedN).", valueName: "name")) var study: String?
  @Option(help: ArgumentHelp(
    "t-SNE's method for the embedding stages not yet done: bh, fft or auto (the preset's: FFT from \(TSNEAlgorithm.fftThreshold) points).",
    valueName: "method")) var tsneAlgorithm: String?

  func validate() throws {
    if let tsneAlgorithm, TSNEAlgorithm(rawValue: tsneAlgorithm) == nil {
      throw ValidationError("--tsne-algorithm must be bh, fft or auto, got \(tsneAlgorithm)")
    }
  }

  func run() throws {
    var chosen = try options.chosenPreset()
    if let method = tsneAlgorithm.flatMap(TSNEAlgorithm.init(rawValue:)) { chosen.embedding.tsneAlgorithm = method }
    var pipeline = ReproducePipeline(
      preset: chosen, seed: seed, threads: options.threads, data: options.data, out: out ?? "runs/\(chosen.name)-seed\(seed)",
      log: { print($0) })
    pipeline.storage = try storage.map(StorageLocation.init)
    pipeline.studyName = study
    let path = try pipeline.run()
    print("The report is \(path) (and report.md beside it).")
  }
}

extension ReproduceCommand: ContinuableCommand {
  func interruptionNote() -> String {
    "Every finished stage, search trial and training epoch is kept in \(out ?? "runs/\(options.preset)-seed\(seed)"); continue with: \(currentCommandLine())"
  }
}
