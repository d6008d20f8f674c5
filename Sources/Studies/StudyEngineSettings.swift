/// The study engine's settings, in one place.
public enum StudyEngineSettings {
  /// How long a claim holds without renewal (seconds), unless the study says otherwise.
  public static let defaultLeaseSeconds = 60.0
  /// Claims a trial gets before it is failed, unless the study says otherwise.
  public static let defaultMaxAttempts = 3
  /// A worker renews its lease this many times per lease time.
  public static let renewalsPerLease = 3.0
  /// How often an idle worker asks again while other workers hold the last trials (seconds).
  public static let pollSeconds = 0.5
  /// How long a worker keeps reconnecting to a PostgreSQL server it lost (seconds).
  public static let reconnectWindowSeconds = 300.0
  /// The first and the longest wait between reconnection attempts (seconds); doubled each time.
  public static let firstBackoffSeconds = 0.25
  public static let longestBackoffSeconds = 5.0
}
