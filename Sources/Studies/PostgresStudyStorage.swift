import Foundation

/// Studies on a PostgreSQL server, in their own schema (`latentlab` unless the URL's `schema`
/// says otherwise), through libpq.
///
/// Claims use `FOR UPDATE SKIP LOCKED`, so workers never wait on each other's claims; leases
/// run on the server's clock (`now()`). A connection lost mid-study (a server restart) is
/// re-opened with exponential backoff for up to `StudyEngineSettings.reconnectWindowSeconds`;
/// the first connection is not retried, so a wrong URL, password or database fails at once.
final class PostgresStudyStorage: StudyStorage {
  private let address: PostgresAddress
  private let log: @Sendable (String) -> Void
  private var session: PostgresSession?

  init(address: PostgresAddress, log: @escaping @Sendable (String) -> Void) throws {
    self.address = address
    self.log = log
    do {
      session = try PostgresSession(uri: address.connectionURI)
    } catch let failure as PostgresFailure {
      throw StudyError.storage("\(address.display): cannot connect: \(failure.message)")
    }
    try run { s in
      try s.transaction {
        // One creator at a time: CREATE … IF NOT EXISTS is not safe against a concurrent twin.
        _ = try s.query("SELECT pg_advisory_xact_lock(7240611100000001)")
        _ = try s.query("CREATE SCHEMA IF NOT EXISTS \(address.schema)")
        _ = try s.query(
          """
          CREATE TABLE IF NOT EXISTS \(address.schema).studies (
            name text PRIMARY KEY, settings text NOT NULL, trial_count integer NOT NULL,
            lease_seconds double precision NOT NULL, max_attempts integer NOT NULL)
          """)
        _ = try s.query(
          """
          CREATE TABLE IF NOT EXISTS \(address.schema).trials (
            study text NOT NULL REFERENCES \(address.schema).studies(name), number integer NOT NULL, state text NOT NULL,
            attempt integer NOT NULL DEFAULT 0, worker text, lease_until timestamptz, objective double precision,
            record text, reason text, PRIMARY KEY (study, number))
          """)
      }
    }
  }

  var description: String { address.display }
  private var schema: String { address.schema }

  /// Runs `body` on the session, reconnecting with backoff while the server is unreachable.
  private func run<T>(_ body: (PostgresSession) throws -> T) throws -> T {
    var backoff = StudyEngineSettings.firstBackoffSeconds
    var lostSince: Double?
    while true {
      do {
        if session == nil { session = try PostgresSession(uri: address.connectionURI) }
        let value = try body(session!)
        if lostSince != nil { log("\(address.display): reconnected") }
        return value
      } catch let failure as PostgresFailure where failure.isTransient {
        session = nil
        let now = Date().timeIntervalSince1970
        let since = lostSince ?? now
        lostSince = since
        guard now - since < StudyEngineSettings.reconnectWindowSeconds else {
          throw StudyError.storage(
            "\(address.display): unreachable for \(Int(now - since)) s, giving up: \(failure.message)")
        }
        log("\(address.display): \(failure.message.split(separator: "\n").first ?? ""); retrying in \(backoff) s")
        Thread.sleep(forTimeInterval: backoff)
        backoff = min(backoff * 2, StudyEngineSettings.longestBackoffSeconds)
      } catch let failure as PostgresFailure {
        throw StudyError.storage("\(address.display): \(failure)")
      }
    }
  }

  func createOrJoin(_ definition: StudyDefinition) throws -> JoinResult {
    try run { s in
      try s.transaction {
        let inserted = try s.query(
          """
          INSERT INTO \(schema).studies (name, settings, trial_count, lease_seconds, max_attempts)
          VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING RETURNING name
          """,
          [definition.name, definition.settings, String(definition.trialCount), PostgresText.double(definition.leaseSeconds),
            String(definition.maxAttempts)])
        if inserted.rows.isEmpty {
          let existing = try s.query("SELECT settings FROM \(schema).studies WHERE name = $1", [definition.name])
          guard existing.rows.first?[0] == definition.settings else {
            throw StudyError.settingsDiffer(
              "\(address.display): study \"\(definition.name)\" exists with other settings; nothing was changed")
          }
          return .joined
        }
        _ = try s.query(
          """
          INSERT INTO \(schema).trials (study, number, state)
          SELECT $1, n, 'waiting' FROM generate_series(0, $2::integer - 1) AS n
          """, [definition.name, String(definition.trialCount)])
        return .created
      }
    }
  }

  func definition(of study: String) throws -> StudyDefinition {
    let rows = try run { s in
      try s.query("SELECT settings, trial_count, lease_seconds, max_attempts FROM \(schema).studies WHERE name = $1", [study]).rows
    }
    guard let row = rows.first, let settings = row[0], let count = row[1].flatMap({ Int($0) }),
      let lease = row[2].flatMap(PostgresText.parseDouble), let attempts = row[3].flatMap({ Int($0) })
    else {
      throw StudyError.unknown(study, in: "\(address.display) (schema \(schema))", known: try studies())
    }
    return StudyDefinition(name: study, settings: settings, trialCount: count, leaseSeconds: lease, maxAttempts: attempts)
  }

  func claim(study: String, worker: String, number: Int?) throws -> ClaimResult {
    let only = number.map(String.init)
    return try run { s in
      // Expired leases on a last attempt fail their trial; then the lowest claimable trial
      // that no concurrent claimer has locked is taken, all in one statement.
      let claimed = try s.query(
        """
        WITH settings AS (SELECT lease_seconds, max_attempts FROM \(schema).studies WHERE name = $1),
        expired AS (
          UPDATE \(schema).trials t SET state = 'failed', lease_until = NULL,
            reason = format('lease expired on attempt %s of %s (worker %s)', t.attempt, settings.max_attempts, t.worker)
          FROM settings
          WHERE t.study = $1 AND t.state = 'running' AND t.lease_until < now() AND t.attempt >= settings.max_attempts
          RETURNING t.number),
        next AS (
          SELECT number FROM \(schema).trials
          WHERE study = $1 AND ($3::integer IS NULL OR number = $3::integer)
            AND (state = 'waiting' OR (state = 'running' AND lease_until < now()))
            AND number NOT IN (SELECT number FROM expired)
          ORDER BY number LIMIT 1 FOR UPDATE SKIP LOCKED)
        UPDATE \(schema).trials t SET state = 'running', attempt = t.attempt + 1, worker = $2, reason = NULL,
          lease_until = now() + make_interval(secs => (SELECT lease_seconds FROM settings))
        FROM next WHERE t.study = $1 AND t.number = next.number
        RETURNING t.number, t.attempt
        """, [study, worker, only])
      if let row = claimed.rows.first, let n = row[0].flatMap({ Int($0) }), let attempt = row[1].flatMap({ Int($0) }) {
        return .claimed(TrialClaim(study: study, number: n, attempt: attempt, worker: worker))
      }
      let open = try s.query(
        """
        SELECT count(*) FILTER (WHERE state IN ('waiting', 'running')), count(*) FROM \(schema).trials
        WHERE study = $1 AND ($2::integer IS NULL OR number = $2::integer)
        """, [study, only])
      let left = open.rows.first?[0].flatMap { Int($0) } ?? 0
      if let number, (open.rows.first?[1].flatMap { Int($0) } ?? 0) == 0 {
        throw StudyError.invalid("\(address.display): study \"\(study)\" has no trial number \(number + 1)")
      }
      return left == 0 ? .finished : .wait(running: left)
    }
  }

  func renew(_ claim: TrialClaim) throws -> Bool {
    try run { s in
      try s.query(
        """
        UPDATE \(schema).trials SET lease_until = now() + make_interval(secs =>
          (SELECT lease_seconds FROM \(schema).studies WHERE name = $1))
        WHERE study = $1 AND number = $2 AND attempt = $3 AND state = 'running'
        """, [claim.study, String(claim.number), String(claim.attempt)]
      ).changed == 1
    }
  }

  func complete(_ claim: TrialClaim, outcome: TrialOutcome) throws -> Bool {
    try run { s in
      let changed = try s.query(
        """
        UPDATE \(schema).trials SET state = 'done', objective = $4::double precision, record = $5, lease_until = NULL, reason = NULL
        WHERE study = $1 AND number = $2 AND attempt = $3 AND state = 'running'
        """,
        [claim.study, String(claim.number), String(claim.attempt), PostgresText.double(outcome.objective), outcome.record]
      ).changed
      if changed == 1 { return true }
      // A retried completion whose first try committed before the connection broke.
      let row = try s.query(
        "SELECT state, attempt, worker, record FROM \(schema).trials WHERE study = $1 AND number = $2",
        [claim.study, String(claim.number)]
      ).rows.first
      return row?[0] == "done" && row?[1] == String(claim.attempt) && row?[2] == claim.worker && row?[3] == outcome.record
    }
  }

  func release(_ claim: TrialClaim, reason: String, countsAsFailure: Bool) throws {
    _ = try run { s in
      try s.query(
        """
        UPDATE \(schema).trials SET lease_until = NULL, reason = $4,
          state = CASE WHEN $5::boolean AND attempt >= (SELECT max_attempts FROM \(schema).studies WHERE name = $1)
            THEN 'failed' ELSE 'waiting' END
        WHERE study = $1 AND number = $2 AND attempt = $3 AND state = 'running'
        """, [claim.study, String(claim.number), String(claim.attempt), reason, countsAsFailure ? "true" : "false"])
    }
  }

  func studies() throws -> [String] {
    try run { s in try s.query("SELECT name FROM \(schema).studies ORDER BY name COLLATE \"C\"").rows.compactMap { $0[0] } }
  }

  func trials(of study: String) throws -> [TrialRow] {
    _ = try definition(of: study)
    let rows = try run { s in
      try s.query(
        """
        SELECT number, state, attempt, worker, objective, record, reason, extract(epoch FROM lease_until - now())
        FROM \(schema).trials WHERE study = $1 ORDER BY number
        """, [study]
      ).rows
    }
    return try rows.map { row in
      guard let number = row[0].flatMap({ Int($0) }), let state = row[1].flatMap(TrialState.init(rawValue:)),
        let attempt = row[2].flatMap({ Int($0) })
      else { throw StudyError.storage("\(address.display): a trial row of study \"\(study)\" is damaged") }
      return TrialRow(
        number: number, state: state, attempt: attempt, worker: row[3], objective: row[4].flatMap(PostgresText.parseDouble),
        record: row[5], reason: row[6], leaseSecondsLeft: state == .running ? row[7].flatMap(PostgresText.parseDouble) : nil)
    }
  }
}

/// Doubles as PostgreSQL's text format writes and reads them, bit for bit.
enum PostgresText {
  static func double(_ x: Double) -> String {
    if x.isNaN { return "NaN" }
    if x.isInfinite { return x > 0 ? "Infinity" : "-Infinity" }
    return "\(x)"
  }

  static func parseDouble(_ text: String) -> Double? {
    switch text {
    case "Infinity": return .infinity
    case "-Infinity": return -.infinity
    case "NaN": return .nan
    default: return Double(text)
    }
  }
}
