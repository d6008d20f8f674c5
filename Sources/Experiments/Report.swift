import Analysis
import Datasets
import Figures
import Foundation
import Models
import NN
import TensorCore

/// The pipeline's report: `report.md` (figures linked), `report.html` (self-contained:
/// SVGs inline, PNGs as data URIs) and `report.json` (the numbers, for machines and tests).
///
/// It answers whether the seed report's numbers hold: its first table sets the seed report's
/// figures beside both arms of this run (the published configuration and the search
/// winner), each with a verdict against `SeedReport`'s tolerances, and one sentence says
/// what reproduced and why the search found what it found.
public struct StudyReport {
  public var folder: String
  public var preset: Preset
  public var seed: UInt64
  public var trials: [TrialResult]
  public var best: TrialResult
  public var checksums: [String: String]
  /// The test images' MSE against the training mean image (a trial near it learned nothing).
  public var meanImageMSE: Double

  /// The arms, in the report's order.
  public var arms: [ReproductionArm] { [.published(preset), .winner(best)] }

  /// Every figure the report shows for an arm: (path relative to the run folder, caption).
  public static func figures(for arm: ReproductionArm) -> [(String, String)] {
    let name = arm.name.prefix(1).uppercased() + arm.name.dropFirst()
    return [
      ("autoencoder/reconstructions.png", "autoencoder: ten test images (top) and their reconstructions (bottom)"),
      ("autoencoder/curves.svg", "autoencoder: training loss per epoch"),
      ("embedding/pca.svg", "PCA of the training set's latent codes"),
      ("embedding/tsne.svg", "t-SNE of the training set's latent codes"),
      ("generated/grid.png", "images decoded from latent vectors drawn inside the training codes' range"),
      ("generated/interpolation.png", "interpolation between the codes of test images 0 and 1 (originals at the ends)"),
      ("classifier/confusion.svg", "classifier on the frozen encoder: confusion matrix on the test set"),
      ("classifier/curves.svg", "classifier: training and validation loss per epoch"),
      ("classifier/accuracy.svg", "classifier: training and validation accuracy per epoch"),
      ("vae/reconstructions.png", "VAE: test images and the decoded posterior means"),
      ("vae/beside-autoencoder.png", "ten test images (top), the autoencoder's reconstructions and the VAE's decoded means (bottom)"),
      ("vae/samples.png", "VAE: images decoded from draws of the prior N(0, I)"),
      ("vae/curves.svg", "VAE: training loss per epoch"),
    ].map { (arm.stage($0.0), "\(name): \($0.1)") }
  }

  public init(
    folder: String, preset: Preset, seed: UInt64, trials: [TrialResult], best: TrialResult, checksums: [String: String],
    meanImageMSE: Double
  ) {
    self.folder = folder
    self.preset = preset
    self.seed = seed
    self.trials = trials
    self.best = best
    self.checksums = checksums
    self.meanImageMSE = meanImageMSE
  }

  /// One arm's test figures.
  public struct ArmNumbers: Codable, Equatable, Sendable {
    public var autoencoderTestMSE: Double
    public var classifierTestAccuracy: Double
    public var vaeTestMSE: Double

    enum CodingKeys: String, CodingKey {
      case autoencoderTestMSE = "autoencoder_test_mse"
      case classifierTestAccuracy = "classifier_test_accuracy"
      case vaeTestMSE = "vae_test_mse"
    }

    /// How many of the three meet the seed report's tolerances.
    public var met: Int {
      [
        SeedReport.autoencoderTestMSE.isMet(by: autoencoderTestMSE),
        SeedReport.classifierTestAccuracy.isMet(by: classifierTestAccuracy), SeedReport.vaeTestMSE.isMet(by: vaeTestMSE),
      ].filter { $0 }.count
    }
  }

  /// The numbers the report sets beside the seed report's.
  public struct Numbers: Codable, Equatable, Sendable {
    public var published: ArmNumbers
    public var searchWinner: ArmNumbers
    public var bestTrial: Int
    public var bestMeanValidationMSE: Double
    /// Trials that learned no more than the mean image (mean validation MSE above 90% of its MSE).
    public var collapsedTrials: Int
    public var meanImageMSE: Double
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
      case published, seconds
      case searchWinner = "search_winner"
      case bestTrial = "best_trial"
      case bestMeanValidationMSE = "best_mean_validation_mse"
      case collapsedTrials = "collapsed_trials"
      case meanImageMSE = "mean_image_mse"
    }
  }

  func metric(_ stage: String, _ key: String) throws -> Double {
    let path = "\(folder)/\(stage)/metrics.json"
    guard let object = try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any],
      let value = object[key] as? Double
    else { throw ExperimentError.invalid("\(path): no number \(key); rerun the pipeline to complete the stage") }
    return value
  }

  /// What an arm's embedding stage mapped and how long it took, from its `done.json`:
  /// "published configuration: PCA of 60000 codes in 0.4 s, t-SNE of 60000 by FFT
  /// interpolation in 33.0 s on 1 thread, 2 by its end (exact neighbours 4.7 s, affinities
  /// 1.1 s; KL 2.44, 10-NN 0.79)".
  func embeddingWords(_ arm: ReproductionArm) -> String {
    let path = "\(folder)/\(arm.stage("embedding"))/done.json"
    guard let data = FileManager.default.contents(atPath: path),
      let v = try? JSONSerialization.jsonObject(with: data) as? [String: String],
      let points = v["tsne_points"], let seconds = v["tsne_seconds"]
    else { return "\(arm.name): embedding timings not recorded (a run folder from an earlier version)" }
    let method = v["tsne_algorithm"].flatMap(TSNEAlgorithm.init(rawValue:))?.words ?? "t-SNE"
    var threads = ""
    if let first = v["tsne_threads"], let last = v["tsne_final_threads"] {
      threads = " on \(first) thread\(first == "1" ? "" : "s")" + (last == first ? "" : ", \(last) by its end")
    }
    return "\(arm.name): PCA of \(v["pca_points"] ?? "?") codes in \(v["pca_seconds"] ?? "?") s, t-SNE of \(points) by \(method) in "
      + "\(seconds) s\(threads) (exact neighbours \(v["tsne_neighbour_seconds"] ?? "?") s, affinities \(v["tsne_affinity_seconds"] ?? "?") s; "
      + "KL \(v["tsne_kl"] ?? "?"), 10-NN \(v["tsne_knn10_accuracy"] ?? "?"))"
  }

  func numbers(of arm: ReproductionArm) throws -> ArmNumbers {
    ArmNumbers(
      autoencoderTestMSE: try metric(arm.stage("autoencoder"), "test_mse"),
      classifierTestAccuracy: try metric(arm.stage("classifier"), "test_accuracy"),
      vaeTestMSE: try metric(arm.stage("vae"), "test_mse"))
  }

  /// Whether a trial learned no more than the mean image (its objective above 90% of the mean
  /// image's MSE; a collapsed autoencoder often scores worse than the mean image itself).
  func collapsed(_ trial: TrialResult) -> Bool { !(trial.meanMSE < 0.9 * meanImageMSE) }

  /// The plain sentence under the first table: what reproduced, and what the search did.
  func answer(_ numbers: Numbers) -> String {
    func arm(_ name: String, _ n: ArmNumbers) -> String {
      n.met == 3 ? "the \(name) reproduces all three figures" : "the \(name) meets \(n.met) of 3"
    }
    let collapsedTrials = trials.filter { self.collapsed($0) }
    let learned = trials.filter { !self.collapsed($0) }
    func decays(_ list: [TrialResult]) -> String {
      list.map { String(format: "%.1e", $0.parameters.optimizer.weightDecay) }.joined(separator: ", ")
    }
    var sentence = "From seed \(seed), \(arm("published configuration", numbers.published)) and "
      + "\(arm("search winner (trial \(best.trial + 1))", numbers.searchWinner)). "
    guard !collapsedTrials.isEmpty else { return sentence + "Every search trial learned more than the mean image." }
    let meanImage = String(format: "%.3f", meanImageMSE)
    sentence += "\(collapsedTrials.count) of \(trials.count) search trials learned no more than the mean image "
    sentence += "(validation MSE above 90% of its \(meanImage)), with L2 \(decays(collapsedTrials))"
    sentence += learned.isEmpty ? "." : "; the others drew L2 \(decays(learned))."
    let space = preset.search.space.weightDecay
    let publishedL2 = String(format: "%g", SeedReport.optimizer.weightDecay)
    let scale = preset.search.space.weightDecayScale == .log ? "log-uniformly" : "uniformly"
    sentence += " The space draws L2 \(scale) from [\(space.lowerBound), \(space.upperBound)]; "
    let l2 = SeedReport.optimizer.weightDecay
    let place = l2 == space.lowerBound ? "sits at its lower edge" : space.contains(l2) ? "lies inside it" : "lies outside it"
    sentence += "the published L2, \(publishedL2), \(place)."
    return sentence
  }

  /// Writes the three files; returns the HTML report's path.
  public func write(seconds: Double) throws -> String {
    let numbers = Numbers(
      published: try self.numbers(of: .published(preset)), searchWinner: try self.numbers(of: .winner(best)),
      bestTrial: best.trial + 1, bestMeanValidationMSE: best.meanMSE, collapsedTrials: trials.filter { self.collapsed($0) }.count,
      meanImageMSE: meanImageMSE, seconds: seconds)
    try writeJSON(numbers, to: folder + "/report.json")
    let c = best.parameters.config, o = best.parameters.optimizer
    func row(_ name: String, _ figure: SeedReport.Figure, _ published: Double, _ winner: Double, _ show: (Double) -> String) -> [String] {
      [
        name, figure.written, figure.toleranceWords, show(published), figure.isMet(by: published) ? "meets" : "misses",
        show(winner), figure.isMet(by: winner) ? "meets" : "misses",
      ]
    }
    let mse = { (x: Double) in String(format: "%.4f", x) }
    let percent = { (x: Double) in String(format: "%.1f%%", x * 100) }
    let (p, w) = (numbers.published, numbers.searchWinner)
    let comparison: [[String]] = [
      row("autoencoder test MSE (mean over pixels)", SeedReport.autoencoderTestMSE, p.autoencoderTestMSE, w.autoencoderTestMSE, mse),
      row("classifier test accuracy", SeedReport.classifierTestAccuracy, p.classifierTestAccuracy, w.classifierTestAccuracy, percent),
      row("VAE test MSE (decoded mean)", SeedReport.vaeTestMSE, p.vaeTestMSE, w.vaeTestMSE, mse),
    ]
    let comparisonHeader = [
      "figure", "seed report", "tolerance", "published configuration (seed \(seed))", "verdict",
      "search winner (trial \(best.trial + 1))", "verdict",
    ]
    let answer = self.answer(numbers)
    let (published, publishedOptimizer) = (SeedReport.configuration, SeedReport.optimizer)
    let configuration: [[String]] = [
      ["N_C1, N_C2, N_C3", published.channels.map(String.init).joined(separator: ", "),
       c.channels.map(String.init).joined(separator: ", ")],
      ["N_H1", "\(published.hidden)", "\(c.hidden)"], ["L", "\(published.latent)", "\(c.latent)"],
      ["conv 3 padding", SeedReport.conv3PaddingWritten, "\(c.conv3Padding)"],
      ["optimizer", publishedOptimizer.kind == "adam" ? "Adam" : publishedOptimizer.kind, o.kind],
      ["learning rate", String(format: "%.3g", publishedOptimizer.learningRate), String(format: "%.3g", o.learningRate)],
      ["L2", String(format: "%.3g", publishedOptimizer.weightDecay), String(format: "%.3g", o.weightDecay)],
    ]
    let (search, space) = (preset.search, preset.search.space)
    func range<T>(_ r: ClosedRange<T>) -> String { "\(r.lowerBound)–\(r.upperBound)" }
    func optimizerWords(_ o: OptimizerSettings) -> String {
      "\(o.kind == "adam" ? "Adam" : o.kind) \(String(format: "%g", o.learningRate))"
        + (o.weightDecay > 0 ? ", L2 \(String(format: "%g", o.weightDecay))" : "")
    }
    let settings = """
      Preset `\(preset.name)`, seed \(seed), LatentLab \(LatentLabVersion.current). Search: \(search.trials) random trials \
      (the `search` stream), \(search.folds)-fold cross-validation, \(search.epochs) epochs, batch \(search.batchSize), \
      objective the mean validation MSE; the space "\(space.name)": N_C1 \(range(space.conv1Channels)), \
      N_C2 \(range(space.conv2Channels)), N_C3 \(range(space.conv3Channels)), N_H1 \(range(space.hidden)), \
      L in {\(space.latent.map(String.init).joined(separator: ", "))} (the problem statement writes {2, 4, 6}, the \
      results table 2–4), learning rate \(space.learningRateScale.rawValue)-uniform in \
      [\(space.learningRate.lowerBound), \(space.learningRate.upperBound)] and L2 \(space.weightDecayScale.rawValue)-uniform \
      in [\(space.weightDecay.lowerBound), \(space.weightDecay.upperBound)] (the report does not say which), optimizer \(space.optimizers.joined(separator: ", ")); conv 3 padding \(space.conv3Padding) \
      (the report's "01" allows 0 or 1; 1 keeps the encoder's maps 4x4 and the decoder symmetric). Both arms, the \
      published configuration (\(optimizerWords(publishedOptimizer))) and the search winner, are retrained for \
      \(preset.autoencoder.epochs) epochs, batch \(preset.autoencoder.batchSize), on \
      \(preset.subset.map { "\($0)" } ?? "all 60,000") training images. Classifier: dense \
      L→\((preset.classifier.headWidths + [FashionMNIST.classNames.count]).map(String.init).joined(separator: "→")) \
      on the frozen encoder, \
      \(preset.classifier.epochs) epochs, batch \(preset.classifier.batchSize), \(optimizerWords(preset.classifier.optimizer)), \
      \(String(format: "%g", preset.classifier.validationFraction * 100))% of the codes held out for its validation curves. \
      VAE: \(preset.vae.epochs) epochs, batch \(preset.vae.batchSize), \(optimizerWords(preset.vae.optimizer)), loss \
      \(preset.vae.loss.normalisation). t-SNE: perplexity \(String(format: "%g", preset.embedding.perplexity)), \
      \(preset.embedding.tsneIterations) iterations; \(arms.map(embeddingWords).joined(separator: "; ")). \
      Wall time \(String(format: "%.0f", seconds)) s on this run (stages skipped on a re-run are not counted).
      """

    // Markdown.
    var md = "# LatentLab: the seed study reproduced\n\n## Do the seed report's numbers hold?\n\n"
    md += markdownTable(comparisonHeader, comparison) + "\n\n\(answer)\n\n\(settings)\n"
    md += "\n## The search winner's configuration beside the published one\n\n"
    md += markdownTable(["hyperparameter", "seed report", "LatentLab (trial \(best.trial + 1))"], configuration)
    md += "\n\n## Trials\n\n" + Study.table(trials) + "\n"
    for arm in arms {
      md += "\n## Figures: the \(arm.name)\n\n"
      for (path, caption) in StudyReport.figures(for: arm) { md += "![\(caption)](\(path))\n\n*\(caption)*\n\n" }
    }
    md += "## Data\n\n" + markdownTable(["file", "SHA-256"], checksums.sorted { $0.key < $1.key }.map { [$0.key, "`\($0.value)`"] }) + "\n"
    try FigureFile.write(md, to: folder + "/report.md")

    // HTML, self-contained.
    var html = """
      <!DOCTYPE html>
      <html lang="en"><head><meta charset="utf-8"><title>LatentLab: the seed study reproduced</title>
      <style>body{font-family:Helvetica,Arial,sans-serif;max-width:1000px;margin:2em auto;color:#222;line-height:1.45}
      table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
      th{background:#f3f3f3}figure{margin:2em 0}figcaption{color:#555;font-style:italic}code{font-size:90%}
      img{image-rendering:pixelated;max-width:100%}</style></head><body>
      <h1>LatentLab: the seed study reproduced</h1>
      <h2>Do the seed report's numbers hold?</h2>
      """
    html += htmlTable(comparisonHeader, comparison)
    html += "<p><strong>\(escape(answer))</strong></p><p>\(escape(settings).replacingOccurrences(of: "`", with: ""))</p>"
    html += "<h2>The search winner's configuration beside the published one</h2>"
    html += htmlTable(["hyperparameter", "seed report", "LatentLab (trial \(best.trial + 1))"], configuration)
    html += "<h2>Trials</h2>" + markdownToHTMLTable(Study.table(trials))
    for arm in arms {
      html += "<h2>Figures: the \(escape(arm.name))</h2>"
      for (path, caption) in StudyReport.figures(for: arm) {
        let full = folder + "/" + path
        guard let data = FileManager.default.contents(atPath: full) else {
          throw ExperimentError.invalid("\(full): missing; rerun the pipeline to complete its stage")
        }
        let body: String
        if path.hasSuffix(".svg") {
          var svg = String(decoding: data, as: UTF8.self)
          if let end = svg.range(of: "?>") { svg = String(svg[end.upperBound...]) }
          body = svg
        } else {
          body = "<img alt=\"\(escape(caption))\" src=\"data:image/png;base64,\(data.base64EncodedString())\">"
        }
        html += "<figure>\(body)<figcaption>\(escape(caption)) (<code>\(path)</code>)</figcaption></figure>\n"
      }
    }
    html += "<h2>Data</h2>" + htmlTable(["file", "SHA-256"], checksums.sorted { $0.key < $1.key }.map { [$0.key, $0.value] })
    html += "</body></html>\n"
    try FigureFile.write(html, to: folder + "/report.html")
    return folder + "/report.html"
  }

  func escape(_ s: String) -> String { ReportTables.escape(s) }

  func markdownTable(_ header: [String], _ rows: [[String]]) -> String { ReportTables.markdown(header, rows) }

  func htmlTable(_ header: [String], _ rows: [[String]]) -> String { ReportTables.html(header, rows) }

  func markdownToHTMLTable(_ markdown: String) -> String {
    let lines = markdown.split(separator: "\n").map { $0.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast().map { $0.trimmingCharacters(in: .whitespaces) } }
    guard lines.count >= 2 else { return "" }
    return htmlTable(lines[0], Array(lines.dropFirst(2)))
  }
}

