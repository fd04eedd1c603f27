"""Keep glibc from handing big freed buffers back to the kernel during a batch.

Signing a picture allocates a dozen arrays of a few MB (pixels, luma, the watermark's
planes, the filtered PNG rows). glibc serves allocations above its *mmap threshold*
(dynamic, from 128 KB) with fresh ``mmap`` pages and returns them on ``free``, and it
trims the top of the heap above 128 KB: each new array then costs page faults and the
kernel's zeroing of every page. Measured on 16 noisy 1024² PNGs signed with the
watermark: ~65,000 minor faults and 0.35 s of system time; with the thresholds below,
~27,000 and 0.18 s, and the batch's wall time falls by ~7 % (docs/performance.md).
Four 4096² pictures on two threads: 5.1 s → 3.9 s, and the peak RSS stays where it
was (1,060 MB without, 1,047 MB with a 128 MB trim threshold; 512 MB kept 1,321 MB).

:func:`keep_big_buffers` raises both thresholds for this process through glibc's
``mallopt``. It is for a batch command (``sign``, ``protect``): freed memory stays in the
process (up to :data:`TRIM_THRESHOLD`) instead of going back to the system, which a
long-running server should not do. Elsewhere (macOS, Windows, musl) it does nothing.
"""

from __future__ import annotations

import sys

#: Allocations below this come from the heap and are reused after ``free`` (bytes).
MMAP_THRESHOLD = 64 << 20
#: Free memory at the top of the heap kept for reuse instead of returned (bytes).
TRIM_THRESHOLD = 128 << 20
# <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def keep_big_buffers() -> bool:
    """Raise glibc's mmap and trim thresholds for this process; True when it did."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError):  # musl has no mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
