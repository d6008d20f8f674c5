import Checkpointing
import Foundation
import HDF5
import TensorCore

/// The matrices and labels a user brings to `latentlab embed --input`.
public enum MatrixInput {
  /// Reads a matrix: `.npy` (2-D, any numeric dtype), `.csv` (one row per point, numbers
  /// separated by commas, an optional header line), or an HDF5 dataset as `file.h5:/path`.
  /// - Throws: `ExperimentError.invalid` naming the file, the line or dataset, and what was
  ///   expected; `NumPyArrayFileError` and `HDF5Error` from those readers.
  public static func readMatrix(_ spec: String) throws -> Tensor {
    if let range = spec.range(of: ".h5:") ?? spec.range(of: ".hdf5:") {
      let file = String(spec[..<range.lowerBound]) + String(spec[range.lowerBound..<range.upperBound].dropLast())
      let dataset = String(spec[range.upperBound...])
      let h5 = try HDF5File.open(path: file)
      defer { try? h5.close() }
      if let first = h5.damage.first {
        throw HDF5Error.callFailed(file: file, object: dataset, operation: "read", detail: "the file is damaged: \(first)")
      }
      let (values, shape) = try h5.readValues(dataset)
      guard shape.count == 2 else {
        throw ExperimentError.invalid("\(file):\(dataset): expected a 2-D dataset, found shape \(shape)")
      }
      let numbers: [Float]
      switch values {
      case .floats(let v): numbers = v.map(Float.init)
      case .signedIntegers(let v): numbers = v.map(Float.init)
      case .unsignedIntegers(let v): numbers = v.map(Float.init)
      default: throw ExperimentError.invalid("\(file):\(dataset): expected numbers, found another type")
      }
      return Tensor(shape: shape, scalars: numbers)
    }
    if spec.hasSuffix(".npy") {
      let array = try NumPyArray.read(path: spec)
      guard array.shape.count == 2 else {
        throw ExperimentError.invalid("\(spec): expected a 2-D array, found shape \(array.shape)")
      }
      return array.tensor()
    }
    let text = try readText(spec)
    var rows: [[Float]] = []
    for (number, line) in text.split(whereSeparator: \.isNewline).enumerated() {
      let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
      let values = fields.compactMap(Float.init)
      if values.count != fields.count {
        if number == 0 && rows.isEmpty { continue }  // a header
        throw ExperimentError.invalid(
          "\(spec): line \(number + 1): expected numbers separated by commas, found \"\(line.prefix(60))\"")
      }
      if let bad = values.firstIndex(where: { !$0.isFinite }) {
        throw ExperimentError.invalid("\(spec): line \(number + 1): value \(bad + 1) is \(values[bad]), expected a finite number")
      }
      if let first = rows.first, first.count != values.count {
        throw ExperimentError.invalid("\(spec): line \(number + 1): \(values.count) values, expected \(first.count) like the first row")
      }
      rows.append(values)
    }
    guard !rows.isEmpty else { throw ExperimentError.invalid("\(spec): no rows of numbers") }
    return Tensor(shape: [rows.count, rows[0].count], scalars: rows.flatMap { $0 })
  }

  /// Reads integer labels: a 1-D `.npy` of integers (or of whole numbers in floats), or a text
  /// file with one integer per line (an optional header line).
  public static func readLabels(_ path: String) throws -> [Int] {
    if path.hasSuffix(".npy") {
      let array = try NumPyArray.read(path: path)
      guard array.shape.count == 1 else { throw ExperimentError.invalid("\(path): expected a 1-D array, found shape \(array.shape)") }
      return try array.doubles().enumerated().map { index, value in
        // Int(_:) traps on NaN, infinities and values out of range: check first.
        guard value.rounded() == value, abs(value) < 1e15 else {
          throw ExperimentError.invalid("\(path): element \(index) is \(value), expected an integer label")
        }
        return Int(value)
      }
    }
    return try readText(path).split(whereSeparator: \.isNewline).enumerated().compactMap { number, line in
      let s = line.trimmingCharacters(in: .whitespaces)
      if s.isEmpty { return nil }
      guard let v = Int(s) else {
        if number == 0 { return nil }
        throw ExperimentError.invalid("\(path): line \(number + 1): expected an integer label, found \"\(s.prefix(40))\"")
      }
      return v
    }
  }

  private static func readText(_ path: String) throws -> String {
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
      throw ExperimentError.invalid("\(path): cannot read: \(error.localizedDescription)")
    }
    guard let text = String(data: data, encoding: .utf8) else {
      throw ExperimentError.invalid("\(path): not UTF-8 text")
    }
    return text
  }
}
