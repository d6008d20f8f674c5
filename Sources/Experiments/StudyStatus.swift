import Foundation
import Studies

/// A study's progress for people: a summary line and one row per trial (state, attempt,
/// worker, objective, and the lease left or the reason it was given back).
public enum StudyStatus {
  public static func text(definition: StudyDefinition, location: StorageLocation, rows: [TrialRow]) -> String {
    var counts: [TrialState: Int] = [:]
    for row in rows { counts[row.state, default: 0] += 1 }
    var lines = [
      "study \"\(definition.name)\" in \(location): \(rows.count) trials: "
        + TrialState.allCases.map { "\(counts[$0] ?? 0) \($0.rawValue)" }.joined(separator: ", ")
        + " (lease \(format(definition.leaseSeconds, 0)) s, at most \(definition.maxAttempts) attempts)",
      "| trial | state | attempt | worker | mean MSE | note |",
      "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows {
      let objective = row.objective.map { $0.isFinite ? format($0) : "diverged" } ?? ""
      var note = row.reason ?? ""
      if row.state == .running, let left = row.leaseSecondsLeft {
        note = left >= 0 ? "lease \(format(left, 1)) s left" : "lease expired \(format(-left, 1)) s ago"
      }
      lines.append("| \(row.number + 1) | \(row.state.rawValue) | \(row.attempt) | \(row.worker ?? "") | \(objective) | \(note) |")
    }
    return lines.joined(separator: "\n")
  }
}
