/// One object of an HDF5 file as `inspect` and `diff` see it.
public struct HDF5TreeObject: Encodable {
  /// The absolute path (`/state_dict/encoder.cnn.0.weight`).
  public var path: String
  /// `group`, `dataset` or `other`.
  public var kind: String
  public var shape: [Int]?
  public var type: String?
  /// Attribute values as text (for display and JSON).
  public var attributes: [String: String]
  /// Attribute values as read, for exact comparison (not encoded).
  public var attributeValues: [String: HDF5AttributeValue]
  /// What could not be read of this object (its members, an attribute, its shape), with why.
  public var problems: [String]

  enum CodingKeys: String, CodingKey {
    case path, kind, shape, type, attributes, problems
  }
}

/// A whole file's objects, depth first, members in name order, read as far as the file
/// allows: an object that cannot be read is recorded with the reason, never skipped silently.
public struct HDF5Tree {
  public var objects: [HDF5TreeObject]

  /// Every problem met, as `path: reason`.
  public var problems: [String] { objects.flatMap { o in o.problems.map { "\(o.path): \($0)" } } }

  /// Walks the open `file` from the root.
  public init(_ file: HDF5File) {
    objects = []
    visit(file, "/", kind: .group)
    // What an isolated read of an untrusted file left out (see `HDF5File.open`).
    objects[0].problems += file.damage.map { "not readable, left out: \($0)" }
  }

  private mutating func visit(_ file: HDF5File, _ path: String, kind: HDF5ObjectKind) {
    var object = HDF5TreeObject(
      path: path, kind: kind.rawValue, shape: nil, type: nil, attributes: [:], attributeValues: [:], problems: [])
    do {
      for name in try file.attributeNames(on: path) {
        do {
          let value = try file.attribute(name, on: path)
          object.attributeValues[name] = value
          object.attributes[name] = "\(value)"
        } catch {
          object.problems.append("attribute \(name): \(error)")
        }
      }
    } catch {
      if kind != .other { object.problems.append("attributes: \(error)") }
    }
    var members: [String] = []
    switch kind {
    case .group:
      do { members = try file.memberNames(of: path) } catch { object.problems.append("members: \(error)") }
    case .dataset:
      do {
        object.shape = try file.shape(of: path)
        object.type = try file.typeName(of: path)
      } catch {
        object.problems.append("\(error)")
      }
    case .other:
      break
    }
    objects.append(object)
    for name in members {
      let member = (path == "/" ? "" : path) + "/" + name
      do {
        visit(file, member, kind: try file.kind(of: member))
      } catch {
        objects.append(HDF5TreeObject(
          path: member, kind: "unreadable", shape: nil, type: nil, attributes: [:], attributeValues: [:],
          problems: ["\(error)"]))
      }
    }
  }
}
