import NN
import TensorCore

/// The architecture of the seed study's convolutional autoencoder (and of the VAE's encoder
/// and decoder).
///
/// Encoder: `Conv2d(1, c1, 3, stride 2, padding 1)`, ReLU, `Conv2d(c1, c2, 3, 2, 1)`, ReLU,
/// `Conv2d(c2, c3, 3, 2, conv3Padding)`, ReLU, flatten, `Linear(c3·s·s, hidden)`, ReLU,
/// `Linear(hidden, latent)`, where `s` is 4 for conv-3 padding 1 and 3 for padding 0. The decoder
/// mirrors it with transposed convolutions whose `output_padding` is chosen so that every size
/// is restored exactly (28 → 14 → 7 → s → 7 → 14 → 28), then a sigmoid.
/// The seed report writes conv 3's padding as "01"; both values are allowed.
public struct AutoencoderConfig: Codable, Equatable, Sendable {
  /// Channels of conv 1, 2 and 3 (the report's N_C1, N_C2, N_C3).
  public var channels: [Int]
  /// Width of the dense hidden layer (N_H1).
  public var hidden: Int
  /// Size of the latent space (L).
  public var latent: Int
  /// Padding of conv 3: 0 or 1.
  public var conv3Padding: Int
  /// The output activation: `sigmoid` (pixels in [0, 1]).
  public var outputActivation: String

  /// The seed study's best configuration: 8, 17, 32 channels, 69 hidden, latent 4, conv-3
  /// padding 1, sigmoid output.
  public static let seed = AutoencoderConfig(channels: [8, 17, 32], hidden: 69, latent: 4, conv3Padding: 1)

  public init(channels: [Int], hidden: Int, latent: Int, conv3Padding: Int = 1, outputActivation: String = "sigmoid") {
    self.channels = channels
    self.hidden = hidden
    self.latent = latent
    self.conv3Padding = conv3Padding
    self.outputActivation = outputActivation
  }

  /// The image side the model reads and writes.
  public static let imageSide = 28

  /// The spatial sizes through the encoder: `[28, 14, 7, s]`.
  public var encoderSizes: [Int] {
    var sizes = [AutoencoderConfig.imageSide]
    for padding in [1, 1, conv3Padding] { sizes.append((sizes.last! + 2 * padding - 3) / 2 + 1) }
    return sizes
  }

  /// Features after the convolutions: `c3 · s · s`.
  public var flattenedFeatures: Int { channels[2] * encoderSizes[3] * encoderSizes[3] }

  /// The `output_padding` of each decoder transposed convolution (deconv 3, 2, 1), chosen so
  /// that it restores the matching encoder size exactly.
  /// - Throws: `ModelError.invalidConfiguration` when no `output_padding` in `0..<stride` can.
  public func decoderOutputPaddings() throws -> [Int] {
    let sizes = encoderSizes
    var paddings: [Int] = []
    for (layer, padding) in zip([3, 2, 1], [conv3Padding, 1, 1]) {
      let input = sizes[layer]
      let target = sizes[layer - 1]
      let op = target - ((input - 1) * 2 - 2 * padding + 3)
      guard op >= 0, op < 2 else {
        throw ModelError.invalidConfiguration(
          model: "autoencoder", field: "conv3Padding", value: "\(conv3Padding)",
          expected: "a padding whose decoder restores \(target)x\(target) from \(input)x\(input)")
      }
      paddings.append(op)
    }
    return paddings
  }

  /// Checks every field.
  /// - Throws: `ModelError.invalidConfiguration` naming the field, its value and what is allowed.
  public func validate(model: String = "autoencoder") throws {
    guard channels.count == 3 else {
      throw ModelError.invalidConfiguration(
        model: model, field: "channels", value: "\(channels)", expected: "three channel counts (conv 1, 2, 3)")
    }
    for (i, c) in channels.enumerated() where c < 1 || c > 4096 {
      throw ModelError.invalidConfiguration(model: model, field: "channels[\(i)]", value: "\(c)", expected: "1...4096")
    }
    guard hidden >= 1, hidden <= 65536 else {
      throw ModelError.invalidConfiguration(model: model, field: "hidden", value: "\(hidden)", expected: "1...65536")
    }
    guard latent >= 1, latent <= 4096 else {
      throw ModelError.invalidConfiguration(model: model, field: "latent", value: "\(latent)", expected: "1...4096")
    }
    guard conv3Padding == 0 || conv3Padding == 1 else {
      throw ModelError.invalidConfiguration(model: model, field: "conv3Padding", value: "\(conv3Padding)", expected: "0 or 1")
    }
    guard outputActivation == "sigmoid" else {
      throw ModelError.invalidConfiguration(
        model: model, field: "outputActivation", value: "\"\(outputActivation)\"", expected: "\"sigmoid\"")
    }
    _ = try decoderOutputPaddings()
  }
}
