package struct PickleEntry: Equatable, Sendable {
    package var key: PickleValue
    package var value: PickleValue
    package init(_ key: PickleValue, _ value: PickleValue) {
        self.key = key
        self.value = value
    }
}
