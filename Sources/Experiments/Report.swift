import Datasets
import Figures
import Foundation
import Models
import NN
import TensorCore

/// The pipeline's report: `report.md` (figures linked), `report.html` (self-contained:
/// SVGs inline, PNGs as data URIs) and `report.json` (the numbers, for machines and tests).
public struct StudyReport {
  public var folder: String
  public var preset: Preset
  public var seed: UInt64
  public var trials: [TrialResult]
  public var best: TrialResult
  public var checksums: [String: String]

  /// Every figure the report shows: (path relative to the run folder, caption).
  public static let figures: [(String, String)] = [
    ("autoencoder/reconstructions.png", "Autoencoder: ten test images (top) and their reconstructions (bottom)"),
    ("autoencoder/curves.svg", "Autoencoder: training loss per epoch"),
    ("embedding/pca.svg", "PCA of the training set's latent codes"),
    ("embedding/tsne.svg", "t-SNE of the training set's latent codes"),
    ("generated/grid.png", "Images decoded from latent vectors drawn inside the training codes' range"),
    ("generated/interpolation.png", "Interpolation between the codes of test images 0 and 1 (originals at the ends)"),
    ("classifier/confusion.svg", "Classifier on the frozen encoder: confusion matrix on the test set"),
    ("classifier/curves.svg", "Classifier: training loss per epoch"),
    ("vae/reconstructions.png", "VAE: test images and the decoded posterior means"),
    ("vae/samples.png", "VAE: images decoded from draws of the prior N(0, I)"),
    ("vae/curves.svg", "VAE: training loss per epoch"),
  ]

  public init(folder: String, preset: Preset, seed: UInt64, trials: [TrialResult], best: TrialResult, checksums: [String: String]) {
    self.folder = folder
    self.preset = preset
    self.seed = seed
    self.trials = trials
    self.best = best
    self.checksums = checksums
  }

  /// The numbers the report sets beside the seed report's.
  public struct Numbers: Codable, Equatable {
    public var autoencoderTestMSE: Double
    public var classifierTestAccuracy: Double
    public var vaeTestMSE: Double
    public var bestTrial: Int
    public var bestMeanValidationMSE: Double
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
      case seconds
      case autoencoderTestMSE = "autoencoder_test_mse"
      case classifierTestAccuracy = "classifier_test_accuracy"
      case vaeTestMSE = "vae_test_mse"
      case bestTrial = "best_trial"
      case bestMeanValidationMSE = "best_mean_validation_mse"
    }
  }

  func metric(_ stage: String, _ key: String) throws -> Double {
    let path = "\(folder)/\(stage)/metrics.json"
    guard let object = try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any],
      let value = object[key] as? Double
    else { throw ExperimentError.invalid("\(path): no number \(key); rerun the pipeline to complete the stage") }
    return value
  }

  /// Writes the three files; returns the HTML report's path.
  public func write(seconds: Double) throws -> String {
    let numbers = Numbers(
      autoencoderTestMSE: try metric("autoencoder", "test_mse"), classifierTestAccuracy: try metric("classifier", "test_accuracy"),
      vaeTestMSE: try metric("vae", "test_mse"), bestTrial: best.trial + 1, bestMeanValidationMSE: best.meanMSE, seconds: seconds)
    try writeJSON(numbers, to: folder + "/report.json")
    let c = best.parameters.config, o = best.parameters.optimizer
    let comparison: [[String]] = [
      ["autoencoder test MSE (mean over pixels)", SeedReport.autoencoderTestMSE.written,
       String(format: "%.4f", numbers.autoencoderTestMSE),
       String(format: "%+.4f", numbers.autoencoderTestMSE - SeedReport.autoencoderTestMSE.value)],
      ["classifier test accuracy", SeedReport.classifierTestAccuracy.written,
       String(format: "%.1f%%", numbers.classifierTestAccuracy * 100),
       String(format: "%+.1f points", (numbers.classifierTestAccuracy - SeedReport.classifierTestAccuracy.value) * 100)],
      ["VAE test MSE (decoded mean)", SeedReport.vaeTestMSE.written, String(format: "%.4f", numbers.vaeTestMSE),
       String(format: "%+.4f", numbers.vaeTestMSE - SeedReport.vaeTestMSE.value)],
    ]
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
      objective the mean validation MSE; space N_C1 \(range(space.conv1Channels)), N_C2 \(range(space.conv2Channels)), \
      N_C3 \(range(space.conv3Channels)), N_H1 \(range(space.hidden)), L in {\(space.latent.map(String.init).joined(separator: ", "))} \
      (the problem statement; the report's table writes 2–4), learning rate and L2 log-uniform in \
      [\(space.learningRate.lowerBound), \(space.learningRate.upperBound)] and [\(space.weightDecay.lowerBound), \
      \(space.weightDecay.upperBound)], optimizer \(space.optimizers.joined(separator: ", ")); conv 3 padding \(space.conv3Padding) \
      (the report's "01" allows 0 or 1; 1 keeps the encoder's maps 4x4 and the decoder symmetric). The best configuration \
      is retrained for \(preset.autoencoder.epochs) epochs, batch \(preset.autoencoder.batchSize), on \
      \(preset.subset.map { "\($0)" } ?? "all 60,000") training images. Classifier: dense \
      \(([c.latent] + preset.classifier.headWidths + [FashionMNIST.classNames.count]).map(String.init).joined(separator: "→")) \
      on the frozen encoder, \
      \(preset.classifier.epochs) epochs, batch \(preset.classifier.batchSize), \(optimizerWords(preset.classifier.optimizer)). \
      VAE: \(preset.vae.epochs) epochs, batch \(preset.vae.batchSize), \(optimizerWords(preset.vae.optimizer)), loss \
      \(preset.vae.loss.normalisation). t-SNE of \(preset.embedding.tsnePoints) training codes, perplexity \
      \(String(format: "%g", preset.embedding.perplexity)), \(preset.embedding.tsneIterations) iterations. \
      Wall time \(String(format: "%.0f", seconds)) s on this run (stages skipped on a re-run are not counted).
      """

    // Markdown.
    var md = "# LatentLab: the seed study reproduced\n\n\(settings)\n\n## Numbers beside the seed report's\n\n"
    md += markdownTable(["figure", "seed report", "LatentLab", "difference"], comparison)
    md += "\n\n## The best configuration beside the seed's\n\n"
    md += markdownTable(["hyperparameter", "seed report", "LatentLab (trial \(best.trial + 1))"], configuration)
    md += "\n\n## Trials\n\n" + Study.table(trials) + "\n\n## Figures\n\n"
    for (path, caption) in StudyReport.figures { md += "![\(caption)](\(path))\n\n*\(caption)*\n\n" }
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
      <p>\(escape(settings).replacingOccurrences(of: "`", with: ""))</p>
      <h2>Numbers beside the seed report's</h2>
      """
    html += htmlTable(["figure", "seed report", "LatentLab", "difference"], comparison)
    html += "<h2>The best configuration beside the seed's</h2>"
    html += htmlTable(["hyperparameter", "seed report", "LatentLab (trial \(best.trial + 1))"], configuration)
    html += "<h2>Trials</h2>" + markdownToHTMLTable(Study.table(trials)) + "<h2>Figures</h2>"
    for (path, caption) in StudyReport.figures {
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
    html += "<h2>Data</h2>" + htmlTable(["file", "SHA-256"], checksums.sorted { $0.key < $1.key }.map { [$0.key, $0.value] })
    html += "</body></html>\n"
    try FigureFile.write(html, to: folder + "/report.html")
    return folder + "/report.html"
  }

  func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
      .replacingOccurrences(of: "\"", with: "&quot;")
  }

  func markdownTable(_ header: [String], _ rows: [[String]]) -> String {
    (["| " + header.joined(separator: " | ") + " |", "|" + String(repeating: " --- |", count: header.count)]
      + rows.map { "| " + $0.joined(separator: " | ") + " |" }).joined(separator: "\n")
  }

  func htmlTable(_ header: [String], _ rows: [[String]]) -> String {
    "<table><tr>" + header.map { "<th>\(escape($0))</th>" }.joined() + "</tr>"
      + rows.map { "<tr>" + $0.map { "<td>\(escape($0))</td>" }.joined() + "</tr>" }.joined() + "</table>\n"
  }

  func markdownToHTMLTable(_ markdown: String) -> String {
    let lines = markdown.split(separator: "\n").map { $0.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast().map { $0.trimmingCharacters(in: .whitespaces) } }
    guard lines.count >= 2 else { return "" }
    return htmlTable(lines[0], Array(lines.dropFirst(2)))
  }
}

