"""Signed checkpoints: proof, kept outside the database, of how long the ledger was.

An unkeyed hash chain cannot reveal a forged tail or a rebuilt ledger to someone who
only has the database. A checkpoint — (origin, chain length, head hash), signed with a
lead's Ed25519 key that lives in a file, not in the database — can: any later ledger
must still hold that event at that position with that hash. The format is C2SP's
`tlog-checkpoint` in a `signed-note` (origin line, size, base64 root hash, blank line,
`— name base64(key id ‖ signature)`), so other tools and witnesses can read and
co-sign it; the signature is the `cryptography` package's Ed25519.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ED25519: Final = b"\x01"
"""The signature-type byte of Ed25519 keys in C2SP signed notes."""
_DASH: Final = "\u2014"
_REGISTER: Final = "register"


class CheckpointError(ValueError):
    """A key or checkpoint that cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """How long the ledger was and what its newest link was."""

    origin: str
    size: int
    head: str
    """Hex SHA-256 of event `size` (the genesis hash when size is 0)."""
    register: tuple[int, str] | None = None
    """(length, newest hash) of the incident register, when it has entries."""

    def body(self) -> str:
        """The note's text, exactly as signed.

        The register's head is an extension line (`register N base64`), which C2SP
        allows after the root hash: other readers of the format skip it, and a ledger
        without incidents signs exactly the three lines it always did.
        """
        root = base64.b64encode(bytes.fromhex(self.head)).decode()
        text = f"{self.origin}\n{self.size}\n{root}\n"
        if self.register is not None and self.register[0] > 0:
            length, head = self.register
            text += f"{_REGISTER} {length} {base64.b64encode(bytes.fromhex(head)).decode()}\n"
        return text


def origin_of(first_hash: str | None) -> str:
    """A ledger's name in its checkpoints, from its first event (stable for its life)."""
    return f"signoff ledger {first_hash[:16] if first_hash else 'empty'}"


def _key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public).digest()[:4]


def _check_name(name: str) -> str:
    if not name or any(c.isspace() or c == "+" for c in name) or not name.isprintable():
        raise CheckpointError(
            f"{name[:40]!r} cannot name a key: no spaces or '+', printable characters only"
        )
    return name


def generate_key(name: str) -> tuple[str, str]:
    """A new Ed25519 key: (private key text for a file, verifier key to publish)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    name = _check_name(name)
    private = Ed25519PrivateKey.generate()
    seed = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )  # fmt: skip
    key_id = _key_id(name, private.public_key().public_bytes_raw()).hex()
    secret = f"PRIVATE+KEY+{name}+{key_id}+{base64.b64encode(ED25519 + seed).decode()}"
    return secret, verifier_of(secret)


def _private(secret: str) -> tuple[str, Ed25519PrivateKey]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    parts = secret.strip().split("+", 4)  # base64 may hold "+": split the fields only
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise CheckpointError("not a signoff private key (PRIVATE+KEY+name+id+key)")
    name, raw = parts[2], _b64(parts[4], "the private key")
    if raw[:1] != ED25519 or len(raw) != 33:
        raise CheckpointError("the private key is not an Ed25519 key")
    return name, Ed25519PrivateKey.from_private_bytes(raw[1:])


def verifier_of(secret: str) -> str:
    """The verifier key that goes with a private key (to check one's own notes)."""
    name, private = _private(secret)
    public = private.public_key().public_bytes_raw()
    return f"{name}+{_key_id(name, public).hex()}+{base64.b64encode(ED25519 + public).decode()}"


def sign(checkpoint: Checkpoint, secret: str) -> str:
    """The checkpoint as a signed note.

    Raises:
        CheckpointError: `secret` is not a private key this module made.
    """
    name, private = _private(secret)
    public = private.public_key().public_bytes_raw()
    signature = private.sign(checkpoint.body().encode())
    line = base64.b64encode(_key_id(name, public) + signature).decode()
    return f"{checkpoint.body()}\n{_DASH} {name} {line}\n"


def open_note(note: str, verifier: str) -> Checkpoint:
    """The checkpoint in `note`, if `verifier`'s key signed it.

    Raises:
        CheckpointError: The note is malformed, or no valid signature by that key.
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    parts = verifier.strip().split("+", 2)
    if len(parts) != 3:
        raise CheckpointError("not a verifier key (name+id+key)")
    name, raw = parts[0], _b64(parts[2], "the verifier key")
    if raw[:1] != ED25519 or len(raw) != 33:
        raise CheckpointError("the verifier key is not an Ed25519 key")
    public = raw[1:]
    body, _, signatures = note.partition("\n\n")
    body += "\n"
    lines = body.splitlines()
    if len(lines) < 3 or not lines[1].isdigit():
        raise CheckpointError("not a checkpoint: origin, size and root hash lines expected")
    key = Ed25519PublicKey.from_public_bytes(public)
    for line in signatures.splitlines():
        fields = line.split(" ")
        if len(fields) != 3 or fields[0] != _DASH or fields[1] != name:
            continue
        signed = _b64(fields[2], "a signature")
        if signed[:4] != _key_id(name, public):
            continue
        try:
            key.verify(signed[4:], body.encode())
        except InvalidSignature:
            raise CheckpointError(f"the signature by {name} does not match the text") from None
        root = _b64(lines[2], "the root hash")
        return Checkpoint(lines[0], int(lines[1]), root.hex(), _register_line(lines[3:]))
    raise CheckpointError(f"no signature by {name} on this checkpoint")


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise CheckpointError(f"{what} is not valid base64") from None


def _register_line(extensions: list[str]) -> tuple[int, str] | None:
    for line in extensions:
        fields = line.split(" ")
        if fields[0] == _REGISTER:
            if len(fields) != 3 or not fields[1].isdigit():
                raise CheckpointError("the register line is not `register N hash`")
            return int(fields[1]), _b64(fields[2], "the register's hash").hex()
    return None
