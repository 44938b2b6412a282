"""The label contract of DESIGN.md: exactly these strings, and the per-photo prediction."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

GENDERS = ("female", "male")
UPPER = ("t-shirt", "shirt", "sweater", "outerwear", "top")
LOWER = ("pants", "jeans", "shorts", "skirt")
WHOLE = ("dress", "jumpsuit", "separates")
GARMENT_LABELS: dict[str, tuple[str, ...]] = {"upper": UPPER, "lower": LOWER, "whole": WHOLE}
GARMENT_REGIONS = tuple(GARMENT_LABELS)


class Labelled(BaseModel):
    model_config = ConfigDict(frozen=True)
    label: str
    score: float


class Colour(BaseModel):
    """A garment's colour: a palette name and the measured sRGB hex (lookmatch.colour measures it)."""

    model_config = ConfigDict(frozen=True)
    name: str
    hex: str = Field(pattern=r"^#[0-9a-fA-F]{6}$")


class Prediction(BaseModel):
    """One line of `lookmatch predict`: the main person of one photo.

    A region that is not in the picture is None (null); `person` is False when nobody is found.
    `error` is set (and everything else empty) when the file could not be read.
    """

    image: str
    person: bool = False
    gender: Labelled | None = None
    upper: Labelled | None = None
    lower: Labelled | None = None
    whole: Labelled | None = None
    error: str | None = None

    def to_json_line(self) -> str:
        """The contract's JSON object; `error` appears only on a line that failed."""
        return self.model_dump_json(exclude={"error"} if self.error is None else None)
