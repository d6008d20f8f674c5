// latentlab-bench: the figures `make bench` prints.
//
// Each benchmark case runs in a fresh child process (this same executable with `--case NAME`),
// so that its peak resident memory is its own. A child prints one JSON object per figure on
// standard output; the parent prints `name: value unit` lines and writes them all to
// `.bench/latest.json`.

import Analysis
import Datasets
import Execution
import Experiments
import Foundation
import Models
import NN
import TensorCore

#if canImport(Glibc)
  import Glibc
#endif

/// One measured figure.
struct Figure: Codable {
  var name: String
  var value: Double
  var unit: String
  /// What we aim for, in words (empty when the figure is for information).
  var goal: String = ""
  /// What was measured, when the name does not say it all.
  var note: String = ""
}

/// A benchmark case: a name and the work that measures it.
struct BenchCase {
  var name: String
  var run: () throws -> [Figure]
}

/// Peak resident memory of this process so far, in MiB (Linux reports ru_maxrss in KiB).
func peakResidentMiB() -> Double {
  var usage = rusage()
  getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
  return Double(usage.ru_maxrss) / 1024
}

func median(_ xs: [Double]) -> Double {
  let s = xs.sorted()
  return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func now() -> Double { ProgressReporter.monotonicSeconds() }

// MARK: - Cases

/// Load and decode the 60,000 training images and labels (gzip inflate, SHA-256 check,
/// scaling to [0, 1]).
func dataLoadTrain() throws -> [Figure] {
  let directory = FashionMNIST.directory(explicit: nil)
  var times: [Double] = []
  for _ in 0..<3 {
    let start = now()
    let set = try FashionMNIST.load(.train, directory: directory)
    times.append(now() - start)
    precondition(set.count == 60_000)
  }
  return [
    Figure(name: "data.load_train.seconds", value: median(times), unit: "s", goal: "< 0.5 s"),
    Figure(name: "data.load_train.peak_memory", value: peakResidentMiB(), unit: "MiB", goal: "< 250 MB"),
  ]
}

/// Where the load's time goes: reading (inflate, overlapped with hashing), SHA-256 alone,
/// allocating and touching the 188 MB tensor, and converting bytes to floats.
func dataParts() throws -> [Figure] {
  let directory = FashionMNIST.directory(explicit: nil)
  let path = try FashionMNIST.locate(FashionMNIST.Split.train.imagesFile, in: directory)
  var payload: [UInt8] = []
  let start = now()
  try IDXReader.stream(path: path, begin: { payload.reserveCapacity($0.payloadByteCount) }) { chunk, _ in
    payload.append(contentsOf: chunk)
  }
  let readSeconds = now() - start
  func hashSeconds(portable: Bool) -> Double {
    let start = now()
    var hasher = SHA256(portable: portable)
    payload.withUnsafeBytes { hasher.update($0) }
    _ = hasher.hexDigest()
    return now() - start
  }
  let mb = Double(payload.count) / 1e6
  var t0 = now()
  var t = Tensor.zeros([60000, 1, 28, 28])
  t.withUnsafeMutableBufferPointer { p in for i in stride(from: 0, to: p.count, by: 1024) { p[i] = 1 } }
  let allocSeconds = now() - t0
  t0 = now()
  let scale = (0..<256).map { Float($0) / 255 }
  t.withUnsafeMutableBufferPointer { dst in
    payload.withUnsafeBufferPointer { src in
      for i in 0..<src.count { dst[i] = scale[Int(src[i])] }
    }
  }
  let convertSeconds = now() - t0
  return [
    Figure(name: "data.alloc_tensor.seconds", value: allocSeconds, unit: "s"),
    Figure(name: "data.convert.seconds", value: convertSeconds, unit: "s"),
    Figure(
      name: "data.sha256.rate", value: mb / hashSeconds(portable: false), unit: "MB/s",
      note: SHA256.hardwareAvailable ? "SHA extensions" : "portable (no SHA extensions on this CPU)"),
    Figure(name: "data.sha256.portable.rate", value: mb / hashSeconds(portable: true), unit: "MB/s"),
    Figure(name: "data.read_train_images.seconds", value: readSeconds, unit: "s"),
  ]
}

/// sgemm GFLOP/s (single-threaded OpenBLAS, as LatentLab runs it) for the matrix shapes of
/// the seed autoencoder's layers at batch 250, and a square 1024 product as the machine's peak.
func gemmRates() throws -> [Figure] {
  // (name, M, N, K): C[M×N] = A[M×K] · B[K×N]
  let shapes: [(String, Int, Int, Int)] = [
    ("conv1.forward", 8, 250 * 14 * 14, 9),
    ("conv2.forward", 17, 250 * 7 * 7, 72),
    ("conv3.forward", 32, 250 * 4 * 4, 153),
    ("conv2.weight_grad", 17, 72, 250 * 7 * 7),
    ("conv3.weight_grad", 32, 153, 250 * 4 * 4),
    ("linear1.forward", 250, 69, 512),
    ("square1024", 1024, 1024, 1024),
  ]
  var figures: [Figure] = []
  var rng = SeededGenerator(seed: 1, streamName: "bench/gemm")
  for (name, m, n, k) in shapes {
    let a = (0..<(m * k)).map { _ in rng.nextFloat() }
    let b = (0..<(k * n)).map { _ in rng.nextFloat() }
    var c = [Float](repeating: 0, count: m * n)
    let flops = 2.0 * Double(m) * Double(n) * Double(k)
    // Repeat until ~0.2 s of work per sample; median of 5 samples.
    let reps = max(1, Int(0.2e9 * 50 / flops / 50))
    var rates: [Double] = []
    a.withUnsafeBufferPointer { pa in
      b.withUnsafeBufferPointer { pb in
        c.withUnsafeMutableBufferPointer { pcBuffer in
          let pc = pcBuffer
          let run = {
            BLAS.sgemm(
              transposeA: false, transposeB: false, m: m, n: n, k: k, alpha: 1,
              a: pa.baseAddress!, lda: k, b: pb.baseAddress!, ldb: n, beta: 0,
              c: pc.baseAddress!, ldc: n)
          }
          run()
          for _ in 0..<5 {
            let start = now()
            for _ in 0..<reps { run() }
            rates.append(flops * Double(reps) / (now() - start) / 1e9)
          }
        }
      }
    }
    figures.append(
      Figure(name: "gemm.\(name).threads1", value: median(rates), unit: "GFLOP/s", note: "M=\(m) N=\(n) K=\(k)"))
  }
  return figures
}

// MARK: - The seed autoencoder's training step

/// The seed study's best autoencoder (`AutoencoderConfig.seed`: conv 1→8→17→32, kernel 3,
/// stride 2, padding 1; dense 512→69→4; mirrored decoder with transposed convolutions and a
/// sigmoid), and its layers in execution order, for timing them one by one.
func seedAutoencoder() throws -> (Autoencoder, [any Layer<Float>]) {
  let model = try ModelFactory.make(.autoencoder, config: .seed, seed: 0) as! Autoencoder
  let layers: [any Layer<Float>] = (model.encoder.layers + model.decoder.layers).flatMap { layer in
    (layer as? Sequential)?.layers ?? [layer]
  }
  return (model, layers)
}

/// Forward multiply-add FLOPs per image of a layer, for an input of `shape` (one image).
func forwardFLOPs(_ layer: any Layer<Float>, input shape: [Int]) throws -> Double {
  let out = try layer.outputShape(for: shape)
  switch layer {
  case let c as Conv2d:
    return 2 * Double(c.outputChannels * c.inputChannels * c.kernelSize * c.kernelSize * out[2] * out[3])
  case let c as ConvTranspose2d:
    return 2 * Double(c.inputChannels * c.outputChannels * c.kernelSize * c.kernelSize * shape[2] * shape[3])
  case let l as Linear:
    return 2 * Double(l.inputFeatures * l.outputFeatures)
  default:
    return 0
  }
}

/// The seed study's autoencoder batch.
let benchBatch = Preset.seed.autoencoder.batchSize

/// A batch of `count` real test images (or uniform noise when the data set is missing).
func benchImages(count: Int = benchBatch) -> Tensor {
  if let test = try? FashionMNIST.load(.test, directory: FashionMNIST.directory(explicit: nil)) {
    return test.subset(Array(0..<count)).images
  }
  var g = SeededGenerator(seed: 1, streamName: "bench/images")
  return Tensor(shape: [count, 1, 28, 28], scalars: (0..<(count * 784)).map { _ in g.nextFloat() })
}

/// Training step (forward, MSE, backward, Adam lr 3e-3 with L2 1e-4) at batch 250 as training
/// runs it (`Autoencoder.trainingStep`, through the model's execution plan), then, with 1
/// thread, the time split by layer from a run of the reference layers one by one.
func trainingRate(threads: Int) throws -> [Figure] {
  let (model, layers) = try seedAutoencoder()
  model.parallel = DeterministicParallel(threads: threads)
  let adam = try Adam(parameters: model.namedParameters, learningRate: 3e-3, weightDecay: 1e-4)
  let x = benchImages()
  let steps = 40
  func modelStep() throws {
    adam.zeroGradients()
    _ = try model.trainingStep(inputs: x, labels: [])
    adam.step()
  }
  var grad = Tensor.zeros([0])
  let mse = MSELoss()
  var forwardTime = [Double](repeating: 0, count: layers.count)
  var backwardTime = [Double](repeating: 0, count: layers.count)
  var lossTime = 0.0, optimizerTime = 0.0
  // One reference layer at a time (im2col + GEMM convolutions), each timed.
  func layerByLayerStep(record: Bool) throws {
    adam.zeroGradients()
    var h = x
    for (i, layer) in layers.enumerated() {
      let t0 = now()
      h = try layer.forward(h)
      if record { forwardTime[i] += now() - t0 }
    }
    var t0 = now()
    _ = try mse(h, x, gradient: &grad)
    if record { lossTime += now() - t0 }
    var d = grad
    for (i, layer) in layers.enumerated().reversed() {
      t0 = now()
      d = try layer.backward(d)
      if record { backwardTime[i] += now() - t0 }
    }
    t0 = now()
    adam.step()
    if record { optimizerTime += now() - t0 }
  }
  // With 1 thread the two ways alternate step by step, so that the machine's drift over
  // seconds does not tilt their comparison.
  var modelStepTimes: [Double] = []
  var stepTimes: [Double] = []
  for _ in 0..<5 {
    try modelStep()
    if threads == 1 { try layerByLayerStep(record: false) }
  }
  for _ in 0..<steps {
    var t0 = now()
    try modelStep()
    modelStepTimes.append(now() - t0)
    if threads == 1 {
      t0 = now()
      try layerByLayerStep(record: true)
      stepTimes.append(now() - t0)
    }
  }
  let perStep = median(modelStepTimes)
  var figures = [
    Figure(
      name: "autoencoder.train.threads\(threads)", value: Double(benchBatch) / perStep, unit: "img/s",
      goal: threads == 1 ? ">= 20000 (PyTorch 9,900-10,100)" : ">= 34000 (PyTorch 12,000-17,000)",
      note: "median of \(steps) steps, batch \(benchBatch)"),
    Figure(name: "autoencoder.train.threads\(threads).peak_memory", value: peakResidentMiB(), unit: "MiB", goal: "< 300 MB"),
  ]
  // Where the time goes (1 thread only: with 2 the chunks overlap), layer by layer.
  if threads == 1 {
    figures.append(Figure(
      name: "autoencoder.train.threads1.reference", value: Double(benchBatch) / median(stepTimes), unit: "img/s",
      note: "the same step on the reference layers, one by one (the split below)"))
    var shape = [1, 1, 28, 28]
    var totalFLOPs = 0.0
    let total = stepTimes.reduce(0, +)
    for (i, layer) in layers.enumerated() {
      let flops = try forwardFLOPs(layer, input: shape)
      let backwardFLOPs = (i == 0 ? 1 : 2) * flops  // the first conv computes no input gradient (Autoencoder turns it off)
      totalFLOPs += flops + backwardFLOPs
      shape = try layer.outputShape(for: shape)
      let seconds = (forwardTime[i] + backwardTime[i]) / Double(steps)
      let share = 100 * (forwardTime[i] + backwardTime[i]) / total
      let name = "\(type(of: layer))".replacingOccurrences(of: "Of<Float>", with: "")
      if flops > 0 {
        let rate = (flops + backwardFLOPs) * Double(benchBatch) / seconds / 1e9
        figures.append(Figure(
          name: "autoencoder.train.layer\(i).gflops", value: rate, unit: "GFLOP/s",
          note: "\(name), \(String(format: "%.1f", share))% of the step"))
      } else {
        figures.append(Figure(
          name: "autoencoder.train.layer\(i).ms", value: seconds * 1e3, unit: "ms",
          note: "\(name), \(String(format: "%.1f", share))% of the step"))
      }
    }
    figures.append(Figure(name: "autoencoder.train.loss.ms", value: lossTime / Double(steps) * 1e3, unit: "ms"))
    figures.append(Figure(name: "autoencoder.train.adam.ms", value: optimizerTime / Double(steps) * 1e3, unit: "ms"))
    figures.append(Figure(name: "autoencoder.train.flops_per_image", value: totalFLOPs / 1e6, unit: "MFLOP"))
    // The floor: at the measured sgemm peak (1024³, ~80-100 GFLOP/s) nothing could beat this.
    figures.append(Figure(
      name: "autoencoder.train.threads1.ceiling_at_100gflops", value: 100e9 / totalFLOPs, unit: "img/s",
      note: "the rate if every FLOP ran at 100 GFLOP/s"))
  }
  return figures
}

/// Each convolution kernel of the seed autoencoder on its own: the best of 2,000 calls on one
/// chunk of 32 images, as GFLOP/s (stable to a few per cent, where whole steps drift by half).
func kernelRates() throws -> [Figure] {
  let (_, layers) = try seedAutoencoder()
  var shape = [1, 1, 28, 28]
  var figures: [Figure] = []
  for (i, layer) in layers.enumerated() {
    defer { shape = (try? layer.outputShape(for: shape)) ?? shape }
    guard ExecutionPlan.isSupported,
      let best = try ConvolutionKernelTiming.bestSeconds(of: layer, imageShape: Array(shape.dropFirst()), calls: 2_000)
    else { continue }
    let out = try layer.outputShape(for: shape)
    let flops = try forwardFLOPs(layer, input: shape) * Double(BatchChunking.itemsPerChunk)
    let name = "\(type(of: layer))".replacingOccurrences(of: "Of<Float>", with: "")
    let what = "\(name) \(shape[1])→\(out[1]), \(shape[2])×\(shape[3]) → \(out[2])×\(out[3])"
    for (kernel, seconds) in [("forward", best.forward), ("weight_gradient", best.weightGradient), ("input_gradient", best.inputGradient)] {
      figures.append(Figure(
        name: "kernels.layer\(i).\(kernel).gflops", value: flops / seconds / 1e9, unit: "GFLOP/s",
        note: "\(what); \(String(format: "%.1f", seconds * 1e6)) µs per chunk of 32 images"))
    }
  }
  return figures
}

/// Inference (encode + decode) at batch 250.
func inferenceRate(threads: Int) throws -> [Figure] {
  let (model, _) = try seedAutoencoder()
  model.parallel = DeterministicParallel(threads: threads)
  let x = benchImages()
  for _ in 0..<5 { _ = try model.reconstruct(x) }
  var times: [Double] = []
  for _ in 0..<60 {
    let t0 = now()
    _ = try model.reconstruct(x)
    times.append(now() - t0)
  }
  return [Figure(
    name: "autoencoder.infer.threads\(threads)", value: Double(benchBatch) / median(times), unit: "img/s",
    goal: threads == 1 ? ">= 46000 (PyTorch 22,400-22,900)" : ">= 82000 (PyTorch 26,000-41,000)")]
}

// MARK: - t-SNE

/// The anchors' input: images in [0, 1], centred on the training mean and projected on the
/// training set's first 50 principal components; `train` selects the 60,000 training images,
/// else the 10,000 test images.
func tsneInput(train: Bool) throws -> (Tensor, [Int32]) {
  let directory = FashionMNIST.directory(explicit: nil)
  let trainSet = try FashionMNIST.load(.train, directory: directory)
  let pca = try PCA(fitting: trainSet.images.reshaped([trainSet.count, 784]), componentCount: 50)
  let set = train ? trainSet : try FashionMNIST.load(.test, directory: directory)
  return (try pca.transform(set.images.reshaped([set.count, 784])), set.labels)
}

/// One t-SNE run on the anchors' input by `algorithm`: seconds (with the exact neighbours' and
/// the affinities' share), KL, leave-one-out 10-NN accuracy, peak memory. Barnes-Hut figures
/// are `tsne.10k.threads2.*`, FFT ones `tsne.10k.fft.threads2.*`.
func tsneFigures(train: Bool, threads: Int, algorithm: TSNEAlgorithm) throws -> [Figure] {
  let (x, labels) = try tsneInput(train: train)
  var options = TSNEOptions()
  options.threads = threads
  options.algorithm = algorithm
  let result = try TSNE.embed(x, options: options)
  let accuracy = try TSNE.knnAccuracy(result.embedding, labels: labels, k: 10, parallel: DeterministicParallel(threads: threads))
  let n = train ? "60k" : "10k"
  let prefix = "tsne.\(n)\(algorithm == .fft ? ".fft" : "").threads\(threads)"
  let goal: String
  switch (algorithm, train) {
  case (.fft, true): goal = "<= 1/3 of openTSNE FFT's (105.2 s on an idle Xeon, KL 2.452, 10-NN 0.842; scikit-learn BH <= 329 s, 10-NN 0.844)"
  case (.fft, false): goal = "<= Barnes-Hut's at 10k (tsne.10k.threads2.seconds); openTSNE FFT 44.8 s"
  case (_, true): goal = "<= 1/3 of scikit-learn's; scikit-learn <= 329 s, KL 2.403, 10-NN 0.844"
  default: goal = "<= 1/3 of scikit-learn's; scikit-learn 30.8 s (2 threads), KL 1.497, 10-NN 0.807"
  }
  return [
    Figure(name: "\(prefix).seconds", value: result.seconds, unit: "s", goal: goal),
    Figure(name: "\(prefix).neighbour_seconds", value: result.neighbourSeconds, unit: "s", note: "exact kNN, part of seconds"),
    Figure(name: "\(prefix).affinity_seconds", value: result.affinitySeconds, unit: "s", note: "perplexity calibration, part of seconds"),
    Figure(name: "\(prefix).kl", value: result.klDivergence, unit: "", goal: algorithm == .fft && train ? "within 0.02 of openTSNE FFT's" : "",
      note: algorithm == .fft && !train ? "about 0.05 above Barnes-Hut's: the grid's interpolation error (openTSNE FFT, its own defaults: 1.528)" : ""),
    Figure(name: "\(prefix).knn10_accuracy", value: accuracy, unit: "", goal: ">= scikit-learn's - 0.002"),
    Figure(name: "\(prefix).peak_memory", value: peakResidentMiB(), unit: "MiB"),
  ]
}
// MARK: - The seed study's time, predicted from measured rates

/// Median seconds per call of `body` over `count` calls after `warmup` calls.
func medianSeconds(warmup: Int, count: Int, _ body: () throws -> Void) rethrows -> Double {
  for _ in 0..<warmup { try body() }
  var times: [Double] = []
  for _ in 0..<count {
    let t0 = now()
    try body()
    times.append(now() - t0)
  }
  return median(times)
}

/// A search trial's autoencoder at seed 0: the median seconds of one training step (forward,
/// backward, its optimizer's update) and of one evaluation pass over `batch` (250 images).
func trialStepSeconds(_ trial: TrialParameters, batch: Tensor, threads: Int) throws -> (step: Double, infer: Double) {
  let model = try ModelFactory.make(.autoencoder, config: trial.config, seed: 0)
  model.parallel = DeterministicParallel(threads: threads)
  let optimizer = try trial.optimizer.make(model.namedParameters)
  let labels = [Int32](repeating: 0, count: batch.shape[0])
  let step = try medianSeconds(warmup: 3, count: 10) {
    optimizer.zeroGradients()
    _ = try model.trainingStep(inputs: batch, labels: labels)
    optimizer.step()
  }
  let infer = try medianSeconds(warmup: 2, count: 10) { _ = try model.evaluationStep(inputs: batch, labels: labels) }
  return (step, infer)
}

/// The wall time of `latentlab reproduce --preset seed --seed 0` (2 threads) predicted from
/// per-epoch times, following `ReproducePipeline`'s schedule: the published arm on one thread
/// beside a search worker on the other, that thread then joining the search; the winner's
/// autoencoder on the thread that ends its last trial first; then its embedding on one thread
/// beside its VAE and classifier on the other. Each of the 10 trial configurations the seed
/// draws is timed at batch 250 (training step and inference, at 1 and 2 threads), the VAE at
/// batch 2000, the classifier head at batch 250, and t-SNE of the preset's points,
/// four-dimensional, all at 1 thread. The configuration the search picks is not known before
/// it runs, so the winner's stages use the mean over the ten configurations.
func reproducePrediction() throws -> [Figure] {
  let threads = 2
  let preset = Preset.seed
  let trainCount = 60_000, testCount = 10_000
  let directory = FashionMNIST.directory(explicit: nil)
  let train = try FashionMNIST.load(.train, directory: directory)
  let images = train.subset(Array(0..<2000)).images
  let batch = Tensor(shape: [250, 1, 28, 28], scalars: Array(images.scalars.prefix(250 * 784)))
  let trials = preset.search.space.sample(count: preset.search.trials, seed: 0)
  // One thread's seconds of search work: every trial at its one-thread time.
  var searchWork = 0.0
  var trainRates: [Double] = [], inferRates: [Double] = [], trainRates1: [Double] = [], inferRates1: [Double] = []
  var vaeRates: [Double] = []
  let foldTrain = trainCount * (preset.search.folds - 1) / preset.search.folds, foldValidation = trainCount / preset.search.folds
  for trial in trials {
    let (searchStep, searchInfer) = try trialStepSeconds(trial, batch: batch, threads: 1)
    searchWork += Double(preset.search.folds) * (Double(preset.search.epochs * foldTrain) * searchStep / 250
      + Double(foldValidation) * searchInfer / 250)
    trainRates1.append(250 / searchStep)
    inferRates1.append(250 / searchInfer)
    let (step, infer) = try trialStepSeconds(trial, batch: batch, threads: threads)
    trainRates.append(250 / step)
    inferRates.append(250 / infer)
    let vae = try ModelFactory.make(.vae, config: trial.config, seed: 0)
    vae.parallel = DeterministicParallel(threads: 1)
    let vaeOptimizer = try OptimizerSettings(kind: "adam", learningRate: 1e-3).make(vae.namedParameters)
    let vaeLabels = [Int32](repeating: 0, count: images.shape[0])
    let vaeStep = try medianSeconds(warmup: 1, count: 3) {
      vaeOptimizer.zeroGradients()
      _ = try vae.trainingStep(inputs: images, labels: vaeLabels)
      vaeOptimizer.step()
    }
    vaeRates.append(Double(images.shape[0]) / vaeStep)
  }
  func mean(_ xs: [Double]) -> Double { xs.reduce(0, +) / Double(xs.count) }
  // Rates average as times do: the mean time per image, inverted.
  func meanRate(_ rates: [Double]) -> Double { 1 / mean(rates.map { 1 / $0 }) }
  let (trainRate, inferRate) = (meanRate(trainRates), meanRate(inferRates))
  let (trainRate1, inferRate1, vaeRate1) = (meanRate(trainRates1), meanRate(inferRates1), meanRate(vaeRates))
  let retrainSeconds = Double(preset.autoencoder.epochs * trainCount) / trainRate + Double(testCount) / inferRate
  let retrainSeconds1 = Double(preset.autoencoder.epochs * trainCount) / trainRate1 + Double(testCount) / inferRate1
  // The classifier: codes of the training and test sets (encoder only: at most the inference
  // time), then its dense head for 20 epochs.
  let classifier = try ModelFactory.make(.classifier, config: .seed, seed: 0)
  classifier.parallel = DeterministicParallel(threads: 1)
  let codes = Tensor(shape: [250, AutoencoderConfig.seed.latent], scalars: (0..<(250 * AutoencoderConfig.seed.latent)).map { Float($0 % 7) / 7 })
  let headOptimizer = try OptimizerSettings(kind: "adam", learningRate: 1e-3).make(classifier.namedParameters)
  let headLabels = (0..<250).map { Int32($0 % 10) }
  let headStep = try medianSeconds(warmup: 3, count: 20) {
    headOptimizer.zeroGradients()
    _ = try classifier.trainingStep(inputs: codes, labels: headLabels)
    headOptimizer.step()
  }
  let classifierSeconds = Double(trainCount + testCount) / inferRate1 + Double(preset.classifier.epochs * trainCount) * headStep / 250
  let vaeSeconds = Double(preset.vae.epochs * trainCount) / vaeRate1 + Double(testCount) / inferRate1
  // Embedding: the training codes, PCA, and t-SNE of the preset's number of them (timed on
  // the first four principal components of as many training images, a stand-in for
  // four-dimensional codes), by the preset's method.
  let sample = try PCA(fitting: images.reshaped([images.shape[0], 784]), componentCount: 4)
  let tsneInputs = try sample.transform(train.subset(Array(0..<preset.embedding.tsnePoints)).images.reshaped([preset.embedding.tsnePoints, 784]))
  var options = TSNEOptions()
  options.threads = 1
  options.iterations = preset.embedding.tsneIterations
  options.algorithm = preset.embedding.tsneAlgorithm
  let tsneSeconds = try TSNE.embed(tsneInputs, options: options).seconds
  options.threads = threads
  let tsneSeconds2 = try TSNE.embed(tsneInputs, options: options).seconds
  let embeddingSeconds = Double(trainCount) / inferRate1 + tsneSeconds
  // The schedule: the published arm's stages on one thread while the other searches, then
  // both search (the arm's thread is the bottleneck if it outlasts half the work). The two
  // workers end their last trials apart by half a trial on average: the one that ends first
  // trains the best trial's autoencoder meanwhile; whichever thread is free first after that
  // and the search's end trains the winner's VAE until the other is free too, stopping at its
  // next epoch's end (the other waits half an epoch on average); then one thread embeds, the
  // other finishes the VAE and trains the classifier; the t-SNE takes both threads (at their
  // rate) once that side has ended.
  let publishedArm = retrainSeconds1 + embeddingSeconds + classifierSeconds + vaeSeconds
  let imbalance = searchWork / Double(preset.search.trials) / 2
  let searchPhase = max(publishedArm, (searchWork + publishedArm) / Double(threads) + imbalance / 2)
  let autoencoderAhead = searchPhase - imbalance + retrainSeconds1
  let halfEpoch = Double(trainCount) / vaeRate1 / 2
  let phaseEnd = max(searchPhase, autoencoderAhead) + halfEpoch
  let vaeAhead = min(vaeSeconds, abs(searchPhase - autoencoderAhead) + halfEpoch)
  let trainingEnd = phaseEnd + classifierSeconds + vaeSeconds - vaeAhead
  let embeddingEnd = phaseEnd + embeddingSeconds
  let total = embeddingEnd <= trainingEnd ? trainingEnd : trainingEnd + (embeddingEnd - trainingEnd) * tsneSeconds2 / tsneSeconds
  return [
    Figure(name: "reproduce.seed.search.seconds", value: searchWork / Double(threads), unit: "s",
           note: "10 trials x 3 folds x 5 epochs on two single-thread workers, alone; 1-thread rates \(Int(trainRates1.min()!))-\(Int(trainRates1.max()!)) img/s"),
    Figure(name: "reproduce.seed.search_phase.seconds", value: searchPhase, unit: "s",
           note: "the search with the published arm's stages on one of its threads"),
    Figure(name: "reproduce.seed.autoencoder.seconds", value: retrainSeconds1, unit: "s",
           note: "5 epochs at the trials' mean 1-thread rate, \(Int(trainRate1)) img/s (at 2 threads, \(Int(trainRate)) img/s: \(String(format: "%.1f", retrainSeconds)) s)"),
    Figure(name: "reproduce.seed.embedding.seconds", value: embeddingSeconds, unit: "s",
           note: "1 thread: codes + t-SNE of \(preset.embedding.tsnePoints) points (\(String(format: "%.1f", tsneSeconds)) s; on 2 threads \(String(format: "%.1f", tsneSeconds2)) s)"),
    Figure(name: "reproduce.seed.classifier.seconds", value: classifierSeconds, unit: "s", note: "1 thread"),
    Figure(name: "reproduce.seed.vae.seconds", value: vaeSeconds, unit: "s", note: "1 thread: 20 epochs at batch 2000, \(Int(vaeRate1)) img/s"),
    Figure(name: "reproduce.seed.predicted_minutes", value: total / 60, unit: "min",
           goal: "make reproduce within 25% of this",
           note: "2 threads: the search phase (the winner's autoencoder on the thread that ends first, and \(String(format: "%.1f", vaeAhead)) s of its VAE), then its embedding beside its VAE + classifier (the t-SNE on both threads after them)"),
  ]
}

/// The study engine's figures (`StudyEngineTiming`), its overhead taken against a seed-preset
/// trial timed here: seed 0's first trial, 2 threads, its training steps and validation passes
/// at their median rates.
func studyEngineFigures() throws -> [Figure] {
  let preset = Preset.seed
  let trial = preset.search.space.sample(count: 1, seed: 0)[0]
  let (step, infer) = try trialStepSeconds(trial, batch: benchImages(count: 250), threads: 2)
  let folds = Double(preset.search.folds)
  let seconds = folds * (Double(preset.search.epochs) * 60_000 * (folds - 1) / folds * step / 250 + 60_000 / folds * infer / 250)
  return try StudyEngineTiming.figures(seedTrialSeconds: seconds)
}

/// Training steps, 2 threads, of a configuration whose weights decay toward zero (seed 0's
/// search trial 2: RMSprop lr 2.11e-3, L2 9e-3) beside a healthy one (Adam 3e-3, L2 1e-4), both
/// on architecture 8, 15, 31 / 66 / 4: 300 warm-up steps each (the decaying weights reach
/// subnormal magnitudes), then 30 timed steps each, alternating. With flush-to-zero set on
/// every computing thread the two run at the same rate; without it, Intel cores took 11-16x
/// longer on the decaying one.
func subnormalTrainingRates() throws -> [Figure] {
  let config = AutoencoderConfig(channels: [8, 15, 31], hidden: 66, latent: 4, conv3Padding: 1)
  let x = benchImages()
  func make(_ optimizer: (([NamedParameter<Float>]) throws -> any Optimizer)) throws -> () throws -> Void {
    let model = try ModelFactory.make(.autoencoder, config: config, seed: 0)
    model.parallel = DeterministicParallel(threads: 2)
    let o = try optimizer(model.namedParameters)
    return {
      o.zeroGradients()
      _ = try model.trainingStep(inputs: x, labels: [])
      o.step()
    }
  }
  let decaying = try make { try RMSprop(parameters: $0, learningRate: 2.11e-3, weightDecay: 9e-3) }
  let healthy = try make { try Adam(parameters: $0, learningRate: 3e-3, weightDecay: 1e-4) }
  for _ in 0..<300 {
    try decaying()
    try healthy()
  }
  var decayingTimes: [Double] = [], healthyTimes: [Double] = []
  for _ in 0..<30 {
    var t0 = now()
    try decaying()
    decayingTimes.append(now() - t0)
    t0 = now()
    try healthy()
    healthyTimes.append(now() - t0)
  }
  let decayingRate = Double(benchBatch) / median(decayingTimes), healthyRate = Double(benchBatch) / median(healthyTimes)
  return [
    Figure(name: "train.subnormals.decaying.threads2", value: decayingRate, unit: "img/s",
           note: "RMSprop lr 2.11e-3, L2 9e-3 (seed 0's trial 2), after 300 steps"),
    Figure(name: "train.subnormals.healthy.threads2", value: healthyRate, unit: "img/s", note: "Adam 3e-3, L2 1e-4, same architecture"),
    Figure(name: "train.subnormals.ratio", value: decayingRate / healthyRate, unit: "x",
           goal: "within 20% of 1 (flush-to-zero on every computing thread)"),
  ]
}

// MARK: - The VAE's and the classifier's training steps

/// The VAE's training step at the seed's batch of 2,000 (Adam 1e-3), alternating step by step
/// with the autoencoder's at its batch of 250 (Adam 3e-3, L2 1e-4) so that the machine's drift
/// does not tilt their ratio; both through their execution plans.
func vaeTrainingRate(threads: Int) throws -> [Figure] {
  let images = benchImages(count: Preset.seed.vae.batchSize)
  let vae = try ModelFactory.make(.vae, config: .seed, seed: 0)
  vae.parallel = DeterministicParallel(threads: threads)
  let vaeOptimizer = try OptimizerSettings(kind: "adam", learningRate: 1e-3).make(vae.namedParameters)
  let autoencoder = try ModelFactory.make(.autoencoder, config: .seed, seed: 0)
  autoencoder.parallel = DeterministicParallel(threads: threads)
  let adam = try OptimizerSettings(kind: "adam", learningRate: 3e-3, weightDecay: 1e-4).make(autoencoder.namedParameters)
  let x = benchImages()
  let labels = [Int32](repeating: 0, count: images.shape[0])
  var vaeTimes: [Double] = [], autoencoderTimes: [Double] = []
  for round in 0..<12 {
    var t0 = now()
    vaeOptimizer.zeroGradients()
    _ = try vae.trainingStep(inputs: images, labels: labels)
    vaeOptimizer.step()
    if round >= 2 { vaeTimes.append(now() - t0) }
    for _ in 0..<8 {
      t0 = now()
      adam.zeroGradients()
      _ = try autoencoder.trainingStep(inputs: x, labels: [])
      adam.step()
      if round >= 2 { autoencoderTimes.append(now() - t0) }
    }
  }
  let vaeRate = Double(images.shape[0]) / median(vaeTimes)
  let autoencoderRate = Double(benchBatch) / median(autoencoderTimes)
  return [
    Figure(
      name: "vae.train.threads\(threads)", value: vaeRate, unit: "img/s",
      note: "batch \(images.shape[0]), median of \(vaeTimes.count) steps"),
    Figure(
      name: "vae.train.threads\(threads).ratio_to_autoencoder", value: vaeRate / autoencoderRate, unit: "x",
      goal: ">= 0.8", note: "the autoencoder's \(Int(autoencoderRate)) img/s at batch \(benchBatch), alternating"),
  ]
}

/// The classifier's training step at batch 250 (Adam 1e-3): its head on the frozen encoder's
/// codes, as training runs it.
func classifierTrainingRate(threads: Int) throws -> [Figure] {
  let classifier = try ModelFactory.make(.classifier, config: .seed, seed: 0)
  classifier.parallel = DeterministicParallel(threads: threads)
  let data = try classifier.trainingInputs(LabeledTensor(inputs: benchImages(), labels: (0..<benchBatch).map { Int32($0 % 10) }))
  let optimizer = try OptimizerSettings(kind: "adam", learningRate: 1e-3).make(classifier.namedParameters)
  let seconds = try medianSeconds(warmup: 20, count: 400) {
    optimizer.zeroGradients()
    _ = try classifier.trainingStep(inputs: data.inputs, labels: data.labels)
    optimizer.step()
  }
  return [Figure(
    name: "classifier.train.threads\(threads)", value: Double(benchBatch) / seconds, unit: "img/s",
    note: "batch \(benchBatch) of codes, median of 400 steps")]
}

let cases: [BenchCase] = [
  BenchCase(name: "data.load", run: dataLoadTrain),
  BenchCase(name: "data.parts", run: dataParts),
  BenchCase(name: "gemm", run: gemmRates),
  BenchCase(name: "train.threads1", run: { try trainingRate(threads: 1) }),
  BenchCase(name: "train.threads2", run: { try trainingRate(threads: 2) }),
  BenchCase(name: "train.subnormals", run: subnormalTrainingRates),
  BenchCase(name: "vae.train.threads1", run: { try vaeTrainingRate(threads: 1) }),
  BenchCase(name: "vae.train.threads2", run: { try vaeTrainingRate(threads: 2) }),
  BenchCase(name: "classifier.train.threads1", run: { try classifierTrainingRate(threads: 1) }),
  BenchCase(name: "classifier.train.threads2", run: { try classifierTrainingRate(threads: 2) }),
  BenchCase(name: "kernels", run: kernelRates),
  BenchCase(name: "infer.threads1", run: { try inferenceRate(threads: 1) }),
  BenchCase(name: "infer.threads2", run: { try inferenceRate(threads: 2) }),
  BenchCase(name: "pytorch.compare", run: PyTorchComparison.figures),
  BenchCase(name: "tsne.10k", run: { try tsneFigures(train: false, threads: 2, algorithm: .barnesHut) }),
  BenchCase(name: "tsne.10k.fft", run: { try tsneFigures(train: false, threads: 2, algorithm: .fft) }),
  BenchCase(name: "tsne.60k", run: { try tsneFigures(train: true, threads: 2, algorithm: .barnesHut) }),
  BenchCase(name: "tsne.60k.fft", run: { try tsneFigures(train: true, threads: 2, algorithm: .fft) }),
  BenchCase(name: "reproduce.seed", run: reproducePrediction),
  BenchCase(name: "studies", run: studyEngineFigures),
]

// MARK: - Driver

func runChild(_ name: String) -> Int32 {
  guard let c = cases.first(where: { $0.name == name }) else {
    FileHandle.standardError.write("latentlab-bench: unknown case '\(name)'; known: \(cases.map(\.name).joined(separator: ", "))\n".data(using: .utf8)!)
    return 2
  }
  do {
    let encoder = JSONEncoder()
    for figure in try c.run() {
      print(String(decoding: try encoder.encode(figure), as: UTF8.self))
    }
    return 0
  } catch {
    FileHandle.standardError.write("latentlab-bench: \(name): \(error)\n".data(using: .utf8)!)
    return 1
  }
}

/// Which machine and code path the figures come from.
struct Machine: Codable {
  var cpu: String
  var path: String
  var openBLASKernels: String
  var threads: Int
}

func runAll(only: [String]) -> Int32 {
  let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
  var all: [Figure] = []
  var failed = false
  let machine = Machine(
    cpu: InstructionSet.cpuModel, path: InstructionSet.selected.rawValue, openBLASKernels: BLAS.coreName,
    threads: ProcessInfo.processInfo.activeProcessorCount)
  print("machine: \(machine.cpu); path \(machine.path) (LATENTLAB_ISA), OpenBLAS kernels \(machine.openBLASKernels),"
    + " \(machine.threads) hardware threads")
  for c in cases where only.isEmpty || only.contains(c.name) {
    let process = Process()
    process.executableURL = executable
    process.arguments = ["--case", c.name]
    let pipe = Pipe()
    process.standardOutput = pipe
    do {
      try process.run()
    } catch {
      FileHandle.standardError.write("latentlab-bench: cannot start case \(c.name): \(error)\n".data(using: .utf8)!)
      return 1
    }
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    if process.terminationStatus != 0 {
      failed = true
      continue
    }
    for line in String(decoding: output, as: UTF8.self).split(separator: "\n") {
      guard let figure = try? JSONDecoder().decode(Figure.self, from: Data(line.utf8)) else { continue }
      all.append(figure)
      let value = figure.value >= 100 ? String(format: "%.0f", figure.value) : String(format: "%.3g", figure.value)
      let comments = [figure.goal.isEmpty ? "" : "goal \(figure.goal)", figure.note].filter { !$0.isEmpty }
      print("\(figure.name): \(value) \(figure.unit)" + (comments.isEmpty ? "" : "   # " + comments.joined(separator: "; ")))
      fflush(stdout)
    }
  }
  do {
    try FileManager.default.createDirectory(atPath: ".bench", withIntermediateDirectories: true)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    struct Report: Codable { var version: String; var machine: Machine; var figures: [Figure] }
    try encoder.encode(Report(version: LatentLabVersion.current, machine: machine, figures: all))
      .write(to: URL(fileURLWithPath: ".bench/latest.json"), options: .atomic)
    FileHandle.standardError.write("wrote .bench/latest.json (\(all.count) figures)\n".data(using: .utf8)!)
  } catch {
    FileHandle.standardError.write("latentlab-bench: cannot write .bench/latest.json: \(error)\n".data(using: .utf8)!)
    return 1
  }
  return failed ? 1 : 0
}

if let problem = InstructionSet.environmentProblem {
  FileHandle.standardError.write("latentlab-bench: \(problem)\n".data(using: .utf8)!)
  exit(64)
}
let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "--case", arguments.count == 2 {
  exit(runChild(arguments[1]))
} else if arguments.first == "--claim-worker", arguments.count == 3 {
  do {
    let times = try StudyEngineTiming.worker(location: arguments[1], study: arguments[2])
    print(String(decoding: try JSONEncoder().encode(times), as: UTF8.self))
    exit(0)
  } catch {
    FileHandle.standardError.write("latentlab-bench: claim worker: \(error)\n".data(using: .utf8)!)
    exit(1)
  }
} else if arguments.first == "--help" || arguments.first == "-h" {
  print("usage: latentlab-bench [CASE ...]   (cases: \(cases.map(\.name).joined(separator: ", ")))")
  exit(0)
} else {
  exit(runAll(only: arguments))
}
