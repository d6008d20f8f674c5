import ArgumentParser
import Checkpointing
import Foundation
import TensorCore

/// The `latentlab` command: reproducible research on small neural networks.
@main
struct LatentLab: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "latentlab",
    abstract: "Reproducible research on small neural networks (Fashion-MNIST autoencoders and friends).",
    discussion: """
      Every run is seeded and bit-reproducible. Data comes from the directory given by --data, \
      else $LATENTLAB_DATA, else /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist); \
      nothing is downloaded.

      Examples:
        latentlab reproduce --preset seed --out runs/seed
        latentlab data verify
        latentlab data verify --data ~/fashion-mnist
        latentlab train autoencoder --epochs 5 --out runs/ae
        latentlab train classifier --encoder runs/ae/checkpoint.h5
        latentlab evaluate runs/ae/checkpoint.h5
        latentlab inspect runs/ae/checkpoint.h5
        latentlab diff runs/ae/checkpoint.h5 golden.h5 --atol 1e-6
        latentlab generate runs/ae/checkpoint.h5 --grid 8x8
        latentlab embed runs/ae/checkpoint.h5 --method pca --out runs/ae/embedding
      """,
    version: LatentLabVersion.current,
    subcommands: [DataCommand.self, TrainCommand.self, EvaluateCommand.self, InspectCommand.self, DiffCommand.self,
      GenerateCommand.self, EmbedCommand.self, SearchCommand.self, WorkerCommand.self, TrialCommand.self, ExportCommand.self,
      ReproduceCommand.self, SweepCommand.self, FingerprintCommand.self,
    ]
  )

  /// Runs the command with the exit statuses the README documents: 0 success; 1 an error (for
  /// `diff`, files that differ; for `inspect`, a file that is not a valid checkpoint); 2 a
  /// damaged or unreadable file; 64 a usage error; 130 / 143 stopped by SIGINT / SIGTERM.
  static func main() {
    StopSignals.install()
    if let problem = InstructionSet.environmentProblem {
      FileHandle.standardError.write(Data("Error: \(problem)\n".utf8))
      Foundation.exit(64)
    }
    BLAS.ensureConfigured()
    var command: ParsableCommand
    do {
      command = try parseAsRoot()
    } catch {
      exit(withError: error)
    }
    do {
      try command.run()
    } catch let interrupted as Interrupted {
      var note = "\n\(interrupted)."
      if let continuable = command as? ContinuableCommand { note += " " + continuable.interruptionNote() }
      FileHandle.standardError.write(Data((note + "\n").utf8))
      Foundation.exit(interrupted.exitStatus)
    } catch where CheckpointError.isDamage(error) {
      FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
      Foundation.exit(2)
    } catch {
      exit(withError: error)
    }
  }
}
