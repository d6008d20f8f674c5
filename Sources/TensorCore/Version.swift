/// The version of the LatentLab package, written into every file it produces.
public enum LatentLabVersion {
  /// Semantic version of this build.
  public static let current = "0.1.0"
}
