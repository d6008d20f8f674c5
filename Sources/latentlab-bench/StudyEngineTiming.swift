import Foundation
import Studies
import TensorCore
import TestSupport

#if canImport(Glibc)
  import Glibc
#endif

/// The study engine's own cost: claim + complete round trips of trials that do no training,
/// through the library API, by 1, 4 and 8 worker processes (this executable with
/// `--claim-worker`), against a local PostgreSQL server (durable: fsync on, as in use) and the
/// embedded SQLite store. Latency is one claim plus its complete; throughput is every trial
/// over the span from the first worker's start to the last one's end.
enum StudyEngineTiming {
  static let workerCounts = [1, 4, 8]
  /// Trials per measurement: enough for a few seconds at the expected rates.
  static let postgresTrials = 3000
  static let embeddedTrials = 600

  /// What one worker process reports.
  struct WorkerTimes: Codable {
    var latencies: [Double]
    var start: Double
    var end: Double
  }

  /// The `--claim-worker LOCATION STUDY` child: claims and completes until the study is finished.
  static func worker(location text: String, study: String) throws -> WorkerTimes {
    let storage = try StudyStorages.open(StorageLocation(text))
    let name = "bench/\(getpid())"
    var latencies: [Double] = []
    let start = ProgressReporter.monotonicSeconds()
    loop: while true {
      let t0 = ProgressReporter.monotonicSeconds()
      switch try storage.claim(study: study, worker: name, number: nil) {
      case .claimed(let claim):
        guard try storage.complete(claim, outcome: TrialOutcome(objective: 1, record: "{}")) else {
          throw StudyError.storage("bench: a fresh claim's result was rejected")
        }
        latencies.append(ProgressReporter.monotonicSeconds() - t0)
      case .wait:
        Thread.sleep(forTimeInterval: 0.001)
      case .finished:
        break loop
      }
    }
    return WorkerTimes(latencies: latencies, start: start, end: ProgressReporter.monotonicSeconds())
  }

  /// Runs `workers` worker processes on a new study of `trials` trials at `location`.
  static func measure(location text: String, trials: Int, workers: Int) throws -> (latencies: [Double], perSecond: Double) {
    let storage = try StudyStorages.open(StorageLocation(text), creating: true)
    let study = "bench-\(workers)"
    _ = try storage.createOrJoin(
      StudyDefinition(name: study, settings: "{}", trialCount: trials, leaseSeconds: 60, maxAttempts: 3))
    let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    let processes = try (0..<workers).map { _ -> (Process, Pipe) in
      let process = Process()
      process.executableURL = executable
      process.arguments = ["--claim-worker", text, study]
      let pipe = Pipe()
      process.standardOutput = pipe
      try process.run()
      return (process, pipe)
    }
    var reports: [WorkerTimes] = []
    for (process, pipe) in processes {
      let data = pipe.fileHandleForReading.readDataToEndOfFile()
      process.waitUntilExit()
      guard process.terminationStatus == 0 else { throw StudyError.storage("bench: a claim worker failed") }
      reports.append(try JSONDecoder().decode(WorkerTimes.self, from: data))
    }
    let done = try storage.trials(of: study).filter { $0.state == .done }.count
    guard done == trials else { throw StudyError.storage("bench: \(done) of \(trials) trials done") }
    let span = reports.map(\.end).max()! - reports.map(\.start).min()!
    return (reports.flatMap(\.latencies), Double(trials) / span)
  }

  static func percentile(_ xs: [Double], _ p: Double) -> Double {
    let s = xs.sorted()
    return s[min(s.count - 1, Int((Double(s.count) * p).rounded(.up)) - 1)]
  }

  /// The figures: per storage and worker count, median and p99 latency and throughput; and
  /// the engine's share of a seed-preset trial of `trialSeconds`.
  static func figures(seedTrialSeconds: Double) throws -> [Figure] {
    let server = try TemporaryPostgresServer(durable: true)
    defer { server.stop() }
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bench-studies-\(getpid())").path
    defer { try? FileManager.default.removeItem(atPath: folder) }
    var figures: [Figure] = []
    var postgresMedian = 0.0
    for (label, trials) in [("postgres", postgresTrials), ("embedded", embeddedTrials)] {
      for workers in workerCounts {
        let location = label == "postgres" ? server.url(query: "schema=bench\(workers)") : folder + "/w\(workers)"
        let (latencies, rate) = try measure(location: location, trials: trials, workers: workers)
        let p50 = percentile(latencies, 0.5), p99 = percentile(latencies, 0.99)
        if label == "postgres" && workers == 1 { postgresMedian = p50 }
        let name = "studies.\(label).workers\(workers)"
        figures.append(Figure(
          name: name + ".claims_per_second", value: rate, unit: "/s",
          goal: label == "postgres" && workers == 8 ? ">= 500 claim+complete per second" : "",
          note: "\(trials) trials doing no work, \(workers) worker process(es)"))
        figures.append(Figure(name: name + ".p50_ms", value: p50 * 1000, unit: "ms", note: "claim + complete"))
        figures.append(Figure(
          name: name + ".p99_ms", value: p99 * 1000, unit: "ms",
          goal: label == "postgres" && workers == 8 ? "< 50 ms" : "", note: "claim + complete"))
      }
    }
    // A trial costs one claim, one complete and a renewal every lease/3 seconds (about as
    // cheap as a complete: one UPDATE).
    let renewals = seedTrialSeconds / (StudyEngineSettings.defaultLeaseSeconds / StudyEngineSettings.renewalsPerLease)
    let overhead = postgresMedian * (1 + renewals / 2)
    figures.append(Figure(
      name: "studies.overhead_of_a_seed_trial", value: 100 * overhead / seedTrialSeconds, unit: "%", goal: "< 1%",
      note: "PostgreSQL, 1 worker: claim + complete + lease renewals every \(Int(StudyEngineSettings.defaultLeaseSeconds / StudyEngineSettings.renewalsPerLease)) s over a \(Int(seedTrialSeconds)) s trial"))
    return figures
  }
}
