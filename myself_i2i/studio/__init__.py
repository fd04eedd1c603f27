"""The studio: a local page for people who do not use a terminal.

``myself-i2i studio`` serves it on 127.0.0.1 only, working with the user's own identity:
create the identity, protect artworks (drag and drop, download the protected copies),
make a grant for a key token, register one's own sources, and sign generated images
(t2i, sources from the registry, or with a grant). English and Japanese; nothing loaded
from elsewhere; a strict CSP; a per-run CSRF token (see :mod:`myself_i2i.studio.app`).

Needs the ``web`` extra, like the web verifier.
"""

from __future__ import annotations

from myself_i2i.web import require_web

require_web()

from myself_i2i.studio.app import (  # noqa: E402
    StudioConfig,
    check_loopback,
    create_studio_app,
    serve_studio,
)

__all__ = ["StudioConfig", "check_loopback", "create_studio_app", "serve_studio"]
