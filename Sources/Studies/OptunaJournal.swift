import Foundation

/// A value in optuna's journal (JSON), written with exactly the bits it holds.
public enum JournalValue: Equatable, Sendable {
  case null
  case bool(Bool)
  case int(Int)
  case double(Double)
  case string(String)
  case array([JournalValue])
  /// Keys are written in the order given: the same study always gives the same bytes.
  case object([(String, JournalValue)])

  public static func == (a: JournalValue, b: JournalValue) -> Bool { a.json == b.json }

  /// Compact JSON, as `json.dumps(…, separators=(",", ":"))` writes it; a double in its
  /// shortest form that reads back to the same bits (Python's `float` reads it exactly).
  public var json: String {
    switch self {
    case .null: return "null"
    case .bool(let b): return b ? "true" : "false"
    case .int(let i): return String(i)
    case .double(let x):
      if x.isNaN { return "NaN" }
      if x.isInfinite { return x > 0 ? "Infinity" : "-Infinity" }
      return "\(x)"
    case .string(let s): return JournalValue.quoted(s)
    case .array(let items): return "[" + items.map(\.json).joined(separator: ",") + "]"
    case .object(let pairs): return "{" + pairs.map { JournalValue.quoted($0.0) + ":" + $0.1.json }.joined(separator: ",") + "}"
    }
  }

  static func quoted(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + "\""
  }
}

/// A parameter's distribution, as optuna names and serialises it.
public enum OptunaDistribution: Equatable, Sendable {
  /// `FloatDistribution(low, high, log=…)`; the internal value is the float itself.
  case float(low: Double, high: Double, log: Bool)
  /// `IntDistribution(low, high)` (step 1); the internal value is the integer as a float.
  case int(low: Int, high: Int)
  /// `CategoricalDistribution(choices)`; the internal value is the chosen index.
  case categorical([JournalValue])

  /// `distribution_to_json`: `{"name": …, "attributes": {…}}` as a JSON string.
  var json: String {
    switch self {
    case .float(let low, let high, let log):
      return JournalValue.object([
        ("name", .string("FloatDistribution")),
        ("attributes", .object([("step", .null), ("low", .double(low)), ("high", .double(high)), ("log", .bool(log))])),
      ]).json
    case .int(let low, let high):
      return JournalValue.object([
        ("name", .string("IntDistribution")),
        ("attributes", .object([("log", .bool(false)), ("step", .int(1)), ("low", .int(low)), ("high", .int(high))])),
      ]).json
    case .categorical(let choices):
      return JournalValue.object([("name", .string("CategoricalDistribution")), ("attributes", .object([("choices", .array(choices))]))]).json
    }
  }
}

/// One trial in the journal.
public struct JournalTrial: Sendable {
  /// optuna's `TrialState`.
  public enum State: Int, Sendable {
    case running = 0, complete = 1, pruned = 2, fail = 3, waiting = 4
  }

  public var state: State
  /// The objective of a complete trial.
  public var value: Double?
  /// (name, distribution, internal value) in the order they should appear.
  public var parameters: [(String, OptunaDistribution, Double)]
  /// Reported values by step (optuna's intermediate values), e.g. one per fold.
  public var intermediate: [(Int, Double)]
  public var userAttributes: [(String, JournalValue)]

  public init(
    state: State, value: Double?, parameters: [(String, OptunaDistribution, Double)], intermediate: [(Int, Double)],
    userAttributes: [(String, JournalValue)]
  ) {
    self.state = state
    self.value = value
    self.parameters = parameters
    self.intermediate = intermediate
    self.userAttributes = userAttributes
  }
}

/// optuna's JournalStorage format (`JournalFileBackend`, optuna 5): one JSON operation per line.
///
/// The study is written as `CREATE_STUDY` (minimise), one `SET_STUDY_USER_ATTR` per attribute,
/// then one `CREATE_TRIAL` per trial carrying its state, value, parameters with their
/// distributions, intermediate values and user attributes. Times are fixed (the Unix epoch) so
/// that the same study always exports the same bytes.
public enum OptunaJournal {
  /// The `worker_id` of every operation.
  public static let workerID = "latentlab-export"
  /// The start and completion time of every finished trial.
  public static let fixedTime = "1970-01-01T00:00:00.000000+00:00"

  /// The journal's text.
  public static func text(study: String, userAttributes: [(String, JournalValue)], trials: [JournalTrial]) -> String {
    var lines: [JournalValue] = [
      .object([("op_code", .int(0)), ("worker_id", .string(workerID)), ("study_name", .string(study)), ("directions", .array([.int(1)]))])
    ]
    for attribute in userAttributes {
      lines.append(
        .object([("op_code", .int(2)), ("worker_id", .string(workerID)), ("study_id", .int(0)), ("user_attr", .object([attribute]))]))
    }
    for trial in trials {
      var fields: [(String, JournalValue)] = [
        ("op_code", .int(4)), ("worker_id", .string(workerID)), ("study_id", .int(0)),
        ("datetime_start", trial.state == .waiting ? .null : .string(fixedTime)), ("state", .int(trial.state.rawValue)),
        ("value", trial.state == .complete ? trial.value.map(JournalValue.double) ?? .null : .null), ("values", .null),
      ]
      if trial.state == .complete || trial.state == .fail || trial.state == .pruned {
        fields.append(("datetime_complete", .string(fixedTime)))
      }
      fields.append(("distributions", .object(trial.parameters.map { ($0.0, .string($0.1.json)) })))
      fields.append(("params", .object(trial.parameters.map { ($0.0, .double($0.2)) })))
      fields.append(("user_attrs", .object(trial.userAttributes)))
      fields.append(("system_attrs", .object([])))
      fields.append(("intermediate_values", .object(trial.intermediate.map { (String($0.0), .double($0.1)) })))
      lines.append(.object(fields))
    }
    return lines.map { $0.json + "\n" }.joined()
  }
}
