/// A problem with an experiment's settings, inputs or run folder.
public enum ExperimentError: Error, CustomStringConvertible, Equatable {
  case invalid(String)

  public var description: String {
    switch self {
    case .invalid(let message): return message
    }
  }
}
