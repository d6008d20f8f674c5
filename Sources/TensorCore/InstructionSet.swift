import CKernels
import Glibc

/// Which code path the package's own kernels take, and why.
///
/// `portable`: plain Swift everywhere (models on their reference layers, scalar Adam and
/// t-SNE sums) and OpenBLAS's SSE3 `Prescott` kernels. `avx2`: the AVX2 + FMA kernels (the
/// execution plan's lane convolutions, activations, Adam, the t-SNE repulsion) and OpenBLAS's
/// `Haswell` kernels. `avx512`: the `avx2` kernels, but the lane convolution's kernels take
/// two lane groups (forward, input gradient) or two input channels (weight gradient) to an
/// AVX-512 register, and t-SNE's FFT and grid passes run 16 floats wide; each element gets the
/// same operations in the same order as on `avx2`, so the two paths give the same bits
/// (tested). Every path sums in one
/// order on every CPU that runs it, so a path's bytes do not depend on the machine.
///
/// The path is the best the CPU has, or the one `LATENTLAB_ISA` (`portable`, `avx2`,
/// `avx512`) names; naming a path the CPU lacks, or another word, is an error the CLI reports
/// (`environmentProblem`) before doing anything.
public enum InstructionSet: String, CaseIterable, Comparable, Sendable {
  case portable, avx2, avx512

  /// The environment variable that forces a path.
  public static let environmentVariable = "LATENTLAB_ISA"

  /// The best path this CPU runs.
  public static let cpuBest: InstructionSet = {
    if latentlab_avx2_fma_available() != 1 { return .portable }
    return latentlab_avx512_available() == 1 ? .avx512 : .avx2
  }()

  /// Whether this CPU has AVX2 and FMA, whatever path is selected.
  public static var cpuHasAVX2: Bool { cpuBest >= .avx2 }

  /// The path taken: `LATENTLAB_ISA` when it names one the CPU runs, else the CPU's best.
  public static let selected: InstructionSet = {
    guard let forced = requested, forced <= cpuBest else { return cpuBest }
    return forced
  }()

  /// Whether the AVX2 kernels run (paths `avx2` and `avx512`).
  public static var usesAVX2Kernels: Bool { selected >= .avx2 }

  /// What is wrong with `LATENTLAB_ISA`, or nil: an unknown word, or a path this CPU lacks.
  public static let environmentProblem: String? = {
    guard let raw = getenv(environmentVariable).map({ String(cString: $0) }), !raw.isEmpty else { return nil }
    guard let forced = InstructionSet(rawValue: raw.lowercased()) else {
      return "\(environmentVariable)=\(raw): expected portable, avx2 or avx512"
    }
    guard forced <= cpuBest else {
      return "\(environmentVariable)=\(raw): this CPU runs at most \(cpuBest.rawValue)"
    }
    return nil
  }()

  /// The CPU's brand string (`lscpu`'s model name).
  public static let cpuModel: String = {
    var buffer = [CChar](repeating: 0, count: 64)
    latentlab_cpu_brand(&buffer)
    let name = String(cString: buffer)
    return name.isEmpty ? "unknown x86-64 CPU" : name
  }()

  /// The path `LATENTLAB_ISA` asks for, if it names one.
  private static var requested: InstructionSet? {
    getenv(environmentVariable).flatMap { InstructionSet(rawValue: String(cString: $0).lowercased()) }
  }

  private var rank: Int { InstructionSet.allCases.firstIndex(of: self)! }

  public static func < (a: InstructionSet, b: InstructionSet) -> Bool { a.rank < b.rank }
}
