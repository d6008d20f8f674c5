import ArgumentParser
import Experiments
import Foundation
import Studies

/// `latentlab sweep`: the seed study's protocol over many seeds, and how each figure is
/// distributed over them.
struct SweepCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sweep",
    abstract: "Run the seed study's protocol (search and both arms) for each of many seeds and summarise them.",
    discussion: """
      Each seed's reproduction goes into DIR/seed-<k> (as latentlab reproduce writes it); the \
      summary is DIR/sweep.html, sweep.md and sweep.json: a row per seed, each figure's mean, \
      standard deviation, min, max and a 95% bootstrap interval, and how many seeds' searches \
      found a configuration within 10% of the published one's test MSE (Wilson interval). \
      Interrupted, the same command continues where it stopped. With --storage URL every \
      seed's search is a study there (PRESET-seedK), which `latentlab worker --storage URL \
      --study 'PRESET-seed*'` processes on other machines share; the result is the same bits.
      """)

  @OptionGroup var options: ProtocolOptions
  @Option(help: ArgumentHelp("Seeds, like 0-9 or 1,4,7.", valueName: "list")) var seeds: String = "0-9"
  @Option(help: ArgumentHelp("The sweep folder.", valueName: "dir")) var out: String?
  @Option(help: ArgumentHelp("Share the seeds' searches here (a folder or postgresql://user@host:port/db).", valueName: "url"))
  var storage: String?

  func run() throws {
    let chosen = try options.chosenPreset()
    let list = try Sweep.parseSeeds(seeds)
    let folder = out ?? "runs/sweep-\(chosen.name)"
    var sweep = Sweep(preset: chosen, seeds: list, threads: options.threads, data: options.data, out: folder, log: say)
    sweep.storage = try storage.map(StorageLocation.init)
    let path = try sweep.run()
    print("The sweep's report is \(path) (and sweep.md, sweep.json beside it).")
  }
}

extension SweepCommand: ContinuableCommand {
  func interruptionNote() -> String {
    "Every finished seed, stage and search trial is kept in \(out ?? "runs/sweep-\(options.preset)"); continue with: \(currentCommandLine())"
  }
}
