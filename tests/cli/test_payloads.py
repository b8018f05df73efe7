from __future__ import annotations

import gzip
from decimal import Decimal
from pathlib import Path

from accord.cli.payloads import iter_payloads


def test_files_folders_arrays_ndjson_and_gzip_in_a_stable_order(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a.json").write_text('{"id": 1, "price": 19.99}')
    (tmp_path / "b" / "export.json").write_text('[{"id": 2}, {"id": 3}]')
    with gzip.open(tmp_path / "b" / "more.ndjson.gz", "wt") as out:
        out.write('{"id": 4}\n\n{"id": 5}\n')
    (tmp_path / "notes.txt").write_text("not a payload")
    (tmp_path / ".hidden.json").write_text("{}")
    found = [(p.source.replace(str(tmp_path), "T"), p.data) for p in iter_payloads([tmp_path])]
    assert found == [
        ("T/a.json", {"id": 1, "price": Decimal("19.99")}),
        ("T/b/export.json[0]", {"id": 2}),
        ("T/b/export.json[1]", {"id": 3}),
        ("T/b/more.ndjson.gz:1", {"id": 4}),
        ("T/b/more.ndjson.gz:3", {"id": 5}),
    ]


def test_broken_inputs_become_cli010_diagnostics(tmp_path: Path) -> None:
    pretty = tmp_path / "pretty.json"
    pretty.write_text('{\n  "id": 1,\n  "total": \n}\n')
    lines = tmp_path / "lines.ndjson"
    lines.write_text('{"id": 1}\n{oops\n')
    gz = tmp_path / "bad.json.gz"
    gz.write_bytes(b"not gzip at all")
    items = list(iter_payloads([pretty, lines, gz, tmp_path / "missing.json"]))
    errors = [
        (i.source.replace(str(tmp_path), "T"), i.error.code, i.error.line) for i in items if i.error
    ]
    assert errors == [
        ("T/pretty.json", "CLI010", None),  # one diagnostic for the file, not one a line
        ("T/lines.ndjson:2", "CLI010", 2),
        ("T/bad.json.gz", "CLI010", None),
        ("T/missing.json", "CLI010", None),
    ]
    assert [i.data for i in items if not i.error] == [{"id": 1}]
