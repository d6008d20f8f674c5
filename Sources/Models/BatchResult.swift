/// The result of one batch: the batch's mean loss, how many items, and (for a classifier)
/// how many were classified correctly.
public struct BatchResult: Equatable, Sendable {
  public var loss: Double
  public var count: Int
  public var correct: Int?

  public init(loss: Double, count: Int, correct: Int? = nil) {
    self.loss = loss
    self.count = count
    self.correct = correct
  }
}
