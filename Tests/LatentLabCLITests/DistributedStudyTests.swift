import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// The study engine through the tool, with real worker processes on the embedded storage and
/// on a PostgreSQL server the tests start themselves: a worker killed mid-trial, a worker
/// paused past its lease, a server restarted mid-study, and a 3-worker study against a
/// 1-worker one (oracle: the 1-worker study's optuna export, byte for byte; optuna itself
/// reads the export).
final class DistributedStudyTests: LatentLabCommandTestCase {
  static var server: TemporaryPostgresServer?

  override class func tearDown() {
    server?.stop()
    server = nil
  }

  /// The test server's URL with a fresh schema.
  func postgres() throws -> String {
    if Self.server == nil { Self.server = try TemporaryPostgresServer() }
    return Self.server!.url(query: "schema=s" + UUID().uuidString.lowercased().filter { $0.isLetter || $0.isNumber })
  }

  /// The quick preset's protocol with `trials` trials, one thread: a trial takes a few seconds.
  func protocolFlags(trials: Int) -> [String] { ["--preset", "quick", "--trials", "\(trials)", "--threads", "1"] }

  /// Starts the study's creator (itself a worker) and waits until it has claimed trial 1.
  func startCreator(_ storage: String, trials: Int, lease: Double) throws -> RunningLatentLab {
    let creator = try RunningLatentLab(
      ["search"] + protocolFlags(trials: trials) + ["--storage", storage, "--study", "s", "--lease", "\(lease)"])
    XCTAssertTrue(creator.waitForStandardOutput(containing: "trial 1: claimed"), creator.stdout + creator.stderr)
    return creator
  }

  func startWorker(_ storage: String) throws -> RunningLatentLab {
    try RunningLatentLab(["worker", "--storage", storage, "--study", "s", "--threads", "1"])
  }

  /// Waits until `worker` has claimed a trial and is inside its second fold; returns the trial.
  func trialInProgress(_ worker: RunningLatentLab) -> Int? {
    guard worker.waitForStandardOutput(containing: ": claimed by") else { return nil }
    let line = worker.stdout.split(separator: "\n").first { $0.contains(": claimed by") }!
    let number = Int(line.split(separator: ":")[0].split(separator: " ")[1])!
    guard worker.waitForStandardError(containing: "trial \(number)/") else { return nil }
    guard worker.waitForStandardError(containing: "fold 2/3") else { return nil }
    return number
  }

  /// (state, attempt) of each trial, from `search --status`.
  func states(_ storage: String) throws -> [(String, Int)] {
    let status = try runLatentLab(["search", "--status", "--storage", storage, "--study", "s"])
    XCTAssertEqual(status.status, 0, status.stderr)
    return status.stdout.split(separator: "\n").filter { $0.hasPrefix("| ") && !$0.hasPrefix("| trial") && !$0.hasPrefix("| ---") }.map { row in
      let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
      return (cells[1], Int(cells[2]) ?? -1)
    }
  }

  func export(_ storage: String, study: String = "s") throws -> String {
    let path = directory + "/export-\(UUID().uuidString).log"
    let result = try runLatentLab(["export", "--storage", storage, "--study", study, "--optuna-journal", path])
    XCTAssertEqual(result.status, 0, result.stderr)
    return try String(contentsOfFile: path, encoding: .utf8)
  }

  func checkKilledWorker(_ storage: String) throws {
    let creator = try startCreator(storage, trials: 6, lease: 4)
    let victim = try startWorker(storage)
    let survivor = try startWorker(storage)
    let killed = try XCTUnwrap(trialInProgress(victim), victim.stdout + victim.stderr)
    victim.send(SIGKILL)
    let victimEnd = victim.finish()
    XCTAssertEqual(victimEnd.status, SIGKILL, "Process reports the signal that ended it")
    XCTAssertEqual(victim.process.terminationReason, .uncaughtSignal)
    let created = creator.finish()
    XCTAssertEqual(created.status, 0, created.stderr)
    XCTAssertEqual(survivor.finish().status, 0)
    let table = try states(storage)
    XCTAssertEqual(table.map(\.0), Array(repeating: "done", count: 6), "\(table)")
    XCTAssertEqual(table[killed - 1].1, 2, "the killed worker's trial ran again as attempt 2")
    XCTAssertEqual(table.enumerated().filter { $0.offset != killed - 1 }.map(\.element.1), Array(repeating: 1, count: 5))
  }

  func checkPausedWorker(_ storage: String) throws {
    let creator = try startCreator(storage, trials: 3, lease: 4)
    let paused = try startWorker(storage)
    let held = try XCTUnwrap(trialInProgress(paused), paused.stdout + paused.stderr)
    paused.send(SIGSTOP)
    // The creator runs the paused worker's trial once its lease expires, and finishes.
    let created = creator.finish()
    XCTAssertEqual(created.status, 0, created.stderr)
    XCTAssertTrue(created.stdout.contains("trial \(held): claimed by") && created.stdout.contains("attempt 2"), created.stdout)
    let before = try export(storage)
    let tableBefore = try states(storage)
    paused.send(SIGCONT)
    let late = paused.finish()
    XCTAssertEqual(late.status, 0, late.stderr)
    XCTAssertTrue(late.stdout.contains("trial \(held) attempt 1: result rejected"), late.stdout)
    XCTAssertEqual(try export(storage), before, "the late result changed nothing")
    XCTAssertEqual(try states(storage).map(\.1), tableBefore.map(\.1))
  }

  func testAWorkerKilledMidTrialOnPostgreSQL() throws { try checkKilledWorker(try postgres()) }
  func testAWorkerKilledMidTrialOnTheEmbeddedStore() throws { try checkKilledWorker(directory + "/store") }
  func testALateWorkerIsFencedOffOnPostgreSQL() throws { try checkPausedWorker(try postgres()) }
  func testALateWorkerIsFencedOffOnTheEmbeddedStore() throws { try checkPausedWorker(directory + "/store") }

  func testWorkersReconnectAfterAServerRestart() throws {
    let storage = try postgres()
    let creator = try startCreator(storage, trials: 4, lease: 10)
    let worker = try startWorker(storage)
    XCTAssertNotNil(trialInProgress(worker))
    try Self.server!.halt()
    Thread.sleep(forTimeInterval: 2)
    try Self.server!.start()
    let created = creator.finish()
    let joined = worker.finish()
    XCTAssertEqual(created.status, 0, created.stderr)
    XCTAssertEqual(joined.status, 0, joined.stderr)
    XCTAssertTrue((created.stdout + joined.stdout).contains("retrying in"), created.stdout + joined.stdout)
    XCTAssertTrue((created.stdout + joined.stdout).contains("reconnected"), created.stdout + joined.stdout)
    XCTAssertEqual(try states(storage).map(\.0), Array(repeating: "done", count: 4))
  }

  func testThreeWorkersLeaveTheSameStudyAsOne() throws {
    // One process, two single-thread workers side by side, the embedded store …
    let alone = try runLatentLab(
      ["search", "--preset", "quick", "--trials", "5", "--threads", "2", "--storage", directory + "/one", "--study", "s"])
    XCTAssertEqual(alone.status, 0, alone.stderr)
    // … against three processes of one thread each on PostgreSQL.
    let storage = try postgres()
    let creator = try startCreator(storage, trials: 5, lease: 60)
    let workers = [try startWorker(storage), try startWorker(storage)]
    XCTAssertEqual(creator.finish().status, 0)
    XCTAssertEqual(workers.map { $0.finish().status }, [0, 0])
    let journal = try export(storage)
    XCTAssertEqual(journal, try export(directory + "/one"), "trial table, fold MSEs and best trial, bit for bit")

    // optuna reads it: every trial, its parameters and distributions, fold MSEs, attributes.
    let path = directory + "/study.log"
    try journal.write(toFile: path, atomically: true, encoding: .utf8)
    let check = try runChildProcess(
      "python3",
      [
        "-c",
        """
        import optuna, sys
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend
        s = optuna.load_study(study_name="s", storage=JournalStorage(JournalFileBackend(sys.argv[1])))
        assert len(s.trials) == 5, s.trials
        for t in s.trials:
            assert t.state == optuna.trial.TrialState.COMPLETE, t
            assert sorted(t.params) == sorted(["conv1_channels", "conv2_channels", "conv3_channels", "hidden", "latent",
                "optimizer", "learning_rate", "weight_decay"]), t.params
            assert t.distributions["learning_rate"].log and t.params["optimizer"] in ("adam", "sgd", "rmsprop")
            assert len(t.intermediate_values) == 3 and abs(sum(t.intermediate_values.values()) / 3 - t.value) < 1e-12, t
        assert s.user_attrs["seed"] == 0 and s.user_attrs["software"], s.user_attrs
        print("best", s.best_trial.number, repr(s.best_value))
        """, path,
      ])
    XCTAssertEqual(check.status, 0, check.output)
    let best = try XCTUnwrap(alone.stdout.split(separator: "\n").first { $0.hasPrefix("best: trial ") })
    XCTAssertTrue(check.output.hasPrefix("best \(Int(best.split(separator: " ")[2].dropLast())! - 1) "), check.output + best)

    // optuna-dashboard serves it: its API lists the study and every trial with its parameters.
    let dashboard = try runChildProcess(
      "python3",
      [
        "-c",
        """
        import json, socket, subprocess, sys, time, urllib.request
        s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
        server = subprocess.Popen(["optuna-dashboard", sys.argv[1], "--host", "127.0.0.1", "--port", str(port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    studies = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies"))
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                sys.exit("optuna-dashboard did not answer")
            assert [x["study_name"] for x in studies["study_summaries"]] == ["s"], studies
            study = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies/0"))
            assert len(study["trials"]) == 5 and all(len(t["params"]) == 8 for t in study["trials"]), study
            print("dashboard ok", len(study["trials"]))
        finally:
            server.terminate()
        """, path,
      ])
    XCTAssertEqual(dashboard.status, 0, dashboard.output)
    XCTAssertTrue(dashboard.output.contains("dashboard ok 5"), dashboard.output)
  }

  func testWrongStoragesFailWithinSeconds() throws {
    _ = try postgres()
    let server = Self.server!
    for (url, expected) in [
      (server.url(password: "wrong"), "password authentication failed"), (server.url(database: "missing"), "does not exist"),
      ("postgresql://latentlab@127.0.0.1:\(try TemporaryPostgresServer.freePort())/postgres", "Connection refused"),
    ] {
      let start = Date()
      let result = try runLatentLab(["worker", "--storage", url, "--study", "s"])
      XCTAssertEqual(result.status, 1, result.stderr)
      XCTAssertTrue(result.stderr.contains("cannot connect") && result.stderr.contains(expected), result.stderr)
      XCTAssertLessThan(Date().timeIntervalSince(start), 10)
    }
    let missing = try runLatentLab(["worker", "--storage", try postgres(), "--study", "nope"])
    XCTAssertEqual(missing.status, 1)
    XCTAssertTrue(missing.stderr.contains("no study named \"nope\""), missing.stderr)
  }
}
