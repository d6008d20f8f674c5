import ArgumentParser
import Experiments

/// The flags every command that runs the seed study's protocol shares (`reproduce`, `search`,
/// `sweep`): the preset, its search space, threads and the data folder.
struct ProtocolOptions: ParsableArguments {
  @Option(help: "seed (the seed report's protocol) or quick (the same on 6,000 images, in about a minute).")
  var preset: String = "seed"
  @Option(help: ArgumentHelp("A search space (JSON, docs/search-space.md); default: the problem statement's.", valueName: "file"))
  var space: String?
  @Option(help: ArgumentHelp("Search trials (default: the preset's: 10 for seed, 3 for quick).", valueName: "n"))
  var trials: Int?
  @Option(help: "Worker threads. Results are bit-identical for any count.") var threads: Int = 2
  @Option(help: ArgumentHelp("Directory holding the Fashion-MNIST IDX files.", valueName: "dir")) var data: String?

  func validate() throws {
    guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
    if let trials, trials < 1 { throw ValidationError("--trials must be at least 1, got \(trials)") }
  }

  /// The preset the flags name, with its space.
  func chosenPreset() throws -> Preset {
    var chosen = try Preset.named(preset, space: space)
    if let trials { chosen.search.trials = trials }
    return chosen
  }
}
