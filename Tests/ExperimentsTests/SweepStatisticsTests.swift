import Experiments
import TensorCore
import XCTest

/// The sweep's statistics against values worked out by hand (Wilson: Brown, Cai and DasGupta
/// 2001, Table 1 style values at z = 1.96, to 3 decimals) and properties any bootstrap interval
/// must have; and the seed list's parsing.
final class SweepStatisticsTests: XCTestCase {
  func testWilsonIntervals() {
    func check(_ k: Int, _ n: Int, _ low: Double, _ high: Double) {
      let w = wilsonInterval(successes: k, trials: n)
      XCTAssertEqual(w[0], low, accuracy: 5e-4, "\(k)/\(n)")
      XCTAssertEqual(w[1], high, accuracy: 5e-4, "\(k)/\(n)")
    }
    check(0, 10, 0, 0.278)
    check(5, 10, 0.237, 0.763)
    check(10, 10, 0.722, 1)
    check(1, 10, 0.018, 0.404)
    XCTAssertEqual(wilsonInterval(successes: 0, trials: 0), [0, 1])
  }

  func testStatisticsAndASeededBootstrap() {
    let values = [0.020, 0.024, 0.022, 0.031, 0.019]
    var g = SeededGenerator(seed: 0, streamName: "sweep/bootstrap")
    let s = SeedStatistics(values, generator: &g)
    XCTAssertEqual(s.mean, 0.0232, accuracy: 1e-12)
    XCTAssertEqual(s.standardDeviation, 0.0047644516998286385, accuracy: 1e-12)  // sample sd, n − 1
    XCTAssertEqual([s.minimum, s.maximum], [0.019, 0.031])
    XCTAssertTrue(s.interval95[0] <= s.mean && s.mean <= s.interval95[1], "\(s.interval95)")
    XCTAssertTrue(s.interval95[0] >= s.minimum && s.interval95[1] <= s.maximum)
    var h = SeededGenerator(seed: 0, streamName: "sweep/bootstrap")
    XCTAssertEqual(SeedStatistics(values, generator: &h), s, "seeded: the same interval again")
    var one = SeededGenerator(seed: 0, streamName: "sweep/bootstrap")
    XCTAssertEqual(SeedStatistics([0.5], generator: &one).interval95, [0.5, 0.5])
  }

  func testSeedLists() throws {
    XCTAssertEqual(try Sweep.parseSeeds("0-3"), [0, 1, 2, 3])
    XCTAssertEqual(try Sweep.parseSeeds("1,4,7"), [1, 4, 7])
    XCTAssertEqual(try Sweep.parseSeeds("0-1,5"), [0, 1, 5])
    for bad in ["", "3-1", "a", "1,1", "0-", "-2"] {
      XCTAssertThrowsError(try Sweep.parseSeeds(bad), bad) { XCTAssertTrue("\($0)".contains("--seeds"), "\($0)") }
    }
  }
}
