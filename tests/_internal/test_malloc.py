"""glibc keeps big freed buffers for reuse after keep_big_buffers (a batch command)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from myself_i2i._internal import malloc

_FAULTS = """
import io, resource, sys
from myself_i2i._internal.pngdeflate import save_png
from myself_i2i.softbinding.watermark import embed
from myself_i2i.testing import photo_like
if sys.argv[1] == "keep":
    from myself_i2i._internal.malloc import keep_big_buffers
    assert keep_big_buffers()
img = photo_like(1024, 1024, seed=1)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(6):  # what signing a batch does: big temporary arrays, freed again
    save_png(embed(img, bytes(range(1, 9))), io.BytesIO())
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_big_temporary_arrays_stop_faulting_in_fresh_pages() -> None:
    def faults(mode: str) -> int:
        run = subprocess.run(
            [sys.executable, "-c", _FAULTS, mode], capture_output=True, text=True, check=True
        )
        return int(run.stdout)

    plain, kept = faults("plain"), faults("keep")
    # without it, every picture faults in its arrays' pages again
    assert kept < plain / 2, (plain, kept)


def test_it_is_a_no_op_off_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert malloc.keep_big_buffers() is False
