"""Catalog validation and import: in-memory fakes for the logic, moto for the real adapters."""
from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import boto3
import numpy as np
import pytest
from moto import mock_aws
from PIL import Image

from lookmatch.inventory import COLUMNS, CatalogError, import_catalog, read_catalog

ROOT = Path(__file__).resolve().parents[1]
GOOD = [
    {"sku": "W-SKIRT-1", "name": "Red pleated skirt", "category": "skirt", "gender": "female",
     "price": "39.90", "currency": "EUR", "stock": "4", "image": "skirt.jpg"},
    {"sku": "U-TEE-1", "name": "Blue tee", "category": "t-shirt", "gender": "unisex",
     "price": "15", "currency": "EUR", "stock": "0", "image": "tee.png"},
    {"sku": "M-JEANS-1", "name": "Slim jeans", "category": "jeans", "gender": "male",
     "price": "59.00", "currency": "EUR", "stock": "2", "image": "sub/jeans.jpg"},
]


def write_catalog(folder: Path, rows: list[dict], columns=COLUMNS) -> Path:
    path = folder / "catalog.csv"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def images(tmp_path) -> Path:
    folder = tmp_path / "images"
    (folder / "sub").mkdir(parents=True)
    Image.new("RGB", (40, 60), (190, 30, 40)).save(folder / "skirt.jpg")
    Image.new("RGB", (40, 60), (40, 60, 200)).save(folder / "tee.png")
    Image.new("RGB", (40, 60), (30, 40, 90)).save(folder / "sub" / "jeans.jpg")
    return folder


class FakeEmbedder:
    """A 3-d 'embedding': the image's mean colour, L2-normalised."""

    fingerprint = "fake-mean-colour"

    def __init__(self):
        self.calls = 0

    def embed(self, rgb):
        self.calls += 1
        v = rgb.reshape(-1, 3).mean(axis=0).astype(np.float32)
        return v / np.linalg.norm(v)


class MemoryInventory:
    def __init__(self):
        self.items = {}

    def put_items(self, items):
        for item in items:
            self.items[item.sku] = item


class MemoryImages:
    def __init__(self):
        self.objects = {}

    def put_bytes(self, key, data, content_type):
        self.objects[key] = (data, content_type)


def test_reads_a_valid_catalog(tmp_path, images):
    rows = read_catalog(write_catalog(tmp_path, GOOD), images)
    assert [r.sku for r in rows] == ["W-SKIRT-1", "U-TEE-1", "M-JEANS-1"]
    assert rows[0].price == Decimal("39.90") and rows[1].stock == 0


@pytest.mark.parametrize("change, message", [
    ({"category": "separates"}, "category"),
    ({"category": "hat"}, "category"),
    ({"gender": "kids"}, "gender"),
    ({"price": "-3"}, "price"),
    ({"price": "ten"}, "price"),
    ({"stock": "-1"}, "stock"),
    ({"stock": "2.5"}, "stock"),
    ({"sku": "has space"}, "sku"),
    ({"currency": "euro"}, "currency"),
    ({"image": "../outside.jpg"}, "image"),
    ({"image": "missing.jpg"}, "not found"),
])
def test_a_bad_row_is_named_by_its_line(tmp_path, images, change, message):
    rows = [GOOD[0], {**GOOD[1], **change}, GOOD[2]]
    with pytest.raises(CatalogError) as err:
        read_catalog(write_catalog(tmp_path, rows), images)
    assert "line 3:" in str(err.value) and message in str(err.value)
    assert "line 2:" not in str(err.value) and "line 4:" not in str(err.value)


def test_every_bad_line_is_reported_at_once(tmp_path, images):
    rows = [{**GOOD[0], "gender": "x"}, GOOD[1], {**GOOD[2], "sku": GOOD[1]["sku"]}]
    with pytest.raises(CatalogError) as err:
        read_catalog(write_catalog(tmp_path, rows), images)
    text = str(err.value)
    assert text.startswith("2 bad line(s)") and "line 2:" in text and "line 4: sku U-TEE-1 already on line 3" in text


def test_missing_column_and_empty_catalog(tmp_path, images):
    with pytest.raises(CatalogError, match="line 1: missing column.*stock"):
        read_catalog(write_catalog(tmp_path, GOOD, [c for c in COLUMNS if c != "stock"]), images)
    with pytest.raises(CatalogError, match="no items"):
        read_catalog(write_catalog(tmp_path, []), images)


def test_import_embeds_stores_and_is_idempotent(tmp_path, images):
    inventory, store, embedder = MemoryInventory(), MemoryImages(), FakeEmbedder()
    catalog = write_catalog(tmp_path, GOOD)
    items = import_catalog(catalog, images, embedder, inventory, store, progress=False)
    assert len(items) == 3 and embedder.calls == 3
    skirt = inventory.items["W-SKIRT-1"]
    assert skirt.image_key == "inventory/W-SKIRT-1.jpg" and skirt.gender_category == "female#skirt"
    assert np.linalg.norm(skirt.embedding) == pytest.approx(1.0, abs=1e-5)
    assert skirt.colour.name == "red"
    assert skirt.embedding_model == "fake-mean-colour"  # which model embedded it
    # Photos are stored as JPEG under inventory/{sku}.jpg, the PNG re-encoded.
    assert set(store.objects) == {f"inventory/{sku}.jpg" for sku in ("W-SKIRT-1", "U-TEE-1", "M-JEANS-1")}
    assert all(data[:3] == b"\xff\xd8\xff" and ct == "image/jpeg" for data, ct in store.objects.values())

    # Re-import with a changed stock and price updates in place, nothing duplicated.
    changed = [GOOD[0], {**GOOD[1], "stock": "7", "price": "12.50"}, GOOD[2]]
    import_catalog(write_catalog(tmp_path, changed), images, embedder, inventory, store, progress=False)
    assert len(inventory.items) == 3 and len(store.objects) == 3
    assert (inventory.items["U-TEE-1"].stock, inventory.items["U-TEE-1"].price) == (7, Decimal("12.50"))


def test_nothing_is_written_when_a_line_is_bad(tmp_path, images):
    inventory, store = MemoryInventory(), MemoryImages()
    with pytest.raises(CatalogError):
        import_catalog(write_catalog(tmp_path, [GOOD[0], {**GOOD[1], "stock": "many"}]), images,
                       FakeEmbedder(), inventory, store, progress=False)
    assert inventory.items == {} and store.objects == {}


def test_an_unreadable_photo_names_its_sku(tmp_path, images):
    (images / "skirt.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(CatalogError, match="W-SKIRT-1"):
        import_catalog(write_catalog(tmp_path, GOOD), images, FakeEmbedder(), MemoryInventory(),
                       MemoryImages(), progress=False)


def test_import_through_the_aws_adapters(tmp_path, images, monkeypatch, create_table_from_template):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        from lookmatch.aws import InventoryTable, S3Store

        boto3.client("s3").create_bucket(Bucket="uploads",
                                         CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        create_table_from_template("InventoryTable", "inventory")
        table, store = InventoryTable("inventory"), S3Store("uploads")
        rows = GOOD + [{**GOOD[1], "sku": "U-TEE-2", "stock": "3"}]
        import_catalog(write_catalog(tmp_path, rows), images, FakeEmbedder(), table, store, progress=False)
        import_catalog(write_catalog(tmp_path, rows), images, FakeEmbedder(), table, store, progress=False)

        assert boto3.client("dynamodb").describe_table(TableName="inventory")["Table"]["ItemCount"] == 4
        assert [i.sku for i in table.in_stock("female", "skirt")] == ["W-SKIRT-1"]
        # The out-of-stock unisex tee is filtered out by the query itself.
        assert [i.sku for i in table.in_stock("male", "t-shirt")] == ["U-TEE-2"]
        assert table.in_stock("female", "jeans") == []
        skirt = table.in_stock("female", "skirt")[0]
        assert skirt.colour.name == "red" and len(skirt.embedding) == 3
        photo = store.get_bytes("inventory/W-SKIRT-1.jpg")
        assert photo == (images / "skirt.jpg").read_bytes()


def test_the_demo_catalog_is_valid_and_covers_every_category():
    from lookmatch.inventory import ITEM_CATEGORIES

    rows = read_catalog(ROOT / "samples" / "catalog" / "catalog.csv", ROOT / "samples" / "catalog" / "images")
    assert 200 <= len(rows) <= 400
    for category in ITEM_CATEGORIES:
        genders = {r.gender for r in rows if r.category == category and r.stock > 0}
        assert genders, f"no {category} in stock"
        if category not in ("dress", "skirt", "jumpsuit"):
            assert "unisex" in genders or {"female", "male"} <= genders, category
    assert any(r.stock == 0 for r in rows)
    total = sum((ROOT / "samples" / "catalog" / "images" / r.image).stat().st_size for r in rows)
    assert total < 5_000_000


def test_command_refuses_a_bad_catalog_with_its_line(tmp_path, images, capsys):
    from lookmatch.cli import main

    catalog = write_catalog(tmp_path, [GOOD[0], {**GOOD[1], "gender": "kids"}])
    assert main(["inventory", "import", str(catalog), "--images", str(images),
                 "--table", "t", "--bucket", "b"]) == 2
    assert "line 3: gender" in capsys.readouterr().err


def test_command_needs_a_table_and_a_bucket(tmp_path, images, capsys, monkeypatch):
    from lookmatch.cli import main

    monkeypatch.delenv("INVENTORY_TABLE", raising=False)
    assert main(["inventory", "import", str(write_catalog(tmp_path, GOOD)), "--images", str(images),
                 "--bucket", "b"]) == 2
    assert "--table" in capsys.readouterr().err


def test_command_imports_into_the_stack(tmp_path, images, capsys, monkeypatch, create_table_from_template):
    import lookmatch.garments
    from lookmatch.cli import main

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setattr(lookmatch.garments, "GarmentModel", FakeEmbedder)
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="uploads",
                                         CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        create_table_from_template("InventoryTable", "inventory")
        assert main(["inventory", "import", str(write_catalog(tmp_path, GOOD)), "--images", str(images),
                     "--table", "inventory", "--bucket", "uploads", "--no-progress"]) == 0
        assert boto3.client("dynamodb").scan(TableName="inventory")["Count"] == 3
    assert "imported 3 items (2 in stock)" in capsys.readouterr().err
