/// A training run that cannot go on.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
  /// The loss became NaN or infinite: training stops, and no checkpoint of it is written.
  case diverged(epoch: Int, step: Int, loss: Double)
  case emptyDataset(String)
  case cannotWrite(path: String, reason: String)

  public var description: String {
    switch self {
    case .diverged(let epoch, let step, let loss):
      return "training diverged: the loss is \(loss) at epoch \(epoch), step \(step);"
        + " stopped without saving (try a smaller learning rate)"
    case .emptyDataset(let what): return "no data to train on: \(what)"
    case .cannotWrite(let path, let reason): return "\(path): cannot write: \(reason)"
    }
  }
}
