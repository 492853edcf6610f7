# pragma version 0.4.3
# pragma evm-version paris
"""
@title CheckpointAnchor
@license Apache-2.0
@notice Anchors copyseal transparency-log checkpoints on an EVM chain: for a log origin
        (named by keccak256 of its C2SP origin line), a tree size and the 32-byte Merkle
        root at that size. One transaction covers every log entry since the previous
        anchor, so the cost per registration tends to zero.
@dev    EVM version "paris" (pinned above and in compile.py): the last fork before PUSH0
        (Shanghai) and MCOPY/TSTORE (Cancun). Consortium clients and chains that lag behind
        Ethereum mainnet often lack those opcodes, and this contract gains only a few gas
        from them, so it targets the widest set of chains.

        Gas: an anchor writes exactly one fresh storage slot (22,100 gas), the root under
        (origin, size): the read a verifier needs ("does the contract hold this root at this
        size?"). Everything else an anchor touches is one slot per origin, read once cold and
        written back warm (2,100 + 2,900 gas):
        - `_origins[origin_hash]` = anchorer << 64 | latest_size
        It holds both the growth check and the authorisation: the owner binds each origin to
        the one key allowed to anchor it, so no anchorer can anchor, or block with a huge
        size, another log's origin. The by-root read is served by the `Anchored` event, whose
        root and origin are indexed topics (eth_getLogs), not by storage.
"""

event Anchored:
    root: indexed(bytes32)
    origin_hash: indexed(bytes32)
    size: uint64

event AnchorerAuthorized:
    origin_hash: indexed(bytes32)
    anchorer: indexed(address)

event AnchorerRevoked:
    origin_hash: indexed(bytes32)
    anchorer: indexed(address)

event OwnershipTransferred:
    previous_owner: indexed(address)
    new_owner: indexed(address)

MASK64: constant(uint256) = 2**64 - 1

owner: public(address)

_origins: HashMap[bytes32, uint256]
_roots: HashMap[bytes32, HashMap[uint64, bytes32]]


@deploy
def __init__():
    self.owner = msg.sender
    log OwnershipTransferred(previous_owner=empty(address), new_owner=msg.sender)


@external
def authorize(origin_hash: bytes32, anchorer: address):
    """
    @notice Let `anchorer` (and no other key) anchor the log named by `origin_hash`.
    @dev    Replaces the origin's previous anchorer; its latest size is kept.
    """
    assert msg.sender == self.owner, "not the owner"
    assert origin_hash != empty(bytes32), "empty origin"
    assert anchorer != empty(address), "zero address"
    state: uint256 = self._origins[origin_hash]
    self._origins[origin_hash] = convert(anchorer, uint256) << 64 | state & MASK64
    log AnchorerAuthorized(origin_hash=origin_hash, anchorer=anchorer)


@external
def revoke(origin_hash: bytes32):
    """
    @notice Leave the log named by `origin_hash` without an anchorer; its latest size is kept.
    """
    assert msg.sender == self.owner, "not the owner"
    state: uint256 = self._origins[origin_hash]
    self._origins[origin_hash] = state & MASK64
    log AnchorerRevoked(origin_hash=origin_hash, anchorer=convert(state >> 64, address))


@external
def transfer_ownership(new_owner: address):
    assert msg.sender == self.owner, "not the owner"
    assert new_owner != empty(address), "zero address"
    log OwnershipTransferred(previous_owner=self.owner, new_owner=new_owner)
    self.owner = new_owner


@external
def anchor(origin_hash: bytes32, size: uint64, root: bytes32):
    """
    @notice Record that the log named by `origin_hash` had Merkle root `root` at `size`.
    @dev    Only the origin's anchorer may call; sizes per origin must strictly grow, so
            the (origin, size) slot written here is always a fresh one.
    """
    state: uint256 = self._origins[origin_hash]
    assert convert(state >> 64, address) == msg.sender, "not an anchorer"
    assert convert(size, uint256) > state & MASK64, "size must grow"
    assert root != empty(bytes32), "empty root"
    self._origins[origin_hash] = state & ~MASK64 | convert(size, uint256)
    self._roots[origin_hash][size] = root
    log Anchored(root=root, origin_hash=origin_hash, size=size)


@view
@external
def anchorer_of(origin_hash: bytes32) -> address:
    """
    @return The key allowed to anchor `origin_hash`, the zero address if none.
    """
    return convert(self._origins[origin_hash] >> 64, address)


@view
@external
def latest_size(origin_hash: bytes32) -> uint64:
    return convert(self._origins[origin_hash] & MASK64, uint64)


@view
@external
def root_at(origin_hash: bytes32, size: uint64) -> bytes32:
    """
    @return The root anchored for `origin_hash` at `size`, zero if none.
    """
    return self._roots[origin_hash][size]
