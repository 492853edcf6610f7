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

        Gas: every anchor writes two fresh storage slots (22,100 gas each: the root under
        (origin, size) and the record under the root), which with the 21,000 intrinsic
        gas is the floor of a contract that answers both reads. Everything else is packed:
        - `_origins[origin_hash]`  = origin_id << 64 | latest_size   (one slot per origin)
        - `_records[root]`         = origin_id << 192 | size << 128 | block << 64 | timestamp
        An origin gets a small id on its first anchor, so a record fits in one word.
        Reads return zeros for what was never anchored; the caller maps that to "not found".
"""

event Anchored:
    origin_hash: indexed(bytes32)
    root: indexed(bytes32)
    size: uint64

event AnchorerAuthorized:
    anchorer: indexed(address)

event AnchorerRevoked:
    anchorer: indexed(address)

event OwnershipTransferred:
    previous_owner: indexed(address)
    new_owner: indexed(address)

MASK64: constant(uint256) = 2**64 - 1

owner: public(address)
is_anchorer: public(HashMap[address, bool])
origin_count: public(uint64)
origin_hash_of: public(HashMap[uint64, bytes32])

_origins: HashMap[bytes32, uint256]
_roots: HashMap[bytes32, HashMap[uint64, bytes32]]
_records: HashMap[bytes32, uint256]


@deploy
def __init__():
    self.owner = msg.sender
    log OwnershipTransferred(previous_owner=empty(address), new_owner=msg.sender)


@external
def authorize(anchorer: address):
    assert msg.sender == self.owner, "not the owner"
    assert anchorer != empty(address), "zero address"
    self.is_anchorer[anchorer] = True
    log AnchorerAuthorized(anchorer=anchorer)


@external
def revoke(anchorer: address):
    assert msg.sender == self.owner, "not the owner"
    self.is_anchorer[anchorer] = False
    log AnchorerRevoked(anchorer=anchorer)


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
    @dev    Sizes per origin must strictly grow; a root is anchored at most once.
    """
    assert self.is_anchorer[msg.sender], "not an anchorer"
    assert origin_hash != empty(bytes32), "empty origin"
    assert root != empty(bytes32), "empty root"

    state: uint256 = self._origins[origin_hash]
    origin_id: uint256 = state >> 64
    if origin_id == 0:
        origin_id = convert(self.origin_count, uint256) + 1
        self.origin_count = convert(origin_id, uint64)
        self.origin_hash_of[convert(origin_id, uint64)] = origin_hash
    assert convert(size, uint256) > state & MASK64, "size must grow"
    assert self._records[root] == 0, "root already anchored"

    self._origins[origin_hash] = origin_id << 64 | convert(size, uint256)
    self._roots[origin_hash][size] = root
    self._records[root] = (
        origin_id << 192
        | convert(size, uint256) << 128
        | block.number << 64
        | block.timestamp
    )
    log Anchored(origin_hash=origin_hash, root=root, size=size)


@view
@external
def latest_size(origin_hash: bytes32) -> uint64:
    return convert(self._origins[origin_hash] & MASK64, uint64)


@view
@external
def root_at(origin_hash: bytes32, size: uint64) -> bytes32:
    return self._roots[origin_hash][size]


@view
@external
def anchored_by_root(root: bytes32) -> (bytes32, uint64, uint64, uint64):
    """
    @return (origin_hash, size, block_number, block_timestamp); all zero if never anchored.
    """
    record: uint256 = self._records[root]
    if record == 0:
        return empty(bytes32), 0, 0, 0
    origin_id: uint64 = convert(record >> 192, uint64)
    return (
        self.origin_hash_of[origin_id],
        convert((record >> 128) & MASK64, uint64),
        convert((record >> 64) & MASK64, uint64),
        convert(record & MASK64, uint64),
    )
