import NN
import TensorCore

/// A model of the study: what the trainer, the checkpoints, the analyses and the figures need
/// from it, whatever its kind, so that no caller has to ask which kind it holds.
///
/// `ModelFactory.make` builds one from its kind and configuration. Every model runs either
/// through its compiled `ExecutionPlan` (the fast path) or through its reference layers
/// (`execution`); both compute the same maps, and the plan's results do not depend on the
/// thread count.
public protocol TrainableModel: AnyObject {
  /// Which model this is.
  var kind: ModelKind { get }
  /// The architecture.
  var config: AutoencoderConfig { get }
  /// Every trainable parameter, with its PyTorch `state_dict` name.
  var namedParameters: [NamedParameter<Float>] { get }
  /// Every parameter a checkpoint stores, trainable or frozen (by default the trainable ones).
  var stateDict: [NamedParameter<Float>] { get }
  /// Thread use (fixed chunks: results do not depend on it).
  var parallel: DeterministicParallel { get set }
  /// Whether steps run through the compiled plan or the reference layers.
  var execution: ModelExecution { get set }
  /// The random streams the model draws from while training, by name (`noise` for the VAE's
  /// ε): part of the training state a checkpoint keeps.
  var randomStreams: [String: SeededGenerator] { get set }
  /// Words for the training loss, for reports and figure axes.
  var lossDescription: String { get }

  /// What the trainer feeds the model for a data set of images: the images, or for a model
  /// over a frozen encoder, its codes (computed once).
  func trainingInputs(_ data: LabeledTensor) throws -> LabeledTensor
  /// Forward, loss and backward on a batch of training inputs; parameter gradients accumulate.
  func trainingStep(inputs: Tensor, labels: [Int32]) throws -> BatchResult
  /// Forward and loss only, on a batch of training inputs (the VAE decodes the mean).
  func evaluationStep(inputs: Tensor, labels: [Int32]) throws -> BatchResult

  /// Latent codes `[N, latent]` for images `[N, 1, 28, 28]` (the VAE's posterior mean).
  func encode(_ images: Tensor) throws -> Tensor
  /// Images `[N, 1, 28, 28]` for codes `[N, latent]`.
  /// - Throws: `ModelError.unsupported` for a model without a decoder.
  func decode(_ codes: Tensor) throws -> Tensor
  /// The predicted class of each image, or nil for a model that does not classify.
  func predictedClasses(_ images: Tensor) throws -> [Int32]?
  /// Images decoded from `count` draws of the prior N(0, I) from `generator`, or nil for a
  /// model without a prior.
  func samplePrior(count: Int, generator: inout SeededGenerator) throws -> Tensor?
}

extension TrainableModel {
  public var stateDict: [NamedParameter<Float>] { namedParameters }
  public var randomStreams: [String: SeededGenerator] {
    get { [:] }
    set {}
  }
  public func trainingInputs(_ data: LabeledTensor) throws -> LabeledTensor { data }
  public func predictedClasses(_ images: Tensor) throws -> [Int32]? { nil }
  public func samplePrior(count: Int, generator: inout SeededGenerator) throws -> Tensor? { nil }
}
