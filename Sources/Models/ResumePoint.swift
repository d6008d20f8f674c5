import NN
import TensorCore

/// What the trainer hands over at the end of each epoch: enough to checkpoint and resume.
public struct EpochEnd {
  /// Epochs completed (1-based count).
  public var epoch: Int
  /// Optimizer steps taken in all.
  public var step: Int
  public var optimizerState: OptimizerState
  /// The `shuffle` stream, positioned for the next epoch.
  public var shuffle: SeededGenerator
  public var history: [EpochRecord]
}

/// Where an interrupted run continues from (as saved at an epoch's end).
public struct ResumePoint {
  public var epoch: Int
  public var step: Int
  public var optimizerState: OptimizerState
  public var shuffle: SeededGenerator
  public var history: [EpochRecord]

  public init(epoch: Int, step: Int, optimizerState: OptimizerState, shuffle: SeededGenerator, history: [EpochRecord]) {
    self.epoch = epoch
    self.step = step
    self.optimizerState = optimizerState
    self.shuffle = shuffle
    self.history = history
  }
}
