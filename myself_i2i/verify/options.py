"""What to verify against."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from myself_i2i.keyring import Keyring


@dataclass
class VerifyOptions:
    """What to verify against. Build with keywords; every field has a safe default.

    ``key_token`` is the expected signer (the account's profile): it is authoritative, a
    token typed in the post never overrides it. Remote manifests named inside a file are
    never fetched unless ``fetch_remote`` is set (the CLI's ``--fetch-remote``; never on
    a server).
    """

    post_text: str | None = None
    key_token: str | None = None
    keyring: Keyring | None = None  #: default: the user's keyring
    against: Sequence[Path] = ()  #: the illustrator's originals to compare with
    repositories: Sequence[Any] = ()  #: manifest repositories for recovery
    use_default_repositories: bool = True
    include_thumbnails: bool = False
    check_metadata: bool = True
    fetch_remote: bool = False
    #: the user's own key token counts as trusted (default: the local identity's, if any)
    own_token: str | None = None
    use_own_identity: bool = True
