import FlyvisBase
import FlyvisHex
import FlyvisNetwork
import FlyvisRandom
import Foundation

/// One layer of the decoder's sequential stacks, with the buffers its backward needs.
enum DecoderLayer {
    case conv(HexConv)
    case batchNorm(BatchNorm)
    case activation(DecoderConfig.ActivationKind)
    case dropout(Double)

    var phaseName: String {
        switch self {
        case .conv: "conv"
        case .batchNorm: "batchnorm"
        case .activation: "activation"
        case .dropout: "dropout"
        }
    }
}
