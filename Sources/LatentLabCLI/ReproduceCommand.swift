import ArgumentParser
import Datasets
import Experiments
import Foundation
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

  func run() throws {
    let chosen = try options.chosenPreset()
    let pipeline = ReproducePipeline(
      preset: chosen, seed: seed, threads: options.threads, data: options.data, out: out ?? "runs/\(chosen.name)-seed\(seed)",
      log: { print($0) })
    let path = try pipeline.run()
    print("The report is \(path) (and report.md beside it).")
  }
}

/// `latentlab search`: run or resume the random search alone and print the trial table.
struct SearchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "search",
    abstract: "Run (or resume) the seeded random search with k-fold cross-validation and print the trial table.")

  @OptionGroup var options: ProtocolOptions
  @Option(help: "The study's seed.") var seed: UInt64 = 0
  @Option(help: ArgumentHelp("The study folder (study.json, study.jsonl).", valueName: "dir")) var out: String?

  func run() throws {
    let chosen = try options.chosenPreset()
    let runData = try RunData.load(data: options.data, seed: seed, subset: chosen.subset, validationFraction: 0)
    let study = Study(
      settings: StudySettings(preset: chosen, seed: seed),
      folder: out ?? "runs/search-\(chosen.name)-seed\(seed)", threads: options.threads)
    let results = try study.run(data: runData.train, log: { print($0) })
    print(Study.table(results))
    if let best = Study.best(results) { print("best: trial \(best.trial + 1), mean validation MSE \(String(format: "%.4f", best.meanMSE))") }
  }
}

extension ReproduceCommand: ContinuableCommand {
  func interruptionNote() -> String {
    "Every finished stage and search trial is kept in \(out ?? "runs/\(options.preset)-seed\(seed)"); continue with: \(currentCommandLine())"
  }
}

extension SearchCommand: ContinuableCommand {
  func interruptionNote() -> String {
    let folder = out ?? "runs/search-\(options.preset)-seed\(seed)"
    let kept = (try? String(contentsOfFile: folder + "/study.jsonl", encoding: .utf8))?.split(separator: "\n").count ?? 0
    return "Kept \(kept) finished trial(s) in \(folder)/study.jsonl; continue with: \(currentCommandLine())"
  }
}
