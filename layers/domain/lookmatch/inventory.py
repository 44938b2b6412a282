"""The retailer's inventory: the catalog CSV, its validation, and the import into the stack.

Catalog CSV (UTF-8, a header line, one item per line; the columns in any order):

| column   | what                                                                       |
|----------|----------------------------------------------------------------------------|
| sku      | unique id: letters, digits, `-` and `_` (1-64 characters)                  |
| name     | shown to the shopper (1-120 characters)                                    |
| category | a contract label: upper (t-shirt, shirt, sweater, outerwear, top), lower   |
|          | (pants, jeans, shorts, skirt) or whole (dress, jumpsuit); never separates  |
| gender   | female, male or unisex                                                     |
| price    | a positive decimal, e.g. 29.90                                             |
| currency | ISO 4217 code, e.g. EUR                                                    |
| stock    | units in stock, an integer >= 0 (0: kept, never recommended)               |
| image    | the item's photo, a path relative to the images folder (JPEG, PNG, WebP)   |

Other columns (the demo catalog's `source`, say) are ignored.

`import_catalog` validates every row first (all errors at once, each naming its line) and writes
nothing unless the whole file is valid. It then embeds each photo with the garment model, takes
its dominant colour, stores the photo as `inventory/{sku}.jpg` and the item under its sku: importing
again updates the items in place (idempotent). Each item records which garment model embedded it
(`embedding_model`): after a model update, import the catalog again (recommend ranks an item
embedded by another model by colour alone). Storage goes through the ports below; the boto3
adapters live in `lookmatch.aws`.
"""
from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .contract import LOWER, UPPER, Colour

# Item categories: every garment label of the contract except `separates` (not a garment).
ITEM_CATEGORIES = UPPER + LOWER + ("dress", "jumpsuit")
ITEM_GENDERS = ("female", "male", "unisex")
UPLOAD_THREADS = 4  # photo uploads overlap the embedding of the next photos
COLUMNS = ("sku", "name", "category", "gender", "price", "currency", "stock", "image")


class CatalogError(ValueError):
    """The catalog cannot be imported; the message lists every problem with its line number."""


class CatalogRow(BaseModel):
    """One validated line of the catalog CSV."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    sku: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    name: str = Field(min_length=1, max_length=120)
    category: Literal[ITEM_CATEGORIES]  # type: ignore[valid-type]
    gender: Literal[ITEM_GENDERS]  # type: ignore[valid-type]
    price: Decimal = Field(gt=0, max_digits=10, decimal_places=2)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    stock: int = Field(ge=0)
    image: str = Field(min_length=1)

    @field_validator("image")
    @classmethod
    def _relative(cls, value: str) -> str:
        if Path(value).is_absolute() or ".." in Path(value).parts:
            raise ValueError("must be a path inside the images folder")
        return value


class InventoryItem(BaseModel):
    """An item as stored in the Inventory table (the embedding as a float list here)."""

    sku: str
    name: str
    category: str
    gender: str
    price: Decimal
    currency: str
    stock: int
    image_key: str
    embedding: list[float]
    colour: Colour
    embedding_model: str | None = None  # GarmentModel.fingerprint; None: imported before it was kept

    @property
    def gender_category(self) -> str:
        """The GSI key: the table is queried by gender and category without a scan."""
        return gender_category(self.gender, self.category)


def gender_category(gender: str, category: str) -> str:
    return f"{gender}#{category}"


def image_key(sku: str) -> str:
    return f"inventory/{sku}.jpg"


# --- ports: what the import needs; lookmatch.aws adapts them to DynamoDB and S3 -------------------
class Embedder(Protocol):
    """The garment model's embedding of a product photo (L2-normalised float vector), and which
    model it is (`fingerprint`: embeddings of different models do not compare)."""

    fingerprint: str

    def embed(self, rgb: np.ndarray) -> np.ndarray: ...


class ColourReader(Protocol):
    def __call__(self, rgb: np.ndarray) -> Colour: ...


class InventoryPort(Protocol):
    def put_items(self, items: list[InventoryItem]) -> None: ...


class ImageStore(Protocol):
    def put_bytes(self, key: str, data: bytes, content_type: str) -> None: ...


# --- reading and validating the CSV ---------------------------------------------------------------
def read_catalog(csv_path: str | Path, images_dir: str | Path) -> list[CatalogRow]:
    """All rows of the catalog, validated; CatalogError lists every bad line (line 1 = header)."""
    csv_path, images_dir = Path(csv_path), Path(images_dir)
    try:
        text = csv_path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{csv_path}: cannot read the catalog: {exc}") from exc
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise CatalogError(f"{csv_path}: line 1: missing column(s) {', '.join(missing)}; "
                           f"expected {','.join(COLUMNS)}")
    rows, errors, seen = [], [], {}
    for record in reader:
        line = reader.line_num
        try:
            row = CatalogRow.model_validate({c: record[c] for c in COLUMNS})
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            errors.append(f"{csv_path}: line {line}: {problems}")
            continue
        if row.sku in seen:
            errors.append(f"{csv_path}: line {line}: sku {row.sku} already on line {seen[row.sku]}")
            continue
        if not (images_dir / row.image).is_file():
            errors.append(f"{csv_path}: line {line}: image {images_dir / row.image} not found")
            continue
        seen[row.sku] = line
        rows.append(row)
    if errors:
        raise CatalogError(f"{len(errors)} bad line(s) in the catalog:\n" + "\n".join(errors))
    if not rows:
        raise CatalogError(f"{csv_path}: the catalog has no items")
    return rows


# --- the import -----------------------------------------------------------------------------------
def import_catalog(csv_path: str | Path, images_dir: str | Path, embedder: Embedder,
                   inventory_port: InventoryPort, image_store: ImageStore, progress: bool = True,
                   colour_of: ColourReader | None = None) -> list[InventoryItem]:
    """Validate the catalog, then embed, store and upsert every item; returns the items written.

    Idempotent: the photo key and the table key derive from the sku, so importing again
    overwrites them (an item removed from the CSV is not deleted: set its stock to 0).
    `colour_of` defaults to the garment colour reader of `lookmatch.colour`.
    Photos upload in the background while the next ones are embedded; the items are written in
    batches once every photo is stored, so a failure leaves no item pointing at a missing photo.
    """
    from concurrent.futures import ThreadPoolExecutor

    from tqdm import tqdm

    from .images import load_image

    if colour_of is None:
        from .colour import dominant_colour as colour_of
    rows = read_catalog(csv_path, images_dir)
    images_dir = Path(images_dir)
    items = []
    with ThreadPoolExecutor(max_workers=UPLOAD_THREADS) as uploads:
        stored = []
        for row in tqdm(rows, desc="importing catalog", unit="item", disable=not progress):
            path = images_dir / row.image
            try:
                rgb = load_image(path)
            except ValueError as exc:
                raise CatalogError(f"sku {row.sku}: {exc}") from exc
            embedding = np.asarray(embedder.embed(rgb), dtype=np.float32).ravel()
            if embedding.size == 0 or not np.isfinite(embedding).all():
                raise CatalogError(f"sku {row.sku}: the garment model gave no usable embedding for {path}")
            item = InventoryItem(sku=row.sku, name=row.name, category=row.category, gender=row.gender,
                                 price=row.price, currency=row.currency, stock=row.stock,
                                 image_key=image_key(row.sku), embedding=embedding.tolist(),
                                 colour=colour_of(rgb), embedding_model=embedder.fingerprint)
            stored.append(uploads.submit(image_store.put_bytes, item.image_key, _jpeg_bytes(path, rgb),
                                         "image/jpeg"))
            items.append(item)
        for upload in stored:
            upload.result()  # re-raises the first failed upload
    inventory_port.put_items(items)
    return items


def _jpeg_bytes(path: Path, rgb: np.ndarray) -> bytes:
    """The file itself when it is a JPEG already; otherwise the decoded pixels re-encoded."""
    data = path.read_bytes()
    if data[:3] == b"\xff\xd8\xff":
        return data
    from .images import encode_jpeg  # here, not at the top: the API function has no OpenCV

    return encode_jpeg(rgb, quality=90)
