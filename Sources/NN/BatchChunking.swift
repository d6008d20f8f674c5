/// How the batch is cut into chunks for parallel work: a function of the batch size only,
/// never of the thread count, so results are bit-identical with any number of threads.
public enum BatchChunking {
  /// Images (or rows) per chunk.
  public static let itemsPerChunk = 32

  /// The number of chunks for a batch of `n` items.
  public static func chunkCount(_ n: Int) -> Int { max(1, (n + itemsPerChunk - 1) / itemsPerChunk) }

  /// Rows per chunk of a dense layer: its work is one GEMM per chunk, and OpenBLAS runs short
  /// GEMMs (a few dozen rows) at half its speed, so dense layers take larger chunks.
  public static let rowsPerDenseChunk = 128

  /// The number of chunks of a dense layer for a batch of `n` rows.
  public static func denseChunkCount(_ n: Int) -> Int { max(1, (n + rowsPerDenseChunk - 1) / rowsPerDenseChunk) }
}
