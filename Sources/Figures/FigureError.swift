/// A problem making a figure.
public enum FigureError: Error, CustomStringConvertible, Equatable {
  case invalidImage(reason: String)
  case compressionFailed(status: Int32)
  case cannotWrite(path: String, reason: String)

  public var description: String {
    switch self {
    case .invalidImage(let reason): return "invalid image: \(reason)"
    case .compressionFailed(let status): return "PNG compression failed (zlib status \(status))"
    case .cannotWrite(let path, let reason): return "\(path): cannot write: \(reason)"
    }
  }
}
