import Experiments
import Foundation
import Models
import Studies
import TensorCore
import TestSupport
import XCTest

final class SearchSpaceTests: XCTestCase {
  func testSamplesAreSeededAndInsideTheSpace() throws {
    let space = SearchSpace.seed
    try space.validate()
    let a = space.sample(count: 200, seed: 3)
    XCTAssertEqual(a, space.sample(count: 200, seed: 3))
    XCTAssertNotEqual(a, space.sample(count: 200, seed: 4))
    XCTAssertEqual(Array(space.sample(count: 5, seed: 3)), Array(a.prefix(5)), "trial i does not depend on how many are drawn")
    for p in a {
      XCTAssertTrue((8...10).contains(p.config.channels[0]) && (15...20).contains(p.config.channels[1]))
      XCTAssertTrue((25...35).contains(p.config.channels[2]) && (60...80).contains(p.config.hidden))
      XCTAssertTrue([2, 4, 6].contains(p.config.latent))
      XCTAssertTrue(p.optimizer.learningRate >= 1e-3 && p.optimizer.learningRate <= 1e-1)
      XCTAssertTrue(p.optimizer.weightDecay >= 1e-4 && p.optimizer.weightDecay <= 1e-1)
      XCTAssertNoThrow(try p.config.validate())
    }
    XCTAssertEqual(Set(a.map(\.optimizer.kind)), ["adam", "sgd", "rmsprop"])
    XCTAssertEqual(Set(a.map(\.config.latent)), [2, 4, 6])
    // Log-uniform: about half the learning rates below the geometric middle, 1e-2.
    let below = a.filter { $0.optimizer.learningRate < 1e-2 }.count
    XCTAssertTrue((70...130).contains(below), "\(below) of 200 below 1e-2")
  }

  func testInvalidSpacesAreRejectedWithTheField() {
    var space = SearchSpace.seed
    space.latent = []
    XCTAssertThrowsError(try space.validate()) { XCTAssertTrue("\($0)".contains("latent"), "\($0)") }
    space = .seed
    space.learningRate = 0...0.1
    XCTAssertThrowsError(try space.validate()) { XCTAssertTrue("\($0)".contains("learningRate"), "\($0)") }
    space = .seed
    space.optimizers = ["adagrad"]
    XCTAssertThrowsError(try space.validate()) { XCTAssertTrue("\($0)".contains("adagrad"), "\($0)") }
    XCTAssertThrowsError(try Preset.named("fast")) { XCTAssertTrue("\($0)".contains("expected seed or quick"), "\($0)") }
  }
}

final class StudyTests: XCTestCase {
  var folder: String!

  override func setUpWithError() throws {
    folder = FileManager.default.temporaryDirectory.appendingPathComponent("study-\(UUID().uuidString)").path
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: folder) }

  func data() -> LabeledTensor {
    var g = SeededGenerator(seed: 1, streamName: "test/study")
    let n = 240
    return LabeledTensor(
      inputs: Tensor(shape: [n, 1, 28, 28], scalars: (0..<(n * 784)).map { _ in g.nextFloat() * 0.5 }),
      labels: (0..<n).map { Int32($0 % 10) })
  }

  func settings(seed: UInt64 = 2) -> StudySettings {
    StudySettings(seed: seed, trials: 3, folds: 2, epochs: 1, batchSize: 60, subset: nil, space: .seed, software: "test")
  }

  func testAnInterruptedStudyResumesWithoutRepeatingFinishedTrials() throws {
    let full = try Study(settings: settings(), folder: folder + "/a", threads: 1).run(data: data(), log: { _ in })
    XCTAssertEqual(full.map(\.trial), [0, 1, 2])
    XCTAssertTrue(full.allSatisfy { $0.foldMSE.count == 2 || $0.status != "ok" })

    // The same study stopped after its second trial: only that one is in the storage.
    let study = Study(settings: settings(), folder: folder + "/b", threads: 2)
    try study.prepare()
    let worker = try StudyWorker(location: study.location, study: study.name, log: { _ in })
    let runner = try StudyTrialRunner(settings: settings(), data: data(), threads: 2)
    XCTAssertEqual(try worker.runTrial(number: 1) { try runner.outcome(of: $0.number) }, .ran(accepted: true))
    var messages: [String] = []
    let resumed = try study.run(data: data(), log: { messages.append($0) })
    XCTAssertTrue(messages.contains { $0.contains("1 of 3 trials already finished") }, "\(messages)")
    XCTAssertEqual(messages.filter { $0.contains(": mean validation MSE") }.count, 2, "only the two missing trials run")
    XCTAssertEqual(resumed.map(\.meanMSE), full.map(\.meanMSE), "same seed, any thread count, any order: same results")
    XCTAssertEqual(resumed.map(\.foldMSE), full.map(\.foldMSE))
    XCTAssertEqual(resumed.map(\.parameters), full.map(\.parameters))
    XCTAssertEqual(Study.best(resumed)?.trial, Study.best(full)?.trial)
    XCTAssertTrue(Study.table(resumed).contains("(best)"))
    XCTAssertEqual(try Study.readTrials(folder + "/b/study.jsonl").map(\.trial), [0, 1, 2], "the log lists every trial, in order")

    // Same results, same text: the keys in sorted order, not in the process's hash order
    // (which differs between runs, so comparing two runs in one process would not see it).
    // Oracle: each line decoded and encoded again by an encoder with sorted keys.
    let sorted = JSONEncoder()
    sorted.outputFormatting = [.sortedKeys]
    let records = try String(contentsOfFile: folder + "/b/study.jsonl", encoding: .utf8).split(separator: "\n").map(String.init)
      + (try worker.trials()).compactMap(\.record)
    XCTAssertEqual(records.count, 6)
    for line in records {
      let result = try JSONDecoder().decode(TrialResult.self, from: Data(line.utf8))
      XCTAssertEqual(line, String(decoding: try sorted.encode(result), as: UTF8.self))
    }
  }

  func testTheExportIsTheSameBytesWhoeverRanTheTrials() throws {
    // Oracle: a study run by one process in trial order, against one whose trials ran in
    // reverse order by three differently named workers.
    let a = Study(settings: settings(), folder: folder + "/a", threads: 1)
    _ = try a.run(data: data(), log: { _ in })
    let b = Study(settings: settings(), folder: folder + "/b", threads: 2)
    try b.prepare()
    let runner = try StudyTrialRunner(settings: settings(), data: data(), threads: 2)
    for number in [2, 1, 0] {
      let worker = try StudyWorker(location: b.location, study: b.name, name: "w\(number)", log: { _ in })
      _ = try worker.runTrial(number: number) { try runner.outcome(of: $0.number) }
    }
    func journal(_ study: Study) throws -> String {
      let storage = try StudyStorages.open(study.location)
      return try StudyExport.optunaJournal(
        definition: storage.definition(of: study.name), settings: settings(), rows: storage.trials(of: study.name))
    }
    XCTAssertEqual(try journal(a), try journal(b))
    XCTAssertTrue(try journal(a).hasPrefix("{\"op_code\":0,"))
  }

  func testTheExportMarksFailedAndWaitingTrialsForOptuna() throws {
    // Oracle: optuna itself reading the journal (trial 1 done, 2 failed after its only
    // attempt, 3 never run).
    var study = Study(settings: settings(), folder: folder, threads: 1)
    study.maxAttempts = 1
    try study.prepare()
    let worker = try StudyWorker(location: study.location, study: study.name, log: { _ in })
    let runner = try StudyTrialRunner(settings: settings(), data: data(), threads: 1)
    _ = try worker.runTrial(number: 0) { try runner.outcome(of: $0.number) }
    XCTAssertThrowsError(try worker.runTrial(number: 1) { _ in throw ExperimentError.invalid("disk full") })
    let storage = try StudyStorages.open(study.location)
    XCTAssertEqual(try storage.trials(of: study.name).map(\.state), [.done, .failed, .waiting])
    let path = folder + "/study.journal"
    try StudyExport.optunaJournal(
      definition: storage.definition(of: study.name), settings: settings(), rows: storage.trials(of: study.name)
    ).write(toFile: path, atomically: true, encoding: .utf8)
    let check = try runChildProcess(
      "python3",
      [
        "-c",
        """
        import optuna, sys
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend
        s = optuna.load_study(study_name="search", storage=JournalStorage(JournalFileBackend(sys.argv[1])))
        print([t.state.name for t in s.trials], s.trials[0].value is not None, s.trials[1].value,
              s.trials[1].user_attrs["status"], len(s.trials[2].params))
        """, path,
      ])
    XCTAssertEqual(check.status, 0, check.output)
    XCTAssertTrue(
      check.output.hasPrefix("['COMPLETE', 'FAIL', 'WAITING'] True None failed: attempt 1 by "), check.output)
    XCTAssertTrue(check.output.contains("disk full") && check.output.hasSuffix(" 8\n"), check.output)
  }

  func testAFolderOfAnotherStudyIsRefusedAndLeftAlone() throws {
    _ = try Study(settings: settings(), folder: folder, threads: 1).run(data: data(), log: { _ in })
    let before = try String(contentsOfFile: folder + "/study.jsonl", encoding: .utf8)
    XCTAssertThrowsError(try Study(settings: settings(seed: 9), folder: folder, threads: 1).run(data: data(), log: { _ in })) {
      XCTAssertTrue("\($0)".contains("other settings (seed 2"), "\($0)")
      XCTAssertTrue("\($0)".contains("nothing was changed"), "\($0)")
    }
    XCTAssertEqual(try String(contentsOfFile: folder + "/study.jsonl", encoding: .utf8), before)
  }

  func testDivergedTrialsRoundTripThroughJSON() throws {
    let r = TrialResult(
      trial: 4, parameters: SearchSpace.seed.sample(count: 1, seed: 0)[0], foldMSE: [0.1, .infinity], meanMSE: .infinity,
      seconds: 2, status: "fold 2: diverged")
    let data = try JSONEncoder().encode(r)
    XCTAssertTrue(String(decoding: data, as: UTF8.self).contains("\"mean_mse\":null"))
    XCTAssertEqual(try JSONDecoder().decode(TrialResult.self, from: data), r)
    XCTAssertNil(Study.best([r]))
  }
}
