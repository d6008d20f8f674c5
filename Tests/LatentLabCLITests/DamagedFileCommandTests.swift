import Foundation
import TestSupport
import XCTest

/// `diff`, `inspect` and `evaluate` on damaged and invalid files, through the built binary.
/// Files are damaged and edited with h5py (an independent HDF5 implementation's view of where
/// each dataset's bytes are); the oracle is the exit status the README documents and the
/// message naming what is wrong.
final class DamagedFileCommandTests: LatentLabCommandTestCase {
  var checkpoint: String { directory + "/run/checkpoint.h5" }

  override func setUpWithError() throws {
    try super.setUpWithError()
    guard (try? python("import h5py, numpy").status) == 0 else { throw XCTSkip("python3 with h5py (make test installs it)") }
    let trained = try runLatentLab(
      ["train", "autoencoder", "--subset", "600", "--epochs", "2", "--seed", "3", "--out", directory + "/run"])
    XCTAssertEqual(trained.status, 0, trained.stderr)
  }

  @discardableResult
  func python(_ code: String) throws -> ChildProcessResult { try runChildProcess("python3", ["-c", code]) }

  /// A copy of the checkpoint with one byte flipped inside the stored data of `dataset`
  /// (found by h5py), optionally without its seal.
  func flipped(in dataset: String, sealed: Bool, name: String) throws -> String {
    let copy = directory + "/" + name
    let r = try python("""
      import h5py, shutil
      with h5py.File('\(checkpoint)', 'r') as f:
          d = f['\(dataset)']
          offset = d.id.get_chunk_info(0).byte_offset if d.chunks else d.id.get_offset()
      data = bytearray(open('\(checkpoint)', 'rb').read())
      data[offset + 3] ^= 0x40
      if not \(sealed ? "True" : "False"):
          data[:512] = bytes(512)
      open('\(copy)', 'wb').write(data)
      """)
    XCTAssertEqual(r.status, 0, r.output)
    return copy
  }

  func testDiffNeverAgreesOnWhatItCouldNotRead() throws {
    for dataset in ["/state_dict/encoder.cnn.2.weight", "/optimizer/decoder.lin.0.weight/exp_avg", "/history/train_loss"] {
      for sealed in [true, false] {
        let copy = try flipped(in: dataset, sealed: sealed, name: "flip.h5")
        let r = try runLatentLab(["diff", copy, checkpoint])
        XCTAssertEqual(r.status, 2, "\(dataset) sealed \(sealed): \(r.stdout)")
        XCTAssertFalse(r.stdout.contains("agree"), r.stdout)
        XCTAssertTrue(r.stdout.contains("could not be read"), r.stdout)
        // The seal catches it first; without the seal, the dataset's own checksum does.
        XCTAssertTrue(r.stdout.contains(sealed ? "the file is damaged: the SHA-256" : "\(dataset): read (a checksum failure"), r.stdout)
        let inspect = try runLatentLab(["inspect", copy])
        XCTAssertEqual(inspect.status, 2, inspect.stdout)
        let evaluate = try runLatentLab(["evaluate", copy])
        XCTAssertEqual(evaluate.status, 2, evaluate.stderr)
        XCTAssertTrue(evaluate.stderr.contains(copy), evaluate.stderr)
      }
    }

    let bytes = try Data(contentsOf: URL(fileURLWithPath: checkpoint))
    try bytes.prefix(bytes.count * 2 / 3).write(to: URL(fileURLWithPath: directory + "/cut.h5"))
    let cut = try runLatentLab(["diff", checkpoint, directory + "/cut.h5"])
    XCTAssertEqual(cut.status, 2, cut.stdout)
    XCTAssertTrue(cut.stdout.contains("truncated or extended"), cut.stdout)

    // Two files that differ only in a string dataset, and one only in an integer by 1.
    let r = try python("""
      import h5py, numpy as np
      for name, text, count in [('s1.h5', 'alpha', 7), ('s2.h5', 'alphb', 7), ('s3.h5', 'alpha', 8)]:
          with h5py.File('\(directory!)/' + name, 'w') as f:
              f['notes'] = np.array([text.encode(), b'same'], dtype=h5py.string_dtype())
              f['count'] = np.array([2**62 + count], dtype=np.int64)
      """)
    XCTAssertEqual(r.status, 0, r.output)
    let strings = try runLatentLab(["diff", directory + "/s1.h5", directory + "/s2.h5"])
    XCTAssertEqual(strings.status, 1, strings.stdout)
    XCTAssertTrue(strings.stdout.contains("/notes: 1 of 2 elements differ (compared exactly); first at index 0 (\"alpha\" vs \"alphb\")"), strings.stdout)
    // 2^62 + 7 and 2^62 + 8 are the same Double: integers are compared as integers.
    let integers = try runLatentLab(["diff", directory + "/s1.h5", directory + "/s3.h5", "--atol", "0.5"])
    XCTAssertEqual(integers.status, 1, integers.stdout)
    XCTAssertTrue(integers.stdout.contains("/count: 1 of 1 elements differ"), integers.stdout)
    let same = try runLatentLab(["diff", directory + "/s1.h5", directory + "/s1.h5"])
    XCTAssertEqual(same.status, 0, same.stdout)
  }

  func testInspectExitStatusFollowsItsVerdict() throws {
    // Each edit made with h5py, the seal then removed (as a file from another writer).
    let edits: [(name: String, code: String, mentions: String)] = [
      ("missing", "del f['state_dict/encoder.cnn.0.bias']", "encoder.cnn.0.bias: missing"),
      ("shape", "del f['state_dict/encoder.cnn.0.bias']; f['state_dict/encoder.cnn.0.bias'] = np.zeros(3, 'f4')",
       "encoder.cnn.0.bias: shape [3], expected [8]"),
      ("dtype", "v = f['state_dict/encoder.cnn.0.bias'][:]; del f['state_dict/encoder.cnn.0.bias']; f['state_dict/encoder.cnn.0.bias'] = v.astype('f8')",
       "expected float32, found float64"),
      ("version", "f.attrs['format_version'] = np.int64(99)", "format_version 99"),
      ("model", "f.attrs['model'] = 'gan'", "\"gan\", expected autoencoder, vae or classifier"),
      ("format", "del f.attrs['format']", "root attribute format is missing"),
    ]
    for edit in edits {
      let copy = directory + "/\(edit.name).h5"
      let r = try python("""
        import h5py, numpy as np, shutil
        shutil.copy('\(checkpoint)', '\(copy)')
        with h5py.File('\(copy)', 'r+') as f:
            \(edit.code)
        data = bytearray(open('\(copy)', 'rb').read()); data[:512] = bytes(512); open('\(copy)', 'wb').write(data)
        """)
      XCTAssertEqual(r.status, 0, r.output)
      let inspect = try runLatentLab(["inspect", copy])
      XCTAssertEqual(inspect.status, 1, "\(edit.name): \(inspect.stdout)")
      XCTAssertTrue(inspect.stdout.contains(edit.mentions), "\(edit.name): \(inspect.stdout)")
      XCTAssertTrue(inspect.stdout.contains("\n  state_dict/\n"), "the tree is printed: \(inspect.stdout)")
    }
    // Edited but still sealed: damaged (2), whatever the edit.
    let edited = directory + "/edited.h5"
    try FileManager.default.copyItem(atPath: checkpoint, toPath: edited)
    XCTAssertEqual(try python("import h5py\nwith h5py.File('\(edited)', 'r+') as f: f.attrs['note'] = 'x'").status, 0)
    XCTAssertEqual(try runLatentLab(["inspect", edited]).status, 2)

    // --json: the verdict and every problem, not only the first.
    let both = directory + "/both.h5"
    XCTAssertEqual(try python("""
      import h5py, numpy as np, shutil
      shutil.copy('\(checkpoint)', '\(both)')
      with h5py.File('\(both)', 'r+') as f:
          del f['state_dict/encoder.cnn.0.bias']
          f.attrs['seed'] = 'not a number'
      data = bytearray(open('\(both)', 'rb').read()); data[:512] = bytes(512); open('\(both)', 'wb').write(data)
      """).status, 0)
    let json = try runLatentLab(["inspect", both, "--json"])
    XCTAssertEqual(json.status, 1, json.stdout)
    let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
    XCTAssertEqual(report["verdict"] as? String, "invalid")
    let problems = try XCTUnwrap(report["problems"] as? [String])
    XCTAssertTrue(problems.contains { $0.contains("encoder.cnn.0.bias: missing") }, "\(problems)")
    XCTAssertTrue(problems.contains { $0.contains("attribute seed: expected an integer") }, "\(problems)")

    let notHDF5 = directory + "/text.h5"
    try "plain text".write(toFile: notHDF5, atomically: true, encoding: .utf8)
    XCTAssertEqual(try runLatentLab(["inspect", notHDF5]).status, 2)
    XCTAssertEqual(try runLatentLab(["inspect", directory + "/absent.h5"]).status, 2)
  }
}
