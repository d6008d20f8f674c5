import ArgumentParser
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
        latentlab data verify
        latentlab data verify --data ~/fashion-mnist
        latentlab train autoencoder --epochs 5 --out runs/ae
        latentlab train classifier --subset 6000
      """,
    version: LatentLabVersion.current,
    subcommands: [DataCommand.self, TrainCommand.self]
  )
}
