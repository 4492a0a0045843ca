/// One tensor storage a pickle refers to (`data/<key>` in the archive).
package struct StorageReference: Equatable, Sendable {
    package var key: String
    package var dtype: TorchDType
    package var count: Int
}
