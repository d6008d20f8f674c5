/// The kinds of model the study trains (the checkpoint's `model` attribute).
public enum ModelKind: String, Codable, CaseIterable, Sendable {
  case autoencoder, vae, classifier
}
