import NN
import TensorCore

/// The loss at the end of a plan, one chunk of rows at a time: the hook a model gives
/// `ExecutionPlan.trainingPass` and `evaluationPass`.
///
/// Called concurrently for different chunks (each with its own rows), so it must only read
/// shared state.
public protocol ChunkLoss {
  /// The loss summed over `rows` (for the caller to scale) and how many rows were classified
  /// correctly (0 when it does not classify), from the plan's outputs for those rows
  /// (`rows.count × width`, row-major); writes the gradient of the caller's scaled loss with
  /// respect to those outputs into `gradient` (same layout).
  func share(rows: Range<Int>, output: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>) -> LossShare
}

/// One chunk's share of a loss.
public struct LossShare: Sendable {
  /// The chunk's unscaled loss sum.
  public var sum: Double
  /// Rows classified correctly.
  public var correct: Int

  public init(sum: Double, correct: Int = 0) {
    self.sum = sum
    self.correct = correct
  }
}

/// The totals of a pass: each chunk's shares added in chunk order (so the same bits with any
/// number of threads).
public struct PassTotals: Equatable, Sendable {
  /// The sum of the `ChunkLoss` shares.
  public var lossSum: Double
  /// The sum of the latent step's shares (the VAE's KL divergence, unscaled); 0 without one.
  public var latentSum: Double
  /// Rows classified correctly.
  public var correct: Int
  /// The loss's gradient with respect to the pass's input, when the pass was asked for it.
  public var inputGradient: Tensor?
}

/// A step between encoder and decoder that is not a layer: the VAE's posterior heads and
/// reparameterised sample. It works on rows (`[rows, inputWidth] → [rows, outputWidth]`),
/// one chunk at a time, concurrently for different chunks, and keeps what its backward pass
/// needs itself.
public protocol LatentStep: AnyObject, CustomStringConvertible {
  /// Scalars per row of its input.
  var inputWidth: Int { get }
  /// Scalars per row of its output.
  var outputWidth: Int { get }
  /// Its parameters (for `zeroGradients`, freezing, and whether a backward pass reaches it).
  var parameters: [ParameterOf<Float>] { get }

  /// Called before each pass over a batch of `n` rows, outside the parallel region: a
  /// training pass draws the batch's random numbers here, in row order.
  func beginPass(batch n: Int, training: Bool)

  /// Writes the output of `rows` and returns their share of the step's own loss (unscaled;
  /// 0 when it has none, or outside training).
  func forwardRows(_ rows: Range<Int>, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, training: Bool)
    -> Double

  /// The backward pass of `rows` (after their forward pass in a training pass): the input
  /// gradient into `inputGradient` when given.
  func backwardRows(_ rows: Range<Int>, outputGradient: UnsafePointer<Float>, inputGradient: UnsafeMutablePointer<Float>?)

  /// After every chunk's backward pass: adds the parameter gradients over the batch's `n`
  /// rows, whose inputs are at `input` (`[n, inputWidth]`).
  func endBackward(input: UnsafePointer<Float>, batch n: Int)
}
