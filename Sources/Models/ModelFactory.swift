import NN
import TensorCore

/// The one place a model is built from its kind and configuration: training, checkpoint
/// loading, the benchmarks and the tests all call it.
///
/// Random streams of `seed`: `init` draws the encoder (first), then the autoencoder's decoder
/// or the VAE's heads and decoder; `noise` draws the VAE's ε; `init/classifier` draws the
/// classifier's head. So a classifier built without an encoder has the encoder an autoencoder
/// of the same seed starts from.
public enum ModelFactory {
  /// A freshly initialised model of `kind`.
  /// - Parameters:
  ///   - vaeLoss: the VAE's loss settings (ignored by the other kinds).
  ///   - encoderOf: the trained autoencoder whose encoder a classifier freezes; nil draws a
  ///     fresh encoder.
  ///   - headWidths: the classifier head's hidden widths.
  ///   - initializationStream: the name of the stream that draws the parameters, when not
  ///     `init` (a search trial's `init/trial<k>`).
  /// - Throws: `ModelError.invalidConfiguration` for a bad `config`; `PlanError` if the plan
  ///   cannot be compiled.
  public static func make(
    _ kind: ModelKind, config: AutoencoderConfig, seed: UInt64, vaeLoss: VAELossSettings = VAELossSettings(),
    encoderOf autoencoder: (any TrainableModel)? = nil, headWidths: [Int] = ClassifierDefaults.headWidths, initializationStream: String? = nil
  ) throws -> any TrainableModel {
    var initialization = initializationStream.map { SeededGenerator(seed: seed, streamName: $0) }
      ?? SeededGenerator(seed: seed, stream: .initialization)
    switch kind {
    case .autoencoder:
      return try Autoencoder(config: config, generator: &initialization)
    case .vae:
      return try VariationalAutoencoder(
        config: config, loss: vaeLoss, generator: &initialization, noise: SeededGenerator(seed: seed, stream: .noise))
    case .classifier:
      let frozen: ConvEncoder
      if let autoencoder {
        guard let trained = autoencoder as? Autoencoder, trained.config == config else {
          throw ModelError.invalidConfiguration(
            model: "classifier", field: "encoder", value: "a \(autoencoder.kind.rawValue) of \(autoencoder.config)",
            expected: "an autoencoder of the classifier's config")
        }
        frozen = trained.encoder
      } else {
        frozen = try ConvEncoder(config: config, latentHead: true, generator: &initialization)
      }
      var head = SeededGenerator(seed: seed, streamName: "init/classifier")
      return try LatentClassifier(encoder: frozen, widths: headWidths, generator: &head)
    }
  }
}

/// The seed study's classifier head.
public enum ClassifierDefaults {
  /// Hidden widths of the head (the seed report's 30 and 60).
  public static let headWidths = [30, 60]
}
