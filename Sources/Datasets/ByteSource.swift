import CZlib

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Reads a file's bytes in order, inflating it on the fly when it is gzip-compressed.
///
/// Whether a file is compressed is decided by its first two bytes (0x1f 0x8b), not its
/// name. Concatenated gzip members are read as one stream, as `gzip -d` does. Memory use is
/// two fixed buffers, whatever the file's size.
final class ByteSource {
  let path: String
  /// Whether the file is gzip-compressed.
  private(set) var isGzip = false

  /// The most bytes `read` can ever return: the file size, or for gzip the file size times
  /// deflate's largest possible ratio (1032:1, zlib's technical details), so a damaged header
  /// is caught before anything is allocated for it.
  private(set) var maximumByteCount = 0
  /// Whether `maximumByteCount` is the exact size (a raw file) rather than a bound.
  var maximumIsExact: Bool { !isGzip }

  private let fd: Int32
  private var input: UnsafeMutablePointer<UInt8>
  private let inputCapacity = 1 << 20
  private var inputStart = 0
  private var inputEnd = 0
  private var inputExhausted = false
  private var stream = z_stream()
  private var streamOpen = false
  private var streamEnded = false

  init(path: String) throws {
    self.path = path
    var st = stat()
    if stat(path, &st) != 0 {
      if errno == ENOENT { throw IDXError.fileNotFound(path: path, alternatives: [path]) }
      throw IDXError.unreadable(path: path, reason: String(cString: strerror(errno)))
    }
    if (st.st_mode & S_IFMT) == S_IFDIR { throw IDXError.unreadable(path: path, reason: "is a directory") }
    let fileSize = Int(st.st_size)
    fd = open(path, O_RDONLY)
    if fd < 0 { throw IDXError.unreadable(path: path, reason: String(cString: strerror(errno))) }
    input = .allocate(capacity: inputCapacity)
    do {
      try fillInput()
      isGzip = inputEnd - inputStart >= 2 && input[0] == 0x1f && input[1] == 0x8b
      maximumByteCount = isGzip ? fileSize.multipliedReportingOverflow(by: 1032).partialValue : fileSize
      if isGzip {
        let status = latentlab_inflateInit2(&stream, 16 + MAX_WBITS)
        guard status == Z_OK else { throw IDXError.corruptGzip(path: path, reason: "inflateInit2 failed (\(status))") }
        streamOpen = true
      }
    } catch {
      close(fd)
      input.deallocate()
      throw error
    }
  }

  deinit {
    if streamOpen { inflateEnd(&stream) }
    close(fd)
    input.deallocate()
  }

  /// Refills the input buffer when it is empty.
  private func fillInput() throws {
    guard inputStart == inputEnd, !inputExhausted else { return }
    var n: Int
    repeat { n = Glibc.read(fd, input, inputCapacity) } while n < 0 && errno == EINTR
    if n < 0 { throw IDXError.unreadable(path: path, reason: String(cString: strerror(errno))) }
    inputStart = 0
    inputEnd = n
    if n == 0 { inputExhausted = true }
  }

  /// Reads up to `buffer.count` bytes into `buffer`; returns how many, 0 only at the end.
  func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    guard buffer.count > 0 else { return 0 }
    if !isGzip {
      try fillInput()
      let n = min(buffer.count, inputEnd - inputStart)
      if n > 0 {
        buffer.baseAddress!.copyMemory(from: input + inputStart, byteCount: n)
        inputStart += n
      }
      return n
    }
    let out = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
    var produced = 0
    while produced < buffer.count {
      try fillInput()
      if streamEnded {
        // Another gzip member may follow the one that ended.
        if inputStart == inputEnd { return produced }
        guard inflateReset(&stream) == Z_OK else {
          throw IDXError.corruptGzip(path: path, reason: "cannot restart for the next gzip member")
        }
        streamEnded = false
      }
      if inputStart == inputEnd && inputExhausted {
        throw IDXError.truncatedGzip(path: path)
      }
      stream.next_in = input + inputStart
      stream.avail_in = UInt32(inputEnd - inputStart)
      stream.next_out = out + produced
      stream.avail_out = UInt32(buffer.count - produced)
      let status = inflate(&stream, Z_NO_FLUSH)
      let consumed = (inputEnd - inputStart) - Int(stream.avail_in)
      inputStart += consumed
      produced = buffer.count - Int(stream.avail_out)
      switch status {
      case Z_OK: continue
      case Z_STREAM_END: streamEnded = true
      case Z_BUF_ERROR:
        // No progress possible: more input is needed, and there is none.
        if inputExhausted && inputStart == inputEnd { throw IDXError.truncatedGzip(path: path) }
      default:
        let message = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
        throw IDXError.corruptGzip(path: path, reason: message)
      }
    }
    return produced
  }

  /// Fills `buffer` completely; returns the number of bytes read, less than requested only
  /// at the end of the data.
  func readFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
    var done = 0
    while done < buffer.count {
      let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]))
      if n == 0 { break }
      done += n
    }
    return done
  }
}
