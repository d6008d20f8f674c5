#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Shows the progress of long work on standard error.
///
/// On a terminal: one line redrawn in place, `label [#####.....] 512/1000 12.3 it/s ETA 0:40`,
/// at most ten times a second. When standard error is not a terminal (logs, CI): plain lines,
/// one at each tenth of the work and at the end, so a log stays short and readable.
public final class ProgressReporter {
  /// What one unit of work is called in the rate (`img`, `batch`, `it`).
  public let unit: String
  /// Shown before the bar.
  public let label: String
  /// The number of units in all.
  public let total: Int
  /// Whether output is redrawn in place (a terminal) or written as plain lines.
  public let interactive: Bool

  private var done = 0
  private let start: Double
  private var lastDraw: Double = -1
  private var nextPlainTenth = 1
  private var finished = false
  private let write: (String) -> Void
  private let clock: () -> Double

  /// A reporter for `total` units of work.
  /// - Parameters:
  ///   - interactive: redraw in place; by default, whether standard error is a terminal.
  ///   - write: where text goes; standard error by default (tests capture it).
  ///   - clock: seconds from any fixed origin; monotonic time by default.
  public init(
    label: String, total: Int, unit: String = "it", interactive: Bool? = nil,
    write: ((String) -> Void)? = nil, clock: (() -> Double)? = nil
  ) {
    self.label = label
    self.total = max(total, 0)
    self.unit = unit
    self.interactive = interactive ?? ProgressReporter.standardErrorIsTerminal
    self.write = write ?? { text in fputs(text, stderr); fflush(stderr) }
    self.clock = clock ?? ProgressReporter.monotonicSeconds
    self.start = self.clock()
  }

  /// Whether standard error is a terminal, where a bar is redrawn in place (so only one piece
  /// of work at a time may draw one).
  public static var standardErrorIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

  /// Records `n` more units done and redraws if it is time.
  public func advance(by n: Int = 1) {
    done = min(total, done + n)
    let now = clock()
    if interactive {
      if now - lastDraw >= 0.1 || done == total {
        lastDraw = now
        write("\r" + line(now: now))
      }
    } else if total > 0 {
      while nextPlainTenth <= 10 && done * 10 >= nextPlainTenth * total {
        nextPlainTenth += 1
        if done < total { write(line(now: now) + "\n") }
      }
    }
    if done == total { finish() }
  }

  /// Ends the display (idempotent): the final line with the total time.
  public func finish() {
    guard !finished else { return }
    finished = true
    let now = clock()
    let elapsed = now - start
    let rate = elapsed > 0 ? Double(done) / elapsed : 0
    let text = "\(label): \(done)/\(total) \(unit) in \(Self.formatDuration(elapsed))"
      + " (\(Self.formatRate(rate)) \(unit)/s)"
    write(interactive ? "\r" + text + "\u{1B}[K\n" : text + "\n")
  }

  /// The current status line (without a line ending).
  func line(now: Double) -> String {
    let elapsed = now - start
    let rate = elapsed > 0 ? Double(done) / elapsed : 0
    let fraction = total > 0 ? Double(done) / Double(total) : 1
    let eta = rate > 0 ? Double(total - done) / rate : .nan
    let width = 24
    let filled = Int((fraction * Double(width)).rounded(.down))
    let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
    let percent = Int((fraction * 100).rounded(.down))
    return "\(label) [\(bar)] \(done)/\(total) \(percent)% \(Self.formatRate(rate)) \(unit)/s"
      + " ETA \(eta.isFinite ? Self.formatDuration(eta) : "?")"
  }

  /// `h:mm:ss` or `m:ss`.
  public static func formatDuration(_ seconds: Double) -> String {
    let s = max(0, Int(seconds.rounded()))
    let (h, m, sec) = (s / 3600, (s / 60) % 60, s % 60)
    let two = { (x: Int) in x < 10 ? "0\(x)" : "\(x)" }
    return h > 0 ? "\(h):\(two(m)):\(two(sec))" : "\(m):\(two(sec))"
  }

  /// A rate with three significant figures or so (`12.3`, `4567`).
  public static func formatRate(_ rate: Double) -> String {
    if !rate.isFinite { return "?" }
    if rate >= 100 { return String(Int(rate.rounded())) }
    let tenths = (rate * 10).rounded() / 10
    return String(tenths)
  }

  /// Seconds on the monotonic clock.
  public static func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
  }
}
