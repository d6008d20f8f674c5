import Foundation

/// The embedded default: a SQLite file in the run folder (`studies.sqlite`), no server.
/// Several processes on one machine share it safely: every claim, renewal and result is one
/// `BEGIN IMMEDIATE` transaction, and the clock is SQLite's (the machine's).
final class EmbeddedStudyStorage: StudyStorage {
  private let database: SQLiteDatabase

  /// The storage's clock in seconds since 1970, as SQL.
  private static let now = "((julianday('now') - 2440587.5) * 86400.0)"

  /// Opens (creating the folder, file and tables if need be) the store in `folder`.
  init(folder: String) throws {
    do {
      try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    } catch {
      throw StudyError.storage("\(folder): cannot create the study folder: \(error.localizedDescription)")
    }
    database = try SQLiteDatabase(path: StorageLocation.embeddedFile(in: folder))
    try database.writeTransaction {
      try database.execute(
        """
        CREATE TABLE IF NOT EXISTS studies (
          name TEXT PRIMARY KEY, settings TEXT NOT NULL, trial_count INTEGER NOT NULL,
          lease_seconds REAL NOT NULL, max_attempts INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS trials (
          study TEXT NOT NULL REFERENCES studies(name), number INTEGER NOT NULL, state TEXT NOT NULL,
          attempt INTEGER NOT NULL DEFAULT 0, worker TEXT, lease_until REAL, objective REAL, record TEXT, reason TEXT,
          PRIMARY KEY (study, number));
        """)
    }
  }

  var description: String { database.path }

  func createOrJoin(_ definition: StudyDefinition) throws -> JoinResult {
    try database.writeTransaction {
      let existing = try database.query("SELECT settings FROM studies WHERE name = ?1", [.text(definition.name)])
      if let row = existing.first {
        guard row[0].string == definition.settings else {
          throw StudyError.settingsDiffer(
            "\(database.path): study \"\(definition.name)\" exists with other settings; nothing was changed")
        }
        return .joined
      }
      try database.query(
        "INSERT INTO studies (name, settings, trial_count, lease_seconds, max_attempts) VALUES (?1, ?2, ?3, ?4, ?5)",
        [.text(definition.name), .text(definition.settings), .integer(Int64(definition.trialCount)),
          .real(definition.leaseSeconds), .integer(Int64(definition.maxAttempts))])
      for number in 0..<definition.trialCount {
        try database.query(
          "INSERT INTO trials (study, number, state) VALUES (?1, ?2, 'waiting')", [.text(definition.name), .integer(Int64(number))])
      }
      return .created
    }
  }

  func definition(of study: String) throws -> StudyDefinition {
    let rows = try database.query(
      "SELECT settings, trial_count, lease_seconds, max_attempts FROM studies WHERE name = ?1", [.text(study)])
    guard let row = rows.first, let settings = row[0].string, let count = row[1].int, let lease = row[2].double,
      let attempts = row[3].int
    else {
      throw StudyError.unknown(study, in: database.path, known: try studies())
    }
    return StudyDefinition(name: study, settings: settings, trialCount: count, leaseSeconds: lease, maxAttempts: attempts)
  }

  func claim(study: String, worker: String, number: Int?) throws -> ClaimResult {
    let only: SQLValue = number.map { .integer(Int64($0)) } ?? .null
    return try database.writeTransaction {
      try database.query(
        """
        UPDATE trials SET state = 'failed', lease_until = NULL,
          reason = 'lease expired on attempt ' || attempt || ' of ' || (SELECT max_attempts FROM studies WHERE name = ?1)
            || ' (worker ' || worker || ')'
        WHERE study = ?1 AND state = 'running' AND lease_until < \(Self.now)
          AND attempt >= (SELECT max_attempts FROM studies WHERE name = ?1)
        """, [.text(study)])
      let candidates = try database.query(
        """
        SELECT number FROM trials WHERE study = ?1 AND (?2 IS NULL OR number = ?2)
          AND (state = 'waiting' OR (state = 'running' AND lease_until < \(Self.now)))
        ORDER BY number LIMIT 1
        """, [.text(study), only])
      if let chosen = candidates.first?[0].int {
        let rows = try database.query(
          """
          UPDATE trials SET state = 'running', attempt = attempt + 1, worker = ?3, reason = NULL,
            lease_until = \(Self.now) + (SELECT lease_seconds FROM studies WHERE name = ?1)
          WHERE study = ?1 AND number = ?2 RETURNING attempt
          """, [.text(study), .integer(Int64(chosen)), .text(worker)])
        guard let attempt = rows.first?[0].int else { throw StudyError.storage("\(database.path): a claimed trial vanished") }
        return .claimed(TrialClaim(study: study, number: chosen, attempt: attempt, worker: worker))
      }
      let open = try database.query(
        "SELECT count(*) FROM trials WHERE study = ?1 AND (?2 IS NULL OR number = ?2) AND state IN ('waiting', 'running')",
        [.text(study), only])
      let left = open.first?[0].int ?? 0
      if left == 0 {
        if number != nil, try database.query("SELECT 1 FROM trials WHERE study = ?1 AND number = ?2", [.text(study), only]).isEmpty {
          throw StudyError.invalid("\(database.path): study \"\(study)\" has no trial number \(number! + 1)")
        }
        return .finished
      }
      return .wait(running: left)
    }
  }

  func renew(_ claim: TrialClaim) throws -> Bool {
    try database.writeTransaction {
      try database.query(
        """
        UPDATE trials SET lease_until = \(Self.now) + (SELECT lease_seconds FROM studies WHERE name = ?1)
        WHERE study = ?1 AND number = ?2 AND attempt = ?3 AND state = 'running'
        """, [.text(claim.study), .integer(Int64(claim.number)), .integer(Int64(claim.attempt))])
      return database.changes == 1
    }
  }

  func complete(_ claim: TrialClaim, outcome: TrialOutcome) throws -> Bool {
    try database.writeTransaction {
      try database.query(
        """
        UPDATE trials SET state = 'done', objective = ?4, record = ?5, lease_until = NULL, reason = NULL
        WHERE study = ?1 AND number = ?2 AND attempt = ?3 AND state = 'running'
        """,
        [.text(claim.study), .integer(Int64(claim.number)), .integer(Int64(claim.attempt)),
          outcome.objective.isNaN ? .null : .real(outcome.objective), .text(outcome.record)])
      return database.changes == 1
    }
  }

  func release(_ claim: TrialClaim, reason: String, countsAsFailure: Bool) throws {
    try database.writeTransaction {
      _ = try database.query(
        """
        UPDATE trials SET lease_until = NULL, reason = ?4,
          state = CASE WHEN ?5 AND attempt >= (SELECT max_attempts FROM studies WHERE name = ?1) THEN 'failed' ELSE 'waiting' END
        WHERE study = ?1 AND number = ?2 AND attempt = ?3 AND state = 'running'
        """,
        [.text(claim.study), .integer(Int64(claim.number)), .integer(Int64(claim.attempt)), .text(reason),
          .integer(countsAsFailure ? 1 : 0)])
    }
  }

  func studies() throws -> [String] {
    try database.query("SELECT name FROM studies ORDER BY name").compactMap { $0[0].string }
  }

  func trials(of study: String) throws -> [TrialRow] {
    _ = try definition(of: study)
    return try database.query(
      """
      SELECT number, state, attempt, worker, objective, record, reason, lease_until - \(Self.now)
      FROM trials WHERE study = ?1 ORDER BY number
      """, [.text(study)]
    ).map { row in
      guard let number = row[0].int, let state = row[1].string.flatMap(TrialState.init(rawValue:)), let attempt = row[2].int else {
        throw StudyError.storage("\(database.path): a trial row of study \"\(study)\" is damaged")
      }
      return TrialRow(
        number: number, state: state, attempt: attempt, worker: row[3].string, objective: row[4].double, record: row[5].string,
        reason: row[6].string, leaseSecondsLeft: state == .running ? row[7].double : nil)
    }
  }
}
