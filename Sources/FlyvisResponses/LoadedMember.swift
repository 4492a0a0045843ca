import FlyvisNetwork

/// The one member network a rank holds: loaded on demand, kept until another member is asked
/// for. A class because the stimulus sets share it.
final class LoadedMember {
    private var current: (index: Int, network: Network)?

    /// Member `index`'s network, read from its checkpoint unless it is the one held.
    func network(_ members: [ResponsesMember], _ index: Int, threads: Int) throws -> Network {
        if let current, current.index == index { return current.network }
        current = nil  // the old network goes before the new one is read
        let network = try members[index].network(threads: threads).network
        current = (index, network)
        return network
    }
}
