import Experiments
import Models
import XCTest

/// `Preset.seed` is the seed report's protocol (`../shared/seed/homework1-report.md`, as the
/// README's reproduction section quotes it); `quick` changes only its sizes.
final class PresetTests: XCTestCase {
  func testTheSeedPresetIsTheSeedReportsProtocol() {
    let p = Preset.seed
    XCTAssertNil(p.subset)
    XCTAssertEqual([p.search.trials, p.search.folds, p.search.epochs, p.search.batchSize], [10, 3, 5, 250])
    XCTAssertEqual(p.search.space, .seed)
    XCTAssertEqual(p.autoencoder.optimizer, OptimizerSettings(kind: "adam", learningRate: 3e-3, weightDecay: 1e-4))
    XCTAssertEqual([p.autoencoder.epochs, p.autoencoder.batchSize], [5, 250])
    XCTAssertEqual(p.classifier.optimizer, OptimizerSettings(kind: "adam", learningRate: 1e-3, weightDecay: 1e-5))
    XCTAssertEqual([p.classifier.epochs, p.classifier.batchSize], [20, 250])
    XCTAssertEqual(p.classifier.headWidths, [30, 60])
    XCTAssertEqual(p.classifier.validationFraction, 0.1)
    XCTAssertEqual([p.vae.epochs, p.vae.batchSize], [20, 2000])
    XCTAssertEqual(p.vae.loss, VAELossSettings(beta: 1, klDivisor: 784))
    XCTAssertEqual(p.embedding.tsnePoints, 60_000, "all the training codes, as the seed report")
    XCTAssertEqual(p.embedding.tsneAlgorithm, .auto)
    XCTAssertEqual(p.embedding.perplexity, 30)
    XCTAssertEqual(SeedReport.optimizer, p.autoencoder.optimizer)
    XCTAssertEqual(SeedReport.configuration, .seed)
  }

  func testQuickChangesOnlyTheSizes() {
    var quick = Preset.quick
    XCTAssertEqual(quick.subset, 6000)
    // With its sizes set back, it is the seed preset.
    quick.name = "seed"
    quick.subset = nil
    (quick.search.trials, quick.search.epochs) = (10, 5)
    quick.autoencoder.epochs = 5
    quick.classifier.epochs = 20
    (quick.vae.epochs, quick.vae.batchSize) = (20, 2000)
    (quick.embedding.tsnePoints, quick.embedding.tsneIterations) = (60_000, 1000)
    XCTAssertEqual(quick, .seed)
  }

  func testStudySettingsComeFromThePreset() throws {
    let s = StudySettings(preset: .quick, seed: 7)
    XCTAssertEqual([s.trials, s.folds, s.epochs, s.batchSize], [3, 3, 2, 250])
    XCTAssertEqual(s.subset, 6000)
    XCTAssertEqual(s.seed, 7)
    XCTAssertEqual(try Preset.named("quick"), .quick)
    XCTAssertThrowsError(try Preset.named("fast")) { XCTAssertTrue("\($0)".contains("expected seed or quick"), "\($0)") }
  }
}
