import Datasets
import Figures
import Foundation
import Models
import Studies
import TensorCore

/// The seed report's protocol over many seeds: one reproduction per seed (search and both
/// arms, in `seed-<k>/`), then how each figure is distributed over the seeds. It answers how
/// lucky one seed's search was.
///
/// Resumable as each reproduction is: a re-run skips every finished stage of every seed.
/// The report (`sweep.md`, `sweep.html`, `sweep.json`): a row per seed; for each figure the
/// mean, standard deviation, min, max and a 95% bootstrap interval of the mean (the
/// `sweep/bootstrap` stream of seed 0, so the report is reproducible); how many seeds' searches
/// found a configuration within 10% of the published autoencoder's test MSE (of the same
/// seed), with a Wilson interval; a figure per metric with every seed's value and the seed
/// report's number.
public struct Sweep {
  public var preset: Preset
  public var seeds: [UInt64]
  public var threads: Int
  public var data: String?
  public var out: String
  public var log: (String) -> Void
  /// A shared study storage: every seed's search is created there first (as `PRESET-seedK`,
  /// the names `reproduce --storage` uses) so that `latentlab worker --study 'PRESET-seed*'`
  /// processes anywhere can run any seed's trials while this one works through the seeds.
  public var storage: StorageLocation?

  public init(
    preset: Preset, seeds: [UInt64], threads: Int, data: String?, out: String, log: @escaping (String) -> Void = { _ in }
  ) {
    self.preset = preset
    self.seeds = seeds
    self.threads = threads
    self.data = data
    self.out = out
    self.log = log
  }

  /// Parses a seed list: `0-9`, `3`, `1,4,7` or a mix (`0-2,7`).
  /// - Throws: `ExperimentError.invalid` for anything else, an empty list or a repeated seed.
  public static func parseSeeds(_ text: String) throws -> [UInt64] {
    var seeds: [UInt64] = []
    for part in text.split(separator: ",") {
      let bounds = part.split(separator: "-", omittingEmptySubsequences: false).map {
        UInt64($0.trimmingCharacters(in: .whitespaces))
      }
      switch bounds.count {
      case 1 where bounds[0] != nil: seeds.append(bounds[0]!)
      case 2 where bounds[0] != nil && bounds[1] != nil && bounds[0]! <= bounds[1]!: seeds += Array(bounds[0]!...bounds[1]!)
      default: throw ExperimentError.invalid("--seeds: expected seeds like 0-9 or 1,4,7, got \"\(text)\"")
      }
    }
    guard !seeds.isEmpty, Set(seeds).count == seeds.count else {
      throw ExperimentError.invalid("--seeds: expected distinct seeds like 0-9, got \"\(text)\"")
    }
    guard seeds.count <= 1000, seeds.allSatisfy({ $0 <= UInt64(Int64.max) }) else {
      throw ExperimentError.invalid("--seeds: at most 1,000 seeds, each at most \(Int64.max)")
    }
    return seeds
  }

  /// Runs every seed's reproduction not yet finished, then writes the sweep's report; returns
  /// the HTML report's path.
  @discardableResult
  public func run() throws -> String {
    let started = ProgressReporter.monotonicSeconds()
    if let storage {
      for seed in seeds {
        try Study(
          settings: StudySettings(preset: preset, seed: seed), location: storage, name: Study.sharedName(preset: preset, seed: seed),
          folder: nil, threads: threads
        ).prepare(log: log)
      }
      log("\(seeds.count) studies in \(storage); other machines may run their trials with:"
        + " latentlab worker --storage URL --study '\(preset.name)-seed*'")
    }
    var rows: [SweepRow] = []
    for (i, seed) in seeds.enumerated() {
      log("=== seed \(seed) (\(i + 1) of \(seeds.count))")
      let folder = "\(out)/seed-\(seed)"
      var pipeline = ReproducePipeline(preset: preset, seed: seed, threads: threads, data: data, out: folder, log: log)
      pipeline.storage = storage
      try pipeline.run()
      let numbers = try JSONDecoder().decode(
        StudyReport.Numbers.self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/report.json")))
      rows.append(SweepRow(seed: seed, numbers: numbers))
    }
    let report = SweepReport(preset: preset, rows: rows, seconds: ProgressReporter.monotonicSeconds() - started)
    return try report.write(to: out)
  }
}

/// One seed's figures in a sweep.
public struct SweepRow: Codable, Equatable, Sendable {
  public var seed: UInt64
  public var numbers: StudyReport.Numbers

  /// Whether the seed's search found a configuration within 10% of the published autoencoder's
  /// test MSE.
  public var searchFoundIt: Bool {
    numbers.searchWinner.autoencoderTestMSE <= 1.1 * numbers.published.autoencoderTestMSE
  }
}

/// A sweep's report.
public struct SweepReport {
  public var preset: Preset
  public var rows: [SweepRow]
  public var seconds: Double

  public init(preset: Preset, rows: [SweepRow], seconds: Double) {
    self.preset = preset
    self.rows = rows
    self.seconds = seconds
  }

  /// The six figures a row holds: (key, words, seed report's figure, the value of a row).
  static let figures: [(key: String, words: String, reference: SeedReport.Figure, value: (SweepRow) -> Double)] = [
    ("published_autoencoder_test_mse", "published configuration: autoencoder test MSE", SeedReport.autoencoderTestMSE,
     { $0.numbers.published.autoencoderTestMSE }),
    ("published_classifier_test_accuracy", "published configuration: classifier test accuracy", SeedReport.classifierTestAccuracy,
     { $0.numbers.published.classifierTestAccuracy }),
    ("published_vae_test_mse", "published configuration: VAE test MSE", SeedReport.vaeTestMSE,
     { $0.numbers.published.vaeTestMSE }),
    ("winner_autoencoder_test_mse", "search winner: autoencoder test MSE", SeedReport.autoencoderTestMSE,
     { $0.numbers.searchWinner.autoencoderTestMSE }),
    ("winner_classifier_test_accuracy", "search winner: classifier test accuracy", SeedReport.classifierTestAccuracy,
     { $0.numbers.searchWinner.classifierTestAccuracy }),
    ("winner_vae_test_mse", "search winner: VAE test MSE", SeedReport.vaeTestMSE, { $0.numbers.searchWinner.vaeTestMSE }),
  ]

  /// What `sweep.json` holds.
  public struct Summary: Codable, Equatable {
    public var preset: String
    public var space: String
    public var seeds: [SweepRow]
    public var statistics: [String: SeedStatistics]
    /// Seeds whose search found a configuration within 10% of the published autoencoder's MSE.
    public var searchFoundIt: Int
    public var searchFoundItInterval95: [Double]
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
      case preset, space, seeds, statistics, seconds
      case searchFoundIt = "search_found_it"
      case searchFoundItInterval95 = "search_found_it_interval_95"
    }
  }

  /// The summary: statistics of every figure (bootstrap from the `sweep/bootstrap` stream).
  public func summary() -> Summary {
    var statistics: [String: SeedStatistics] = [:]
    var g = SeededGenerator(seed: 0, streamName: "sweep/bootstrap")
    for figure in Self.figures { statistics[figure.key] = SeedStatistics(rows.map(figure.value), generator: &g) }
    let found = rows.filter(\.searchFoundIt).count
    return Summary(
      preset: preset.name, space: preset.search.space.name, seeds: rows, statistics: statistics, searchFoundIt: found,
      searchFoundItInterval95: wilsonInterval(successes: found, trials: rows.count), seconds: seconds)
  }

  /// Writes `sweep.json`, `sweep.md`, `sweep.html` and one SVG per figure into `folder`;
  /// returns the HTML's path.
  public func write(to folder: String) throws -> String {
    let s = summary()
    try writeJSON(s, to: folder + "/sweep.json")
    func show(_ figure: SeedReport.Figure, _ x: Double) -> String {
      figure.lowerIsBetter ? String(format: "%.4f", x) : String(format: "%.1f%%", x * 100)
    }
    let statisticsRows: [[String]] = Self.figures.map { figure in
      let st = s.statistics[figure.key]!
      let met = rows.filter { figure.reference.isMet(by: figure.value($0)) }.count
      return [
        figure.words, figure.reference.written, show(figure.reference, st.mean), show(figure.reference, st.standardDeviation),
        show(figure.reference, st.minimum), show(figure.reference, st.maximum),
        "[\(show(figure.reference, st.interval95[0])), \(show(figure.reference, st.interval95[1]))]",
        "\(met) of \(rows.count)",
      ]
    }
    let header = ["figure", "seed report", "mean", "sd", "min", "max", "95% interval of the mean", "seeds meeting the tolerance"]
    let perSeed: [[String]] = rows.map { row in
      ["\(row.seed)"] + Self.figures.map { show($0.reference, $0.value(row)) }
        + ["\(row.numbers.bestTrial)", "\(row.numbers.collapsedTrials)", row.searchFoundIt ? "yes" : "no"]
    }
    let perSeedHeader = ["seed"] + Self.figures.map(\.words) + ["best trial", "trials no better than the mean image", "search found it"]
    let interval = s.searchFoundItInterval95.map { String(format: "%.0f%%", $0 * 100) }
    let answer = "Over \(rows.count) seeds (preset \(preset.name), space \"\(preset.search.space.name)\"), the search found a "
      + "configuration within 10% of the published autoencoder's test MSE in \(s.searchFoundIt) of \(rows.count) seeds "
      + "(95% Wilson interval \(interval[0])–\(interval[1])). Wall time \(String(format: "%.0f", seconds)) s "
      + "(\(InstructionSet.cpuModel), \(preset.search.trials) trials per seed)."
    var figureFiles: [String] = []
    for figure in Self.figures {
      let name = figure.key + ".svg"
      let points = rows.flatMap { row in [(Double(row.seed), figure.value(row)), (Double(row.seed), figure.reference.value)] }
      let labels = rows.flatMap { _ in [0, 1] }
      try FigureFile.write(
        SVGPlot.scatter(
          points: points, labels: labels, classNames: ["this seed", "seed report"], title: figure.words, xLabel: "seed",
          yLabel: figure.reference.lowerIsBetter ? "test MSE" : "test accuracy"),
        to: folder + "/" + name)
      figureFiles.append(name)
    }
    var md = "# LatentLab: the seed study over \(rows.count) seeds\n\n\(answer)\n\n"
    md += ReportTables.markdown(header, statisticsRows) + "\n\n## Every seed\n\n" + ReportTables.markdown(perSeedHeader, perSeed) + "\n\n## Figures\n\n"
    for file in figureFiles { md += "![\(file)](\(file))\n\n" }
    try FigureFile.write(md, to: folder + "/sweep.md")
    var html = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>LatentLab sweep</title>"
      + "<style>body{font-family:Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse}"
      + "td,th{border:1px solid #ccc;padding:4px 8px}</style></head><body>"
      + "<h1>LatentLab: the seed study over \(rows.count) seeds</h1><p><strong>\(ReportTables.escape(answer))</strong></p>"
      + ReportTables.html(header, statisticsRows) + "<h2>Every seed</h2>" + ReportTables.html(perSeedHeader, perSeed) + "<h2>Figures</h2>"
    for file in figureFiles {
      var svg = String(decoding: try Data(contentsOf: URL(fileURLWithPath: folder + "/" + file)), as: UTF8.self)
      if let end = svg.range(of: "?>") { svg = String(svg[end.upperBound...]) }
      html += "<figure>\(svg)</figure>"
    }
    html += "</body></html>\n"
    try FigureFile.write(html, to: folder + "/sweep.html")
    return folder + "/sweep.html"
  }
}
