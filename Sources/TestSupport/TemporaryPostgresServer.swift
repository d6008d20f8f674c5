import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A PostgreSQL server of the tests' own: `initdb` into a temporary folder, started on a free
/// loopback port, stopped and removed by `stop()`.
///
/// PostgreSQL refuses to run as root, so under root the server runs as `nobody` (`runuser`).
/// Password authentication (SCRAM) over TCP, user `latentlab`, password `password`; the
/// database `postgres` exists from the start. Debian's `postgresql` package provides the
/// binaries (`scripts/setup.sh` installs it).
public final class TemporaryPostgresServer {
  public let port: Int
  public let user = "latentlab"
  public let password = "password"
  private let folder: String
  private let binaries: String
  private var running = false

  /// The server's data folder, its log, and the folder of its Unix socket.
  private var dataFolder: String { folder + "/data" }
  public var logPath: String { folder + "/server.log" }

  /// `postgresql://latentlab:password@127.0.0.1:PORT/DATABASE` with optional query.
  public func url(database: String = "postgres", password: String? = nil, query: String = "") -> String {
    "postgresql://\(user):\(password ?? self.password)@127.0.0.1:\(port)/\(database)" + (query.isEmpty ? "" : "?" + query)
  }

  /// What went wrong starting the server, with the command's output.
  public struct Failure: Error, CustomStringConvertible {
    public var description: String
  }

  /// Creates and starts a server. `durable: false` turns fsync off (faster tests; a crash of
  /// the machine could lose the test's data, which is thrown away anyway).
  public init(durable: Bool = false) throws {
    let candidates = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
      .compactMap(Int.init).sorted().map { "/usr/lib/postgresql/\($0)/bin" }
    guard let bin = candidates.last(where: { FileManager.default.isExecutableFile(atPath: $0 + "/initdb") }) else {
      throw Failure(description: "PostgreSQL's server is not installed (no /usr/lib/postgresql/*/bin/initdb); run scripts/setup.sh")
    }
    binaries = bin
    folder = "/tmp/latentlab-postgres-\(getpid())-\(UUID().uuidString.prefix(8))"
    port = try TemporaryPostgresServer.freePort()
    var settings = "-p \(port) -k \(folder) -c listen_addresses=127.0.0.1 -c max_connections=100"
    if !durable { settings += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off" }
    self.settings = settings
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
    try "\(password)\n".write(toFile: folder + "/password", atomically: true, encoding: .utf8)
    if getuid() == 0 {
      _ = try TemporaryPostgresServer.run("/bin/chown", ["-R", "nobody", folder])
    }
    try runAsServerUser(
      bin + "/initdb",
      ["-D", folder + "/data", "-U", user, "--pwfile=" + folder + "/password", "--auth-host=scram-sha-256", "--auth-local=trust",
        "-E", "UTF8", "--locale=C", "--no-sync"])
    try start()
  }

  private let settings: String

  /// Starts (or restarts) the server and waits until it accepts connections.
  public func start() throws {
    try runAsServerUser(binaries + "/pg_ctl", ["-D", dataFolder, "-o", settings, "-l", logPath, "-w", "-t", "60", "start"])
    running = true
  }

  /// Stops the server (`-m fast`: open connections are closed), keeping its data.
  public func halt() throws {
    guard running else { return }
    try runAsServerUser(binaries + "/pg_ctl", ["-D", dataFolder, "-m", "fast", "-w", "stop"])
    running = false
  }

  /// Stops the server and removes its folder.
  public func stop() {
    try? halt()
    try? FileManager.default.removeItem(atPath: folder)
  }

  deinit { stop() }

  private func runAsServerUser(_ program: String, _ arguments: [String]) throws {
    if getuid() == 0 {
      _ = try TemporaryPostgresServer.run("/usr/sbin/runuser", ["-u", "nobody", "--", program] + arguments)
    } else {
      _ = try TemporaryPostgresServer.run(program, arguments)
    }
  }

  /// Runs `program` with posix_spawn and waits with waitpid: Foundation's `Process` waits for
  /// every inherited descriptor to close, which a server that pg_ctl leaves running never does.
  @discardableResult
  private static func run(_ program: String, _ arguments: [String]) throws -> String {
    let capture = "/tmp/latentlab-postgres-output-\(getpid())-\(UUID().uuidString.prefix(8))"
    defer { unlink(capture) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, capture, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let argv = ([program] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, program, &actions, nil, argv, environ)
    guard spawned == 0 else { throw Failure(description: "\(program): cannot start: \(String(cString: strerror(spawned)))") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let output = (try? String(contentsOfFile: capture, encoding: .utf8)) ?? ""
    let exited = (status & 0x7f) == 0
    let code = (status >> 8) & 0xff
    guard exited && code == 0 else {
      throw Failure(description: "\(program) \(arguments.joined(separator: " ")) failed (status \(status)): \(output)")
    }
    return output
  }

  /// A loopback TCP port nobody listens on now.
  public static func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard bound == 0 else { throw Failure(description: "bind: \(String(cString: strerror(errno)))") }
    _ = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
  }
}
