import Datasets
import Models
import TensorCore

/// Loaded data for a run: the training split (subset, validation split applied) and the test set.
public struct RunData {
  public var train: LabeledTensor
  public var validation: LabeledTensor?
  public var test: LabeledTensor
  public var checksums: [String: String]

  /// Loads the training and test sets from `data` (the default directory when nil), keeps a
  /// seeded subset of `subset` training images if given, and holds out `validationFraction`.
  public static func load(data: String?, seed: UInt64, subset: Int?, validationFraction: Double) throws -> RunData {
    let directory = FashionMNIST.directory(explicit: data)
    let trainSet = try FashionMNIST.load(.train, directory: directory)
    let testSet = try FashionMNIST.load(.test, directory: directory)
    var train = LabeledTensor(trainSet)
    if let n = subset, n < train.count {
      var g = SeededGenerator(seed: seed, streamName: "shuffle/subset")
      train = train.subset(Array(g.permutation(train.count).prefix(n)).sorted())
    }
    var g = SeededGenerator(seed: seed, streamName: "shuffle/validation")
    let (fit, validation) = train.split(validationFraction: validationFraction, generator: &g)
    return RunData(
      train: fit, validation: validation, test: LabeledTensor(testSet),
      checksums: trainSet.checksums.merging(testSet.checksums) { a, _ in a })
  }
}
