import Foundation
import FuzzTargets
import TensorCore

// The fuzzing driver behind `make fuzz`.
//
// Built with `-sanitize=fuzzer -DLATENTLAB_LIBFUZZER` (scripts/fuzz.sh), it is a libFuzzer
// binary: the target comes from $LATENTLAB_FUZZ_TARGET and libFuzzer's own flags do the rest.
// Built plainly, it replays corpus files (`replay TARGET FILE|DIR...`) or runs a seeded
// mutation loop (`mutate TARGET CORPUS_DIR --seconds S --seed N`) where libFuzzer cannot be
// built.

#if LATENTLAB_LIBFUZZER
  // libFuzzer's own `main` drives these two (scripts/fuzz.sh links this module's objects
  // with libFuzzer, without SwiftPM's entry point).
  nonisolated(unsafe) var selected: FuzzTarget = .checkpoint

  @_cdecl("LLVMFuzzerInitialize")
  public func fuzzerInitialize(
    _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>
  ) -> Int32 {
    let name = ProcessInfo.processInfo.environment["LATENTLAB_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
      FileHandle.standardError.write(
        Data("set LATENTLAB_FUZZ_TARGET to one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
      exit(2)
    }
    selected = target
    return 0
  }

  @_cdecl("LLVMFuzzerTestOneInput")
  public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    selected.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
  }
#else
  func files(_ paths: [String]) -> [String] {
    paths.flatMap { path -> [String] in
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return [] }
      guard isDirectory.boolValue else { return [path] }
      let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
      return names.sorted().filter { !$0.hasPrefix(".") }.map { path + "/" + $0 }
    }
  }

  func usage() -> Never {
    FileHandle.standardError.write(Data("""
      usage: latentlab-fuzz replay TARGET FILE|DIR...
             latentlab-fuzz mutate TARGET CORPUS_DIR [--seconds S] [--seed N]
      targets: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))

      """.utf8))
    exit(64)
  }

  let arguments = Array(CommandLine.arguments.dropFirst())
  guard arguments.count >= 3, let target = FuzzTarget(rawValue: arguments[1]) else { usage() }
  switch arguments[0] {
  case "replay":
    let inputs = files(Array(arguments.dropFirst(2)))
    var accepted = 0
    for file in inputs {
      guard let data = FileManager.default.contents(atPath: file) else { continue }
      if target.run(data) { accepted += 1 }
    }
    print("\(target.rawValue): replayed \(inputs.count) inputs (\(accepted) accepted, \(inputs.count - accepted) rejected), no crash")
  case "mutate":
    // A seeded mutation loop (byte flips, insertions, deletions, splices of corpus inputs):
    // far weaker than libFuzzer's coverage guidance, but it runs anywhere.
    var seconds = 60.0, seed: UInt64 = 0
    var rest = Array(arguments.dropFirst(3))
    while let flag = rest.first {
      rest.removeFirst()
      guard let value = rest.first else { usage() }
      rest.removeFirst()
      switch flag {
      case "--seconds": seconds = Double(value) ?? seconds
      case "--seed": seed = UInt64(value) ?? seed
      default: usage()
      }
    }
    let corpus = files([arguments[2]]).compactMap { FileManager.default.contents(atPath: $0).map { [UInt8]($0) } }
    guard !corpus.isEmpty else { usage() }
    var g = SeededGenerator(seed: seed, streamName: "fuzz/\(target.rawValue)")
    let start = ProgressReporter.monotonicSeconds()
    var executions = 0
    while ProgressReporter.monotonicSeconds() - start < seconds {
      var input = corpus[g.nextInt(below: corpus.count)]
      for _ in 0...g.nextInt(below: 4) {
        let at = input.isEmpty ? 0 : g.nextInt(below: input.count)
        switch g.nextInt(below: 5) {
        case 0 where !input.isEmpty: input[at] ^= UInt8(1 << g.nextInt(below: 8))
        case 1 where !input.isEmpty: input[at] = UInt8(truncatingIfNeeded: g.next())
        case 2: input.insert(UInt8(truncatingIfNeeded: g.next()), at: at)
        case 3 where !input.isEmpty: input.removeSubrange(at..<min(input.count, at + 1 + g.nextInt(below: 16)))
        default:
          let other = corpus[g.nextInt(below: corpus.count)]
          if !other.isEmpty { input.replaceSubrange(at..<input.count, with: other[g.nextInt(below: other.count)...]) }
        }
      }
      input.withUnsafeBytes { _ = target.run($0) }
      executions += 1
    }
    print("\(target.rawValue): \(executions) executions in \(Int(seconds)) s (seed \(seed)), no crash")
  default:
    usage()
  }
#endif
