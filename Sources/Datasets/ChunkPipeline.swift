import Dispatch
import Foundation

/// Reads a byte source on a background thread into a ring of buffers, handing full buffers to
/// the consuming thread in order: decompression overlaps with whatever the consumer does.
///
/// Protocol: `nextChunk()` returns the next chunk (nil at the end) and stays valid until
/// `release()`; call `release()` once per chunk. `cancel()` stops the reader early (after a
/// consumer error). Errors of the source surface from `nextChunk()` in order.
final class ChunkPipeline {
  private let source: ByteSource
  private let slotSize = 1 << 18
  private let slotCount = 4
  private let storage: UnsafeMutableRawPointer
  private var lengths: [Int]
  private var readerError: Error?
  private let filled = DispatchSemaphore(value: 0)
  // Starts at zero and is signalled once per slot: libdispatch traps when a semaphore is
  // released with a value below the one it was created with, which a cancelled pipeline has.
  private let free = DispatchSemaphore(value: 0)
  private let done = DispatchGroup()
  private var cancelled = false
  private var consumed = 0
  /// Bytes found after the expected payload (0 or 1: the reader only checks that there is none).
  private(set) var trailingBytes = 0

  /// Starts reading `payloadBytes` bytes of `source` in the background.
  init(source: ByteSource, payloadBytes: Int) {
    self.source = source
    storage = .allocate(byteCount: slotSize * slotCount, alignment: 64)
    lengths = [Int](repeating: 0, count: slotCount)
    for _ in 0..<slotCount { free.signal() }
    done.enter()
    let thread = Thread { [self] in
      readAll(payloadBytes)
      done.leave()
    }
    thread.stackSize = 1 << 20
    thread.start()
  }

  deinit {
    cancel()
    storage.deallocate()
  }

  private func slot(_ i: Int) -> UnsafeMutableRawBufferPointer {
    UnsafeMutableRawBufferPointer(start: storage + (i % slotCount) * slotSize, count: slotSize)
  }

  /// The reader thread: fills slots in turn; a slot of length 0 marks the end (or an error).
  private func readAll(_ payloadBytes: Int) {
    var offset = 0
    var index = 0
    while true {
      free.wait()
      if cancelled { return }
      let want = min(slotSize, payloadBytes - offset)
      var n = 0
      do {
        if want > 0 {
          n = try source.readFully(into: UnsafeMutableRawBufferPointer(rebasing: slot(index)[0..<want]))
        } else {
          n = 0
          var probe: UInt8 = 0
          trailingBytes = try withUnsafeMutableBytes(of: &probe) { try source.read(into: $0) }
        }
      } catch {
        readerError = error
        n = 0
      }
      lengths[index % slotCount] = n
      filled.signal()
      if n == 0 { return }
      offset += n
      index += 1
    }
  }

  /// The next chunk, or nil at the end of the payload (or where the file ends early).
  func nextChunk() throws -> UnsafeRawBufferPointer? {
    filled.wait()
    let n = lengths[consumed % slotCount]
    if n == 0 {
      done.wait()
      if let readerError { throw readerError }
      return nil
    }
    return UnsafeRawBufferPointer(rebasing: slot(consumed)[0..<n])
  }

  /// Gives the last chunk's buffer back to the reader.
  func release() {
    consumed += 1
    free.signal()
  }

  /// Stops the reader and waits for it to finish.
  func cancel() {
    guard !cancelled else { return }
    cancelled = true
    free.signal()
    done.wait()
  }
}
