import CFlyvisShim
import CHDF5
import FlyvisMPI

#if canImport(Glibc)
import Glibc
#endif

/// A dense row-major array read from a dataset.
package struct HDF5Array<T> {
    package var values: [T]
    package var shape: [Int]
    package init(values: [T], shape: [Int]) {
        self.values = values
        self.shape = shape
    }
}
