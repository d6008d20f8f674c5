import Analysis
import Checkpointing
import Datasets
import Figures
import Foundation
import Models
import NN
import Studies
import TensorCore

/// The seed study, end to end: search → retrain the best configuration → test MSE → PCA and
/// t-SNE of the training codes → generated images → classifier on the frozen encoder →
/// confusion matrix → VAE → report. Each stage writes into its own folder and a `done.json`;
/// a stage whose `done.json` is present is skipped on a re-run, and a training stage stopped
/// part-way continues from the last epoch it saved (the same bits as one run). With two
/// threads or more, independent stages run side by side on fewer threads each (the published
/// arm beside the search, an arm's embedding beside its classifier and VAE): every stage's
/// result is the same on any number of threads, so the files are those of a one-thread run.
public struct ReproducePipeline {
  public var preset: Preset
  public var seed: UInt64
  public var threads: Int
  public var data: String?
  public var out: String
  public var log: (String) -> Void
  /// Where the search's study lives: the run folder's own storage (`search/`) unless given;
  /// then this process works on the shared study as one of its workers.
  public var storage: StorageLocation?
  /// The study's name in a shared storage (default `PRESET-seedN`).
  public var studyName: String?

  public init(preset: Preset, seed: UInt64, threads: Int, data: String?, out: String, log: @escaping (String) -> Void = { _ in }) {
    self.preset = preset
    self.seed = seed
    self.threads = threads
    self.data = data
    self.out = out
    self.log = log
  }

  var identity: RunIdentity { RunIdentity(preset: preset.name, seed: seed, software: LatentLabVersion.current) }

  /// Refuses a folder that holds another run; records this run's identity in a new one.
  func checkFolder() throws {
    let path = out + "/run.json"
    if FileManager.default.fileExists(atPath: path) {
      let saved: RunIdentity
      do { saved = try RunIdentity.read(path) } catch { throw ExperimentError.invalid("\(error); nothing was changed") }
      guard saved == identity else {
        throw ExperimentError.invalid(
          "\(out) holds a run of preset \(saved.preset), seed \(saved.seed), LatentLab \(saved.software);"
            + " this is preset \(preset.name), seed \(seed), LatentLab \(LatentLabVersion.current). Use another --out; nothing was changed")
      }
    } else {
      try prepareRunFolder(out)
      try writeJSON(identity, to: path)
    }
  }

  func isDone(_ stage: String) -> Bool { FileManager.default.fileExists(atPath: "\(out)/\(stage)/done.json") }

  func markDone(_ stage: String, _ summary: [String: String]) throws {
    try writeJSON(summary, to: "\(out)/\(stage)/done.json")
  }

  /// Runs every stage not yet done; returns the report's path.
  @discardableResult
  public func run() throws -> String {
    guard seed <= UInt64(Int64.max) else { throw ExperimentError.invalid("--seed must be at most \(Int64.max)") }
    guard threads >= 1 else { throw ExperimentError.invalid("--threads must be at least 1") }
    try checkFolder()
    let started = ProgressReporter.monotonicSeconds()
    let runData = try RunData.load(data: data, seed: seed, subset: preset.subset, validationFraction: 0)

    // 1. Search.
    let study = Study(
      settings: StudySettings(preset: preset, seed: seed), location: storage ?? .embedded(folder: out + "/search"),
      name: storage == nil ? Study.defaultName : studyName ?? Study.sharedName(preset: preset, seed: seed),
      folder: out + "/search", threads: threads)
    var trials = try study.finishedTrials()
    let published = ReproductionArm.published(preset)
    if !isDone("search") {
      log("== search: \(preset.search.trials) trials x \(preset.search.folds) folds x \(preset.search.epochs) epochs")
      // 2a. The published arm needs nothing from the search: on a lane of its own (one thread,
      // or those beyond one per trial) beside the search's workers; then that lane joins them.
      // 2c. A thread that would wait for the search's last trials trains the best trial so
      // far's autoencoder instead, then its VAE; they are the winner's unless a trial still
      // running beats it. A thread that ends the search while that autoencoder still trains
      // begins the winner's VAE.
      let anticipation = Anticipation()
      trials = try study.run(
        data: runData.train, beside: { try self.run(published, data: runData, threads: $0) },
        whileWaiting: { try self.anticipateWinner(study, threads: $0, into: anticipation) },
        afterSearch: { try self.beginWinnersVAE(study, threads: $0, while: $1, beside: anticipation) }, log: log)
      try markDone("search", ["trials": "\(trials.count)"])
      if let best = Study.best(trials), let trained = anticipation.trial {
        let winner = ReproductionArm.winner(best)
        if trained == best.trial {
          log("== \(winner.name): its autoencoder was trained while the search finished")
          try markDone(winner.stage("autoencoder"), [:])
        } else {
          log("== trial \(best.trial + 1) beat trial \(trained + 1) at the end: the winner's stages are trained anew")
          try? FileManager.default.removeItem(atPath: autoencoderFolder(winner))
          // The VAE is kept when it is the winner's, begun after the search.
          let vae = vaeRun(winner, threads: 1, showsProgress: false)
          if vae.savedEpoch() == nil { try? FileManager.default.removeItem(atPath: vae.out) }
        }
      }
    }
    guard let best = Study.best(trials) else { throw ExperimentError.invalid("every trial of the search failed; see \(out)/search/study.jsonl") }
    log(Study.table(trials))

    // 2b. Whatever the published arm still lacks (all of it on a re-run after the search),
    // then the search winner.
    for arm in [published, ReproductionArm.winner(best)] { try run(arm, data: runData, threads: threads) }

    // 3. The report (always rewritten: it only reads the stages' outputs).
    let report = StudyReport(
      folder: out, preset: preset, seed: seed, trials: trials, best: best, checksums: runData.checksums,
      meanImageMSE: Self.meanImageMSE(train: runData.train.inputs, test: runData.test.inputs))
    let path = try report.write(seconds: ProgressReporter.monotonicSeconds() - started)
    log("report: \(path)")
    return path
  }

  /// Runs the stages of one arm that are not done yet on `threads` threads. With two or more,
  /// on two lanes of half the threads each, since a stage on fewer threads uses them better
  /// (training at batch 250 gains little from a second thread): the autoencoder, then its
  /// embedding; beside them the VAE (it needs only the configuration), then, once the
  /// autoencoder is trained, the VAE's figure beside it, the generated images and the
  /// classifier on its encoder. When that lane ends first, the t-SNE takes its threads from
  /// its next iteration on (`ThreadAllowance`). Every stage gives the same bits on any number
  /// of threads.
  func run(_ arm: ReproductionArm, data runData: RunData, threads: Int) throws {
    let first = ["autoencoder", "embedding"].contains { !isDone(arm.stage($0)) }
    let second = ["vae", "generated", "classifier"].contains { !isDone(arm.stage($0)) }
    guard threads >= 2 && first && second else {
      try trainAutoencoder(arm, threads: threads, showsProgress: true)
      try embed(arm, data: runData, threads: ThreadAllowance(threads))
      try trainVAE(arm, threads: threads, showsProgress: true)
      try finishVAE(arm, data: runData)
      try generateAndClassify(arm, data: runData, threads: threads, showsProgress: true)
      return
    }
    let firstThreads = threads / 2
    let allowance = ThreadAllowance(firstThreads)
    let autoencoderTrained = StageGate(stage: "the \(arm.name)'s autoencoder")
    // On a terminal the first lane draws the bars (its t-SNE is the long one); in a log,
    // both lanes write their plain lines.
    let secondShowsProgress = !ProgressReporter.standardErrorIsTerminal
    try WorkerThreads.run(2) { lane in
      if lane == 0 {
        do { try self.trainAutoencoder(arm, threads: firstThreads, showsProgress: true) } catch {
          autoencoderTrained.open(succeeded: false)
          throw error
        }
        autoencoderTrained.open(succeeded: true)
        try self.embed(arm, data: runData, threads: allowance)
      } else {
        defer { allowance.add(threads - firstThreads) }
        try self.trainVAE(arm, threads: threads - firstThreads, showsProgress: secondShowsProgress)
        try autoencoderTrained.wait()
        try self.finishVAE(arm, data: runData)
        try self.generateAndClassify(arm, data: runData, threads: threads - firstThreads, showsProgress: secondShowsProgress)
      }
    }
  }

  /// Trains the autoencoder of the best of the search's finished trials, as the winner's arm
  /// would, into the winner's folder without marking it done: `run` marks it when that trial
  /// wins, and otherwise removes it. Then that trial's VAE, while the search still runs and
  /// the trial stays the best: stopped at the end of an epoch once either ends, the winner's
  /// lane continues it from there (or, when another trial won, `run` removes it). Does nothing
  /// when no trial has finished.
  func anticipateWinner(_ study: Study, threads: Int, into anticipation: Anticipation) throws {
    guard let best = Study.best(try study.finishedTrials()) else { return }
    var arm = ReproductionArm.winner(best)
    guard !isDone(arm.stage("autoencoder")), anticipation.begin(.autoencoder) else { return }
    arm.name = "best trial so far (trial \(best.trial + 1)), while the last trials run"
    let showsProgress = !ProgressReporter.standardErrorIsTerminal
    try trainAutoencoder(arm, threads: threads, showsProgress: showsProgress, marksDone: false)
    anticipation.trial = best.trial
    let stillAhead = { () throws -> Bool in
      let finished = try study.finishedTrials()
      return finished.count < study.settings.trials && Study.best(finished)?.trial == best.trial
    }
    guard try stillAhead(), anticipation.begin(.vae) else { return }
    if case .paused(let epoch) = try trainVAE(arm, threads: threads, showsProgress: showsProgress, continues: stillAhead) {
      let finished = try study.finishedTrials()
      let why = finished.count < study.settings.trials
        ? "trial \((Study.best(finished)?.trial ?? 0) + 1) leads now" : "the search has ended"
      log("== \(arm.name): vae stopped after epoch \(epoch) of \(preset.vae.epochs): \(why)")
    }
  }

  /// Trains the search winner's VAE while the anticipation's autoencoder (`anticipateWinner`)
  /// still trains, stopping at the end of an epoch once `othersWaiting` is false; the winner's
  /// lane continues it. Does nothing when the anticipation has reached its own VAE (which
  /// stops at its next epoch's end, the search having ended) or another worker began this.
  func beginWinnersVAE(
    _ study: Study, threads: Int, while othersWaiting: @escaping @Sendable () -> Bool, beside anticipation: Anticipation
  ) throws {
    guard anticipation.searchEnded(), let best = Study.best(try study.finishedTrials()) else { return }
    let winner = ReproductionArm.winner(best)
    let showsProgress = !ProgressReporter.standardErrorIsTerminal
    if case .paused(let epoch) = try trainVAE(winner, threads: threads, showsProgress: showsProgress, continues: othersWaiting) {
      log("== \(winner.name): vae stopped after epoch \(epoch) of \(preset.vae.epochs), begun while the search's last autoencoder finished")
    }
  }

  /// Runs `run` in its stage folder, continuing from the epoch an earlier attempt of the same
  /// run saved there (a stage stopped by Ctrl-C, or the VAE begun while the search finished):
  /// the same bits as training it in one go. Any other checkpoint there is replaced, and the
  /// log says so.
  @discardableResult
  func trainOrContinue(_ run: TrainingRun) throws -> TrainingOutcome {
    guard let saved = run.savedEpoch() else {
      if FileManager.default.fileExists(atPath: run.checkpointPath) {
        log("\(run.checkpointPath) holds no epoch of this stage to continue (another run's, or unreadable): trained from the start")
      }
      return try run.run()
    }
    return try run.run(resume: saved)
  }

  /// The arm's autoencoder, retrained on the whole training set: test MSE, figures.
  func trainAutoencoder(_ arm: ReproductionArm, threads: Int, showsProgress: Bool, marksDone: Bool = true) throws {
    guard !isDone(arm.stage("autoencoder")) else { return }
    log("== \(arm.name): autoencoder, \(preset.autoencoder.epochs) epochs")
    var run = TrainingRun(
      kind: .autoencoder, config: arm.config,
      record: TrainingRecord(
        epochs: preset.autoencoder.epochs, batchSize: preset.autoencoder.batchSize, optimizer: arm.optimizer, validationFraction: 0,
        subset: preset.subset, loss: "MSE, mean over pixels"),
      seed: seed, threads: threads, data: data, out: autoencoderFolder(arm))
    run.log = log
    run.showsProgress = showsProgress
    try trainOrContinue(run)
    if marksDone { try markDone(arm.stage("autoencoder"), [:]) }
  }

  func autoencoderFolder(_ arm: ReproductionArm) -> String { out + "/" + arm.stage("autoencoder") }

  /// The arm's trained autoencoder and its checkpoint, read back (each stage its own copy: a
  /// model is used by one thread at a time).
  func trainedAutoencoder(_ arm: ReproductionArm, threads: Int) throws -> (Checkpoint, any TrainableModel) {
    let path = autoencoderFolder(arm) + "/checkpoint.h5"
    let checkpoint = try CheckpointReader.read(path)
    let autoencoder = try loadModel(checkpoint, path: path)
    autoencoder.parallel = DeterministicParallel(threads: threads)
    return (checkpoint, autoencoder)
  }

  /// PCA and t-SNE of the training set's latent codes.
  /// The arm's PCA and t-SNE maps of the training codes, on the threads `allowance` allows
  /// (read when the stage starts, and again by the t-SNE at each iteration and before the
  /// maps' 10-NN accuracy).
  func embed(_ arm: ReproductionArm, data runData: RunData, threads allowance: ThreadAllowance) throws {
    guard !isDone(arm.stage("embedding")) else { return }
    let threads = allowance.threads
    let (_, autoencoder) = try trainedAutoencoder(arm, threads: threads)
    let embeddingFolder = out + "/" + arm.stage("embedding")
    let tsnePoints = min(preset.embedding.tsnePoints, runData.train.count)
    let algorithm = preset.embedding.tsneAlgorithm.resolved(points: tsnePoints)
    log("== \(arm.name): embedding, PCA of \(runData.train.count) training codes, t-SNE of \(tsnePoints) (\(algorithm.words))")
    let codes = try latentCodes(autoencoder, runData.train.inputs)
    let labels = runData.train.labels.map { Int($0) }
    let pcaStart = ProgressReporter.monotonicSeconds()
    let (pcaMap, pca) = try Embedding.pca(codes, labels: labels, of: "the latent codes (\(codes.shape[0]) training images)")
    let pcaSeconds = ProgressReporter.monotonicSeconds() - pcaStart
    try pcaMap.write(name: "pca", classNames: FashionMNIST.classNames, folder: embeddingFolder)
    var g = SeededGenerator(seed: seed, streamName: "tsne/subset")
    let (subset, tsneLabels) = Embedding.subset(codes, labels: labels, count: preset.embedding.tsnePoints, generator: &g)
    var options = TSNEOptions()
    options.algorithm = preset.embedding.tsneAlgorithm
    options.iterations = preset.embedding.tsneIterations
    options.perplexity = min(preset.embedding.perplexity, Double(subset.shape[0] - 1) / 3)
    options.threads = threads
    let bar = ProgressReporter(label: "t-SNE", total: options.iterations, unit: "it")
    var shown = 0
    let (map, result) = try Embedding.tsne(
      subset, labels: tsneLabels, of: "the latent codes (\(subset.shape[0]) training images)", options: options,
      allowance: allowance
    ) { iteration in
      bar.advance(by: iteration - shown)
      shown = iteration
    }
    bar.finish()
    try map.write(name: "tsne", classNames: FashionMNIST.classNames, folder: embeddingFolder)
    let accuracy = try TSNE.knnAccuracy(
      result.embedding, labels: tsneLabels.map { Int32($0) }, k: 10, parallel: DeterministicParallel(threads: allowance.threads))
    try markDone(arm.stage("embedding"), [
      "pca_variance_ratio": pca.explainedVarianceRatio.map { String(format: "%.4f", $0) }.joined(separator: ","),
      "pca_points": "\(codes.shape[0])", "pca_seconds": String(format: "%.3f", pcaSeconds),
      "tsne_kl": String(format: "%.4f", result.klDivergence), "tsne_knn10_accuracy": String(format: "%.4f", accuracy),
      "tsne_points": "\(subset.shape[0])", "tsne_algorithm": result.algorithm.rawValue,
      "tsne_threads": "\(threads)", "tsne_final_threads": "\(result.finalThreads)",
      "tsne_seconds": String(format: "%.1f", result.seconds),
      "tsne_neighbour_seconds": String(format: "%.1f", result.neighbourSeconds),
      "tsne_affinity_seconds": String(format: "%.1f", result.affinitySeconds),
    ])
  }

  /// Generated images and the classifier on the frozen encoder (the arm's autoencoder must be
  /// trained); `showsProgress` false leaves the bars to a stage running beside.
  func generateAndClassify(_ arm: ReproductionArm, data runData: RunData, threads: Int, showsProgress: Bool) throws {
    guard ["generated", "classifier"].contains(where: { !isDone(arm.stage($0)) }) else { return }
    let (aeCheckpoint, autoencoder) = try trainedAutoencoder(arm, threads: threads)
    // Generated images: a grid from the codes' box, and an interpolation.
    let generatedFolder = out + "/" + arm.stage("generated")
    if !isDone(arm.stage("generated")) {
      log("== \(arm.name): generated images")
      var g = SeededGenerator(seed: seed, streamName: "noise/generate")
      let grid = try Generation.grid(autoencoder, spanning: runData.train.inputs, count: 64, generator: &g)
      try FigureFile.write(try ImageGrid.render(imageList(grid), side: 28, columns: 8).encoded(), to: generatedFolder + "/grid.png")
      let line = try Generation.interpolation(autoencoder, between: runData.test.subset([0, 1]).inputs, steps: 10)
      try FigureFile.write(
        try ImageGrid.render(line, side: 28, columns: line.count).encoded(), to: generatedFolder + "/interpolation.png")
      try markDone(arm.stage("generated"), [:])
    }

    // Classifier on the frozen encoder.
    if !isDone(arm.stage("classifier")) {
      log("== \(arm.name): classifier, \(preset.classifier.epochs) epochs on the frozen encoder")
      var run = TrainingRun(
        kind: .classifier, config: aeCheckpoint.config,
        record: TrainingRecord(
          epochs: preset.classifier.epochs, batchSize: preset.classifier.batchSize, optimizer: preset.classifier.optimizer,
          validationFraction: preset.classifier.validationFraction, subset: preset.subset, loss: "cross-entropy, mean over the batch",
          encoderCheckpoint: arm.stage("autoencoder") + "/checkpoint.h5", headWidths: preset.classifier.headWidths),
        seed: seed, threads: threads, data: data, out: out + "/" + arm.stage("classifier"))
      run.encoderBase = out
      run.log = log
      run.showsProgress = showsProgress
      try trainOrContinue(run)
      try markDone(arm.stage("classifier"), [:])
    }
  }

  /// The VAE of the arm's architecture, trained (or continued) in its stage folder, stopping
  /// at an epoch's end when `continues` says so; the stage is done once `finishVAE` has drawn
  /// it beside the autoencoder.
  @discardableResult
  func trainVAE(
    _ arm: ReproductionArm, threads: Int, showsProgress: Bool, continues: (() throws -> Bool)? = nil
  ) throws -> TrainingOutcome {
    guard !isDone(arm.stage("vae")) else { return .finished }
    log("== \(arm.name): vae, \(preset.vae.epochs) epochs, batch \(preset.vae.batchSize)")
    var run = vaeRun(arm, threads: threads, showsProgress: showsProgress)
    run.continues = continues
    return try trainOrContinue(run)
  }

  /// The arm's VAE training run, in its stage folder.
  func vaeRun(_ arm: ReproductionArm, threads: Int, showsProgress: Bool) -> TrainingRun {
    let settings = preset.vae.loss
    var run = TrainingRun(
      kind: .vae, config: arm.config,
      record: TrainingRecord(
        epochs: preset.vae.epochs, batchSize: preset.vae.batchSize, optimizer: preset.vae.optimizer,
        validationFraction: 0, subset: preset.subset, loss: settings.normalisation, vae: settings),
      seed: seed, threads: threads, data: data, out: out + "/" + arm.stage("vae"))
    run.log = log
    run.showsProgress = showsProgress
    return run
  }

  /// The VAE stage's last figure (it needs the trained autoencoder), then its `done.json`.
  func finishVAE(_ arm: ReproductionArm, data runData: RunData) throws {
    guard !isDone(arm.stage("vae")) else { return }
    let (_, autoencoder) = try trainedAutoencoder(arm, threads: 1)
    try drawBeside(autoencoder, vaeFolder: out + "/" + arm.stage("vae"), test: runData.test.inputs)
    try markDone(arm.stage("vae"), [:])
  }

  /// `beside-autoencoder.png` in the VAE's folder: ten test images (top), the arm's
  /// autoencoder's reconstructions and the VAE's decoded means, row by row.
  func drawBeside(_ autoencoder: any TrainableModel, vaeFolder: String, test: Tensor) throws {
    let vaeCheckpoint = try CheckpointReader.read(vaeFolder + "/checkpoint.h5")
    let vae = try loadModel(vaeCheckpoint, path: vaeFolder + "/checkpoint.h5")
    let originals = test.slice(outer: 0..<10)
    let rows = [originals, try autoencoder.decode(try autoencoder.encode(originals)), try vae.decode(try vae.encode(originals))]
    try FigureFile.write(
      try ImageGrid.render(rows.flatMap(imageList), side: AutoencoderConfig.imageSide, columns: 10).encoded(),
      to: vaeFolder + "/beside-autoencoder.png")
  }

  /// The test images' mean squared error against the training set's mean image: what an
  /// autoencoder that learned nothing but the mean scores.
  static func meanImageMSE(train: Tensor, test: Tensor) -> Double {
    let pixels = train.shape.dropFirst().reduce(1, *)
    var mean = [Double](repeating: 0, count: pixels)
    let n = train.shape[0]
    for i in 0..<n { for p in 0..<pixels { mean[p] += Double(train.scalars[i * pixels + p]) } }
    for p in 0..<pixels { mean[p] /= Double(max(1, n)) }
    var sum = 0.0
    for i in 0..<test.shape[0] {
      for p in 0..<pixels {
        let e = Double(test.scalars[i * pixels + p]) - mean[p]
        sum += e * e
      }
    }
    return sum / Double(max(1, test.count))
  }
}

/// The work done while the search finishes: which trial's autoencoder was trained ahead (set
/// by the one worker that trains it, read after every worker has stopped), and which stage it
/// is at, so that the worker that ends the search begins the winner's VAE only while the
/// anticipation has not reached its own (one of them trains it, never both).
final class Anticipation: @unchecked Sendable {
  enum Stage { case none, autoencoder, vae }
  private let lock = NSLock()
  private var anticipated: Int?
  private var stage = Stage.none
  private var ended = false

  var trial: Int? {
    get { locked { anticipated } }
    set { locked { anticipated = newValue } }
  }

  /// Moves the anticipation to `next`, unless the search has ended (`searchEnded`): false then.
  func begin(_ next: Stage) -> Bool {
    locked {
      if ended { return false }
      stage = next
      return true
    }
  }

  /// Records that the search has ended; true for the first caller while the anticipation has
  /// not begun its VAE, which then trains the winner's.
  func searchEnded() -> Bool {
    locked {
      if ended { return false }
      ended = true
      return stage != .vae
    }
  }

  private func locked<T>(_ body: () -> T) -> T {
    lock.lock()
    defer { lock.unlock() }
    return body()
  }
}
