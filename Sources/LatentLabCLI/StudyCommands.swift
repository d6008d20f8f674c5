import ArgumentParser
import Datasets
import Experiments
import Foundation
import Studies
import TensorCore

/// The flags that name a study in a storage (`worker`, `trial`, `export`).
struct StudyLocationOptions: ParsableArguments {
  @Option(help: ArgumentHelp("Where the study lives: a folder (embedded) or postgresql://user@host:port/db.", valueName: "url"))
  var storage: String
  @Option(help: ArgumentHelp("The study's name.", valueName: "name")) var study: String

  func location() throws -> StorageLocation { try StorageLocation(storage) }
}

/// Prints a line at once (workers' logs are read as they come, by people and by job schedulers).
func say(_ line: String) {
  print(line)
  fflush(stdout)
}

/// `latentlab search`: run or resume the random search, alone or as one worker of a shared study.
struct SearchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "search",
    abstract: "Run (or resume) the seeded random search with k-fold cross-validation and print the trial table.",
    discussion: """
      Without --storage the study lives in the run folder (DIR/studies.sqlite, with study.json \
      and study.jsonl for people). With --storage URL (a folder, or postgresql://user@host:port/db) \
      the study is created there, or joined when it exists with the same settings, and this \
      process works on it as one worker: start `latentlab worker --storage URL --study NAME` on \
      other machines to share the trials. --status prints each trial's state and exits.
      """)

  @OptionGroup var options: ProtocolOptions
  @Option(help: "The study's seed.") var seed: UInt64 = 0
  @Option(help: ArgumentHelp("The run folder (study.json, study.jsonl; the study itself unless --storage).", valueName: "dir"))
  var out: String?
  @Option(help: ArgumentHelp("Where the study lives: a folder or postgresql://user@host:port/db.", valueName: "url"))
  var storage: String?
  @Option(help: ArgumentHelp("The study's name (default: PRESET-seedN with --storage, else search).", valueName: "name"))
  var study: String?
  @Flag(help: "Print each trial's state, worker, attempt and result, and exit.") var status = false
  @Flag(help: "Create (or check) the study and exit without running trials, e.g. before a job array.") var createOnly = false
  @Option(help: ArgumentHelp("Seconds a claim holds without renewal, for a study this creates.", valueName: "seconds"))
  var lease: Double = StudyEngineSettings.defaultLeaseSeconds
  @Option(help: ArgumentHelp("Attempts a trial gets before it is failed, for a study this creates.", valueName: "n"))
  var maxAttempts: Int = StudyEngineSettings.defaultMaxAttempts

  func validate() throws {
    guard lease > 0, lease.isFinite else { throw ValidationError("--lease must be a positive number of seconds, got \(lease)") }
    guard maxAttempts >= 1 else { throw ValidationError("--max-attempts must be at least 1, got \(maxAttempts)") }
  }

  func folder(_ preset: Preset) -> String? {
    out ?? (storage == nil ? "runs/search-\(preset.name)-seed\(seed)" : nil)
  }

  func run() throws {
    let chosen = try options.chosenPreset()
    let location = try storage.map(StorageLocation.init) ?? .embedded(folder: folder(chosen)!)
    let name = study ?? (storage == nil ? Study.defaultName : Study.sharedName(preset: chosen, seed: seed))
    if status {
      let storage = try StudyStorages.open(location)
      let definition = try storage.definition(of: name)
      print(StudyStatus.text(definition: definition, location: location, rows: try storage.trials(of: name)))
      return
    }
    var search = Study(
      settings: StudySettings(preset: chosen, seed: seed), location: location, name: name, folder: folder(chosen),
      threads: options.threads)
    (search.leaseSeconds, search.maxAttempts) = (lease, maxAttempts)
    if createOnly {
      let joined = try search.prepare(log: say)
      say("study \"\(name)\" in \(location): \(joined == .created ? "created" : "exists with the same settings"), \(chosen.search.trials) trials")
      return
    }
    let runData = try RunData.load(data: options.data, seed: seed, subset: chosen.subset, validationFraction: 0)
    let results = try search.run(data: runData.train, log: say)
    print(Study.table(results))
    if let best = Study.best(results) { print("best: trial \(best.trial + 1), mean validation MSE \(String(format: "%.4f", best.meanMSE))") }
  }
}

extension SearchCommand: ContinuableCommand {
  func interruptionNote() -> String {
    guard let folder = out ?? (storage == nil ? "runs/search-\(options.preset)-seed\(seed)" : nil) else {
      return "Finished trials are kept in the study; the one in progress was given back. Continue with: \(currentCommandLine())"
    }
    let kept = (try? String(contentsOfFile: folder + "/study.jsonl", encoding: .utf8))?.split(separator: "\n").count ?? 0
    return "Kept \(kept) finished trial(s) in \(folder)/study.jsonl; continue with: \(currentCommandLine())"
  }
}

/// `latentlab worker`: claim and run a study's trials until none are left.
struct WorkerCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "worker",
    abstract: "Claim and run a shared study's trials until every trial is done or failed, then exit 0.",
    discussion: """
      Each trial is claimed under a lease the worker renews; a worker that dies loses its lease \
      and another worker runs the trial again (attempt 2). The study must exist (created by \
      `latentlab search --storage URL --study NAME`). Results do not depend on which worker \
      runs which trial. --study 'PREFIX*' serves every study whose name starts with PREFIX, in \
      name order, until all are finished (a sweep's studies: --study 'seed-seed*').
      """)

  @OptionGroup var where_: StudyLocationOptions
  @Option(help: "Worker threads. Results are bit-identical for any count.") var threads: Int = 2
  @Option(help: ArgumentHelp("Directory holding the Fashion-MNIST IDX files.", valueName: "dir")) var data: String?

  func validate() throws {
    guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
  }

  func run() throws {
    try serveStudies(matching: where_.study, at: try where_.location())
  }
}

extension WorkerCommand {
  /// Serves the study `pattern` names (or, with a final `*`, every study whose name starts
  /// with what precedes it) until all are finished: each in turn while it has trials to claim;
  /// when the rest are held by other workers, waits and looks again (studies created
  /// meanwhile included).
  func serveStudies(matching pattern: String, at location: StorageLocation) throws {
    let isPrefix = pattern.hasSuffix("*")
    var finished: Set<String> = []
    var report = StudyWorker.Report()
    var lastWait: Int?
    var current: (name: String, runner: StudyTrialRunner)?
    while true {
      // An exact name is served as given, so a missing study gets the storage's own error.
      let names = try (isPrefix ? StudyWorker.studies(matching: pattern, at: location) : [pattern]).filter { !finished.contains($0) }
      if names.isEmpty {
        guard !finished.isEmpty else { throw StudyError.unknownStudy("\(location): no study matches \"\(pattern)\"") }
        say(
          "worker \(StudyWorker.defaultName): recorded \(report.completed.count) trial(s)"
            + (report.rejected.isEmpty ? "" : ", \(report.rejected.count) late result(s) rejected")
            + "; \(finished.count == 1 ? "the study is" : "\(finished.count) studies") finished")
        return
      }
      var held = 0
      for name in names {
        let worker = try StudyWorker(location: location, study: name, log: { say($0) })
        let settings = try Study.settings(from: worker.definition, in: location)
        let answer = try worker.runWhileClaimable({ claim in
          if current?.name != name {
            current = nil  // one study's images in memory at a time
            current = (name, try StudyTrialRunner(
              settings: settings, data: StudyTrialRunner.data(for: settings, dataFolder: data), threads: threads))
          }
          return try current!.runner.outcome(of: claim.number, log: say)
        }, into: &report)
        if case .wait(let running) = answer { held += running } else { finished.insert(name) }
      }
      if held > 0 {
        if lastWait != held { say("waiting for \(held) trial(s) held by other workers") }
        lastWait = held
        Thread.sleep(forTimeInterval: StudyEngineSettings.pollSeconds)
      }
    }
  }
}

extension WorkerCommand: ContinuableCommand {
  func interruptionNote() -> String { "The trial in progress was given back to the study; start a worker again to go on." }
}

/// `latentlab trial`: run exactly one trial (the job-array idiom).
struct TrialCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "trial",
    abstract: "Run exactly one trial of a shared study (for job arrays: Slurm, Kubernetes Indexed Jobs).",
    discussion: """
      Trials are numbered from 1, as the trial table prints them (Slurm: --array=1-N and \
      --number $SLURM_ARRAY_TASK_ID; Kubernetes: --number $((JOB_COMPLETION_INDEX + 1))). Exit \
      0 when the trial is done (by this run or before); 75 (EX_TEMPFAIL) when another worker \
      holds it under a live lease, so the scheduler may retry later.
      """)

  @OptionGroup var where_: StudyLocationOptions
  @Option(help: ArgumentHelp("The trial to run, from 1.", valueName: "n")) var number: Int
  @Option(help: "Worker threads. Results are bit-identical for any count.") var threads: Int = 2
  @Option(help: ArgumentHelp("Directory holding the Fashion-MNIST IDX files.", valueName: "dir")) var data: String?

  func validate() throws {
    guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
    guard number >= 1 else { throw ValidationError("--number counts from 1, got \(number)") }
  }

  func run() throws {
    let location = try where_.location()
    let worker = try StudyWorker(location: location, study: where_.study, log: { say($0) })
    let settings = try Study.settings(from: worker.definition, in: location)
    let outcome = try worker.runTrial(number: number - 1) { claim in
      let runner = try StudyTrialRunner(settings: settings, data: StudyTrialRunner.data(for: settings, dataFolder: data), threads: threads)
      return try runner.outcome(of: claim.number, log: say)
    }
    switch outcome {
    case .ran(let accepted):
      say(accepted ? "trial \(number): recorded" : "trial \(number): another attempt recorded it first; this result was rejected")
    case .alreadyFinal(let state):
      say("trial \(number) is already \(state.rawValue); nothing to do")
    case .heldByAnother:
      let row = try worker.trials().first { $0.number == number - 1 }
      FileHandle.standardError.write(
        Data("trial \(number) is held by \(row?.worker ?? "another worker") (attempt \(row?.attempt ?? 0)); try again later\n".utf8))
      throw ExitCode(75)
    }
  }
}

/// `latentlab export`: a study in another tool's format.
struct ExportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "export",
    abstract: "Export a study as optuna's journal (optuna.load_study and optuna-dashboard read it).",
    discussion: """
      python3 -c 'import optuna; from optuna.storages import JournalStorage; \
      from optuna.storages.journal import JournalFileBackend; \
      s = optuna.load_study(study_name="NAME", storage=JournalStorage(JournalFileBackend("FILE"))); print(s.best_trial)'
      """)

  @OptionGroup var where_: StudyLocationOptions
  @Option(help: ArgumentHelp("The journal file to write (replaced atomically).", valueName: "file")) var optunaJournal: String

  func run() throws {
    let location = try where_.location()
    let storage = try StudyStorages.open(location)
    let definition = try storage.definition(of: where_.study)
    let settings = try Study.settings(from: definition, in: location)
    let text = try StudyExport.optunaJournal(definition: definition, settings: settings, rows: try storage.trials(of: where_.study))
    try DurableFile.write(text, to: optunaJournal)
    print("wrote \(optunaJournal): study \"\(definition.name)\", \(definition.trialCount) trials")
  }
}
