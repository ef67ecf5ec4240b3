"""Regenerate the example sign images (text drawn by Pillow on coloured backgrounds): python make_images.py"""

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

SIGNS = {
    "hospital.png": ("HOSPITAL", (200, 30, 40)),
    "pharmacy.png": ("PHARMACY", (20, 140, 60)),
    "exit.png": ("EXIT", (20, 110, 50)),
    "town_hall.png": ("TOWN HALL", (30, 60, 150)),
    "water.png": ("DRINKING WATER", (20, 120, 190)),
}


def draw(text: str, colour: tuple[int, int, int]) -> Image.Image:
    image = Image.new("RGB", (224, 112), colour)
    d = ImageDraw.Draw(image)
    d.rectangle((6, 6, 217, 105), outline=(255, 255, 255), width=3)
    font = ImageFont.load_default(size=22)
    box = d.textbbox((0, 0), text, font=font)
    w, h = box[2] - box[0], box[3] - box[1]
    d.text(((224 - w) / 2 - box[0], (112 - h) / 2 - box[1]), text, fill=(255, 255, 255), font=font)
    return image


if __name__ == "__main__":
    here = Path(__file__).parent
    for name, (text, colour) in SIGNS.items():
        draw(text, colour).save(here / name)
