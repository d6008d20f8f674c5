import Dispatch
import Foundation
import TensorCore

#if canImport(Glibc)
  import Glibc
#endif

/// How the tool meets SIGINT, SIGTERM and SIGXFSZ.
///
/// The first SIGINT or SIGTERM is recorded in `Interruption`: long work stops at its next safe
/// point, the command says what it kept and how to continue, and the process exits 130 or 143.
/// A second one stops the process at once with the same status (files are only ever replaced
/// by renaming a complete temporary file, so that loses nothing saved). SIGXFSZ (a file-size
/// limit) is ignored, so that a write past the limit fails with an error naming the file
/// instead of killing the process.
enum StopSignals {
  private nonisolated(unsafe) static var sources: [DispatchSourceSignal] = []

  static func install() {
    signal(SIGXFSZ, SIG_IGN)
    for number in [SIGINT, SIGTERM] {
      signal(number, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
      source.setEventHandler {
        guard Interruption.request(signal: number) else { _exit(128 + number) }
        let name = Interrupted.name(of: number)
        FileHandle.standardError.write(Data(
          "\n\(name): stopping at the next safe point (send it again to stop at once)\n".utf8))
      }
      source.resume()
      sources.append(source)
    }
  }
}

/// A command that can say, when interrupted, what it kept and the command that continues it.
protocol ContinuableCommand {
  /// Lines for the user: what is saved, and the exact command that resumes.
  func interruptionNote() -> String
}

/// The command line that ran this process, quoted for a POSIX shell.
func currentCommandLine() -> String {
  (["latentlab"] + CommandLine.arguments.dropFirst()).map(shellQuoted).joined(separator: " ")
}

/// `word` quoted for a POSIX shell where it needs quoting.
func shellQuoted(_ word: String) -> String {
  let plain = word.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,@%+".contains($0) }
  return plain && !word.isEmpty ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
