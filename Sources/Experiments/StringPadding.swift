extension String {
  /// The string right-aligned in `width` characters.
  public func leftPadded(_ width: Int) -> String {
    count >= width ? self : String(repeating: " ", count: width - count) + self
  }
}
