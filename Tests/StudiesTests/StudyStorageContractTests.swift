import Foundation
import Studies
import TestSupport
import XCTest

/// The storage contract (`StudyStorage`) checked on the embedded file and on a real PostgreSQL
/// server the test starts itself: claims in trial order with attempts counted, fencing of late
/// results, lease expiry by the storage's clock, failure after the last attempt, joining only
/// with the same settings, and doubles that read back with the same bits.
class StudyStorageContractTests: XCTestCase {
  var folder: String!
  static var server: TemporaryPostgresServer?

  override class func tearDown() {
    server?.stop()
    server = nil
  }

  override func setUpWithError() throws {
    folder = FileManager.default.temporaryDirectory.appendingPathComponent("studies-\(UUID().uuidString)").path
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

  /// Every storage kind, each fresh: the embedded one in a new folder, PostgreSQL in a new schema.
  func storages() throws -> [StorageLocation] {
    if Self.server == nil { Self.server = try TemporaryPostgresServer() }
    let schema = "t" + UUID().uuidString.lowercased().filter { $0.isLetter || $0.isNumber }
    return [.embedded(folder: folder), try StorageLocation(Self.server!.url(query: "schema=\(schema)"))]
  }

  func definition(_ name: String = "s", trials: Int = 3, lease: Double = 60, attempts: Int = 2, settings: String = "{\"seed\":1}") -> StudyDefinition {
    StudyDefinition(name: name, settings: settings, trialCount: trials, leaseSeconds: lease, maxAttempts: attempts)
  }

  func testClaimsGoInTrialOrderAndEachTrialFinishesOnce() throws {
    for location in try storages() {
      let a = try StudyStorages.open(location, creating: true)
      let b = try StudyStorages.open(location, creating: true)
      XCTAssertEqual(try a.createOrJoin(definition()), .created)
      XCTAssertEqual(try b.createOrJoin(definition()), .joined)
      guard case .claimed(let first) = try a.claim(study: "s", worker: "a", number: nil),
        case .claimed(let second) = try b.claim(study: "s", worker: "b", number: nil)
      else { return XCTFail("\(location): two claims") }
      XCTAssertEqual([first.number, first.attempt, second.number, second.attempt], [0, 1, 1, 1], "\(location)")
      XCTAssertTrue(try a.complete(first, outcome: TrialOutcome(objective: 0.5, record: "r0")))
      XCTAssertFalse(try a.complete(first, outcome: TrialOutcome(objective: 0.1, record: "again")), "\(location): done once")
      guard case .claimed(let third) = try a.claim(study: "s", worker: "a", number: nil) else { return XCTFail() }
      XCTAssertEqual(third.number, 2)
      XCTAssertEqual(try a.claim(study: "s", worker: "a", number: nil), .wait(running: 2), "\(location): others hold the rest")
      XCTAssertTrue(try b.complete(second, outcome: TrialOutcome(objective: .infinity, record: "r1")))
      XCTAssertTrue(try a.complete(third, outcome: TrialOutcome(objective: 0.1 + 0.2, record: "r2")))
      XCTAssertEqual(try a.claim(study: "s", worker: "a", number: nil), .finished)
      let rows = try b.trials(of: "s")
      XCTAssertEqual(rows.map(\.state), [.done, .done, .done])
      XCTAssertEqual(rows.map(\.record), ["r0", "r1", "r2"])
      // Bits, not digits: 0.1 + 0.2 and infinity come back exactly.
      XCTAssertEqual(rows.map { $0.objective?.bitPattern }, [0.5, .infinity, 0.1 + 0.2].map { $0.bitPattern }, "\(location)")
      XCTAssertEqual(rows.map(\.worker), ["a", "b", "a"])
    }
  }

  func testAnExpiredLeaseReopensTheTrialAndFencesTheLateResult() throws {
    for location in try storages() {
      let storage = try StudyStorages.open(location, creating: true)
      _ = try storage.createOrJoin(definition(trials: 1, lease: 1, attempts: 3))
      guard case .claimed(let late) = try storage.claim(study: "s", worker: "paused", number: nil) else { return XCTFail() }
      XCTAssertEqual(try storage.claim(study: "s", worker: "other", number: nil), .wait(running: 1), "the lease holds")
      Thread.sleep(forTimeInterval: 1.3)
      guard case .claimed(let current) = try storage.claim(study: "s", worker: "other", number: nil) else {
        return XCTFail("\(location): an expired lease is claimable")
      }
      XCTAssertEqual(current.attempt, 2)
      XCTAssertFalse(try storage.renew(late), "\(location): the late worker cannot renew")
      XCTAssertTrue(try storage.renew(current))
      XCTAssertFalse(try storage.complete(late, outcome: TrialOutcome(objective: 9, record: "late")), "\(location): fenced")
      XCTAssertEqual(try storage.trials(of: "s")[0].state, .running, "the late result changed nothing")
      XCTAssertTrue(try storage.complete(current, outcome: TrialOutcome(objective: 1, record: "current")))
      XCTAssertEqual(try storage.trials(of: "s")[0].record, "current")
    }
  }

  func testATrialIsFailedWithItsReasonAfterTheLastAttempt() throws {
    for location in try storages() {
      let storage = try StudyStorages.open(location, creating: true)
      _ = try storage.createOrJoin(definition(trials: 2, lease: 0.2, attempts: 2))
      // Trial 1: two leases expire.
      for attempt in 1...2 {
        guard case .claimed(let c) = try storage.claim(study: "s", worker: "w\(attempt)", number: 0) else { return XCTFail() }
        XCTAssertEqual(c.attempt, attempt)
        Thread.sleep(forTimeInterval: 0.3)
      }
      // Trial 2: an error, then an error on the last attempt.
      for attempt in 1...2 {
        guard case .claimed(let c) = try storage.claim(study: "s", worker: "x", number: 1) else { return XCTFail("\(location)") }
        XCTAssertEqual(c.attempt, attempt)
        try storage.release(c, reason: "disk full \(attempt)", countsAsFailure: true)
      }
      XCTAssertEqual(try storage.claim(study: "s", worker: "y", number: nil), .finished, "\(location)")
      let rows = try storage.trials(of: "s")
      XCTAssertEqual(rows.map(\.state), [.failed, .failed])
      XCTAssertEqual(rows[0].reason, "lease expired on attempt 2 of 2 (worker w2)", "\(location)")
      XCTAssertEqual(rows[1].reason, "disk full 2")
    }
  }

  func testAnInterruptedAttemptGoesBackWithoutFailing() throws {
    for location in try storages() {
      let storage = try StudyStorages.open(location, creating: true)
      _ = try storage.createOrJoin(definition(trials: 1, attempts: 1))
      guard case .claimed(let c) = try storage.claim(study: "s", worker: "w", number: nil) else { return XCTFail() }
      try storage.release(c, reason: "interrupted by SIGTERM", countsAsFailure: false)
      XCTAssertEqual(try storage.trials(of: "s")[0].state, .waiting, "\(location)")
      guard case .claimed(let again) = try storage.claim(study: "s", worker: "w", number: nil) else { return XCTFail() }
      XCTAssertEqual(again.attempt, 2)
    }
  }

  func testReadingAMissingEmbeddedStoreFailsAndLeavesNothingBehind() throws {
    XCTAssertThrowsError(try StudyStorages.open(.embedded(folder: folder))) {
      XCTAssertTrue("\($0)".contains("studies.sqlite: no study storage here"), "\($0)")
    }
    XCTAssertFalse(FileManager.default.fileExists(atPath: folder), "a mistyped folder is not created")
  }

  func testOtherSettingsAreRefusedAndNothingIsTouched() throws {
    for location in try storages() {
      let storage = try StudyStorages.open(location, creating: true)
      _ = try storage.createOrJoin(definition())
      guard case .claimed(let c) = try storage.claim(study: "s", worker: "w", number: nil) else { return XCTFail() }
      XCTAssertTrue(try storage.complete(c, outcome: TrialOutcome(objective: 1, record: "kept")))
      let before = try storage.trials(of: "s")
      XCTAssertThrowsError(try storage.createOrJoin(definition(settings: "{\"seed\":2}"))) {
        XCTAssertTrue("\($0)".contains("study \"s\" exists with other settings; nothing was changed"), "\($0)")
      }
      XCTAssertEqual(try storage.trials(of: "s").map(\.record), before.map(\.record))
      XCTAssertThrowsError(try storage.definition(of: "missing")) {
        XCTAssertTrue("\($0)".contains("no study named \"missing\"") && "\($0)".contains("it holds: s"), "\($0)")
      }
      XCTAssertThrowsError(try storage.claim(study: "s", worker: "w", number: 7)) {
        XCTAssertTrue("\($0)".contains("no trial number 8"), "\($0)")
      }
    }
  }
}
