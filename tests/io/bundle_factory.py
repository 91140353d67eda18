"""Build small trial bundles in a temporary folder for the io tests."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

MANIFEST = """\
[trial]
id = "EFF-T-001"
title = "Test trial"
design = "parallel"
baseline_visit = "W0"

[[arms]]
id = "ACTIVE"
label = "Serum"
control = false

[[arms]]
id = "VEHICLE"
label = "Vehicle"
control = true

[[visits]]
id = "W0"
week = 0
day = 0
window_days = 0

[[visits]]
id = "W12"
week = 12
day = 84
window_days = 7

[tables]
{tables}

[consort]
registration_id = "NCT01234567"
"""

SUBJECTS_CSV = """\
subject_id,arm,randomized,itt,per_protocol,safety,disposition,discontinuation_reason,age,sex,fitzpatrick,randomization_date,site_id
S001,ACTIVE,true,true,true,true,completed,,34,F,II,2025-01-15,01
S002,VEHICLE,Y,Y,N,Y,discontinued,moved away,41.5,F,4,2025-01-16,01
S003,,no,0,0,0,screen_failure,inclusion criteria not met,29,M,VI,,02
"""

MEASUREMENTS_CSV = """\
subject_id,visit,day,endpoint,value,unit,body_site,device,device_settings,temperature_c,humidity_pct
S001,W0,0,cutometer_r2,0.61,ratio,left_cheek,Cutometer MPA 580,probe=2mm;suction=450mbar,21.0,48
S001,W12,85,cutometer_r2,0.68,ratio,left_cheek,Cutometer MPA 580,probe=2mm;suction=450mbar,21.5,50
S002,W0,0,corneometer,45.25,a.u.,left_cheek,Corneometer CM 825,,,
S002,W12,83,corneometer,,a.u.,left_cheek,Corneometer CM 825,,22,55.5
"""

PRO_CSV = """\
subject_id,visit,day,instrument,scale,item,response
S001,W0,0,skindex16,symptoms,1,3
S001,W0,0,skindex16,symptoms,2,
"""

AE_CSV = """\
subject_id,term,severity,serious,related,onset_day,body_site
S002,Erythema,mild,false,true,12,left_cheek
"""

TABLE_TEXTS = {
    "subjects": SUBJECTS_CSV,
    "measurements": MEASUREMENTS_CSV,
    "pro_responses": PRO_CSV,
    "adverse_events": AE_CSV,
}


def tables_block(files: dict[str, str]) -> str:
    return "\n".join(f'{k} = "{v}"' for k, v in files.items())


def write_manifest(folder: Path, files: dict[str, str], text: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "trial.toml"
    path.write_text(text if text is not None else MANIFEST.format(tables=tables_block(files)))
    return path


def text_frame(csv_text: str) -> pd.DataFrame:
    """The CSV as an all-text frame (empty cells as None), for writing other formats."""
    from io import StringIO

    frame = pd.read_csv(StringIO(csv_text), dtype=str, keep_default_na=False)
    return frame.astype(object).where(frame != "", None)


def write_bundle(folder: Path, fmt: str = "csv", texts: dict[str, str] | None = None) -> Path:
    """Write the standard bundle with every table in `fmt` (csv | parquet | xlsx)."""
    texts = TABLE_TEXTS if texts is None else texts
    files = {}
    for table, text in texts.items():
        name = f"{table}.{fmt}"
        files[table] = name
        if fmt == "csv":
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
        elif fmt == "parquet":
            folder.mkdir(parents=True, exist_ok=True)
            text_frame(text).to_parquet(folder / name, index=False)
        else:
            folder.mkdir(parents=True, exist_ok=True)
            text_frame(text).to_excel(folder / name, index=False)
    write_manifest(folder, files)
    return folder


def tree_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under `folder` (to prove inputs are unchanged)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
