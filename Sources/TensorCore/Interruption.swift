import Synchronization

/// Long work stopped on request (Ctrl-C, SIGTERM) at a safe point.
public struct Interrupted: Error, CustomStringConvertible, Equatable, Sendable {
  /// The signal that asked to stop (`SIGINT` 2, `SIGTERM` 15).
  public let signal: Int32

  public init(signal: Int32) { self.signal = signal }

  /// The conventional exit status of a process stopped by `signal`: 128 + its number.
  public var exitStatus: Int32 { 128 + signal }

  public var description: String { "interrupted by \(Interrupted.name(of: signal))" }

  /// `SIGINT`, `SIGTERM`, or `signal N`.
  public static func name(of signal: Int32) -> String {
    switch signal {
    case 2: return "SIGINT"
    case 15: return "SIGTERM"
    default: return "signal \(signal)"
    }
  }
}

/// The process-wide request to stop: the command-line tool records a signal here, and long
/// loops (training steps, search trials, t-SNE iterations) call `check()` at their safe points,
/// places where stopping loses nothing already saved.
///
/// The library installs no signal handler; only the tool that owns the process does.
public enum Interruption {
  private static let requested = Atomic<Int32>(0)

  /// The signal recorded by `request`, or nil.
  public static var signal: Int32? {
    let s = requested.load(ordering: .acquiring)
    return s == 0 ? nil : s
  }

  /// Records that `signal` asked the process to stop; returns false when a request was
  /// already recorded (a second Ctrl-C).
  @discardableResult
  public static func request(signal: Int32) -> Bool {
    requested.compareExchange(expected: 0, desired: signal, ordering: .acquiringAndReleasing).exchanged
  }

  /// A safe point: throws `Interrupted` once a stop was requested.
  public static func check() throws {
    if let signal { throw Interrupted(signal: signal) }
  }
}
