/// Tables and text as the reports write them (Markdown and HTML).
enum ReportTables {
  /// A Markdown table.
  static func markdown(_ header: [String], _ rows: [[String]]) -> String {
    (["| " + header.joined(separator: " | ") + " |", "|" + String(repeating: " --- |", count: header.count)]
      + rows.map { "| " + $0.joined(separator: " | ") + " |" }).joined(separator: "\n")
  }

  /// An HTML table, every cell escaped.
  static func html(_ header: [String], _ rows: [[String]]) -> String {
    "<table><tr>" + header.map { "<th>\(escape($0))</th>" }.joined() + "</tr>"
      + rows.map { "<tr>" + $0.map { "<td>\(escape($0))</td>" }.joined() + "</tr>" }.joined() + "</table>\n"
  }

  /// Text safe inside HTML elements and attribute values.
  static func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
      .replacingOccurrences(of: "\"", with: "&quot;")
  }
}
