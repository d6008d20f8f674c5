/// What can go wrong with a study's storage or its settings.
public enum StudyError: Error, CustomStringConvertible, Equatable, Sendable {
  /// The storage cannot be opened, reached or written; the message names it and why.
  case storage(String)
  /// A study of this name exists with other settings; nothing was touched.
  case settingsDiffer(String)
  /// No study of this name in the storage.
  case unknownStudy(String)
  /// A malformed argument (a storage URL, a trial number).
  case invalid(String)

  /// No study `study` in `storage`, which holds `known`.
  static func unknown(_ study: String, in storage: String, known: [String]) -> StudyError {
    .unknownStudy(
      "\(storage): no study named \"\(study)\""
        + (known.isEmpty ? " (the storage holds none)" : " (it holds: \(known.joined(separator: ", ")))"))
  }

  public var description: String {
    switch self {
    case .storage(let m), .settingsDiffer(let m), .unknownStudy(let m), .invalid(let m): return m
    }
  }
}
