"""Re-create the small example images in examples/ (already committed; run to regenerate).

- my_drawing.png    — "my own drawing", the i2i source
- t2i_output.png    — a text-to-image output with A1111 txt2img + Hires fix metadata
- i2i_output.png    — an img2img output made from my_drawing.png, with A1111 img2img metadata
- someone_elses.png — a picture by someone else (not registered: must be refused as a source)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter
from PIL.PngImagePlugin import PngInfo

from myself_i2i.testing import illustration

HERE = Path(__file__).resolve().parent

T2I = (
    "1girl, cherry blossoms, school uniform, masterpiece\n"
    "Negative prompt: lowres, bad anatomy\n"
    "Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 1234, "
    "Size: 512x512, Model hash: 6ce0161689, Model: animagine-xl-3.1, Denoising strength: 0.4, "
    "Hires upscale: 2, Hires steps: 10, Hires upscaler: R-ESRGAN 4x+ Anime6B, "
    'Lora hashes: "flat_color: 1a2b3c4d5e6f", Version: v1.10.1'
)
I2I = (
    "1girl, watercolor, <lora:flat_color:0.7>\n"
    "Negative prompt: lowres\n"
    "Steps: 30, Sampler: Euler a, CFG scale: 6, Seed: 42, Size: 512x512, Model hash: 6ce0161689, "
    'Model: animagine-xl-3.1, Denoising strength: 0.55, Lora hashes: "flat_color: 1a2b3c4d5e6f", '
    "Version: v1.10.1"
)


def main() -> None:
    drawing = illustration(512, 512, seed=11)
    drawing.save(HERE / "my_drawing.png", optimize=True)
    info = PngInfo()
    info.add_text("parameters", T2I)
    illustration(512, 512, seed=21).save(HERE / "t2i_output.png", pnginfo=info, optimize=True)
    # an "i2i" result: the drawing recoloured and softened, same composition
    arr = np.asarray(drawing, np.float32)[..., [2, 0, 1]] * 0.9 + 20
    i2i = Image.fromarray(arr.clip(0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.2))
    info = PngInfo()
    info.add_text("parameters", I2I)
    i2i.save(HERE / "i2i_output.png", pnginfo=info, optimize=True)
    illustration(512, 512, seed=31).save(HERE / "someone_elses.png", optimize=True)


if __name__ == "__main__":
    main()
